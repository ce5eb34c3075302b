"""The one publisher of domain events: every source sends its event here, onto the webhook queue.

The envelope is serialised once, here, in the exact form the webhook worker signs and sends
(``{"event", "project_id", "timestamp", "data"}``; see :mod:`botplot.jsonenc`). The worker fans
each event out to the project's subscribed webhooks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from botplot import clock, ids, jsonenc
from botplot.aws import client
from botplot.config import settings
from botplot.observability import logger

EVENT_TYPES = (
    "conversation.started",
    "conversation.ended",
    "message.created",
    "lead.captured",
    "handoff.requested",
    "rating.received",
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


def queue_message(event: Event) -> str:
    """The webhook queue's message for one event (the worker's fan-out input)."""
    return json.dumps(
        {"kind": "event", "eventId": ids.uuid7(), "projectId": event.project_id, "event": event.event,
         "payload": event.payload()}
    )


def publish(*events: Event) -> None:
    """Queue events for delivery. Sent after the records they describe are written."""
    queue_url = settings().webhook_queue_url
    if not events or not queue_url:
        return
    sqs = client("sqs")
    for start in range(0, len(events), 10):
        batch = events[start : start + 10]
        entries = [{"Id": str(i), "MessageBody": queue_message(e)} for i, e in enumerate(batch)]
        result = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        for failed in result.get("Failed", []):
            # Retry the failed entries once, one by one; log what still fails (never the content).
            event = batch[int(failed["Id"])]
            try:
                sqs.send_message(QueueUrl=queue_url, MessageBody=queue_message(event))
            except Exception:
                logger.exception("event not queued", extra={"event": event.event})
