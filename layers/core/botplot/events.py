"""Domain events, written to the outbox in the same DynamoDB transaction as the records they describe.

A write that is an event adds its outbox item to its own transaction (``events.save(tx, event)``),
so the event exists exactly when the record does: a function that crashes or times out right
after the commit loses nothing, and a transaction that fails announces nothing. The outbox table's
stream hands each new item to the webhook worker, which fans it out to the project's subscribed
webhooks (see :mod:`botplot.webhooks.delivery`).

The envelope is serialised once, here, in the exact form the webhook worker signs and sends
(``{"event", "project_id", "timestamp", "data"}``; see :mod:`botplot.jsonenc`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.transactions import TransactWrite

from botplot import clock, ids, jsonenc
from botplot.db.outbox import RETENTION, OutboxEvent

#: the reference's six, then BotPlot's own (usage thresholds, crawl outcomes): all subscribable alike
EVENT_TYPES = (
    "conversation.started",
    "conversation.ended",
    "message.created",
    "lead.captured",
    "handoff.requested",
    "rating.received",
    "usage.warning",
    "usage.exhausted",
    "source.synced",
    "source.failed",
)


@dataclass(frozen=True)
class Event:
    project_id: str
    event: str
    data: dict
    at: datetime | None = None

    def payload(self) -> str:
        return jsonenc.dumps(
            {
                "event": self.event,
                "project_id": self.project_id,
                "timestamp": clock.iso_ms(self.at or clock.now()),
                "data": self.data,
            }
        )


def outbox_item(event: Event) -> OutboxEvent:
    """The event's outbox item, with a new event id and its payload serialised as it will be sent.

    For a pynamodb ``TransactWrite``: ``tx.save(outbox_item(event))`` (or :func:`save`). For a
    boto3 ``transact_write_items``: ``{"Put": {"TableName": OutboxEvent.Meta.table_name,
    "Item": outbox_item(event).serialize()}}``.
    """
    return OutboxEvent(ids.uuid7(), project_id=event.project_id, event=event.event, payload=event.payload(),
                       expires_at=RETENTION)


def save(tx: TransactWrite, *events: Event) -> None:
    """Put the events in the outbox as part of ``tx``: they are announced if, and only if, it commits."""
    for event in events:
        tx.save(outbox_item(event))
