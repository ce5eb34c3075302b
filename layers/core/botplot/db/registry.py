"""Which model holds which table of ``template.yaml`` (by logical id).

The local stack creates every ``AWS::DynamoDB::Table`` of the template under the name the models
use; ``tests/unit/test_template_tables.py`` fails when a model and its table disagree.
"""

from __future__ import annotations

from botplot.db.conversations import Conversation, Message
from botplot.db.idempotency import IdempotencyRecord
from botplot.db.knowledge import Page, Source
from botplot.db.leads import Lead
from botplot.db.outbox import OutboxEvent
from botplot.db.projects import ApiKey, IdentitySecret, Project, Subdomain
from botplot.db.stats import DailyStats, QuestionStat, Visitor
from botplot.db.usage import Usage
from botplot.db.webhooks import Delivery, Webhook

MODELS_BY_LOGICAL_ID = {
    "ProjectsTable": Project,
    "ApiKeysTable": ApiKey,
    "SubdomainsTable": Subdomain,
    "IdentitySecretsTable": IdentitySecret,
    "UsageTable": Usage,
    "ConversationsTable": Conversation,
    "MessagesTable": Message,
    "DailyStatsTable": DailyStats,
    "QuestionStatsTable": QuestionStat,
    "VisitorsTable": Visitor,
    "LeadsTable": Lead,
    "SourcesTable": Source,
    "PagesTable": Page,
    "WebhooksTable": Webhook,
    "DeliveriesTable": Delivery,
    "OutboxTable": OutboxEvent,
    "ApiIdempotencyTable": IdempotencyRecord,
}


def env_suffix(logical_id: str) -> str:
    """``DailyStatsTable`` → ``DAILY_STATS`` (the ``BOTPLOT_TABLE_*`` variable's suffix)."""
    name = logical_id.removesuffix("Table")
    out = "".join("_" + c if c.isupper() and i else c for i, c in enumerate(name))
    return out.upper()
