"""Monthly API-call counters, one item per project and calendar month (UTC)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from botplot.db.base import table_meta


class Usage(Model):
    Meta = table_meta("USAGE")

    project_id = UnicodeAttribute(hash_key=True, attr_name="projectId")
    month = UnicodeAttribute(range_key=True)
    calls = NumberAttribute(default=0)
    #: when ``usage.warning`` / ``usage.exhausted`` was announced this month (set once, conditionally)
    warning_sent_at = UnicodeAttribute(attr_name="warningSentAt", null=True)
    exhausted_sent_at = UnicodeAttribute(attr_name="exhaustedSentAt", null=True)
    expires_at = TTLAttribute(attr_name="expiresAt", null=True)
