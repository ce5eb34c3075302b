"""The outbox: one item per domain event, written in the same transaction as the records it describes.

The table's stream (``NEW_IMAGE``) feeds the webhook worker, which fans each new item out to the
project's webhooks (see :mod:`botplot.events`). Items are never read by the API; they expire after
``RETENTION``, long after the stream (24 hours) has handed them on, and stay meanwhile for an
operator to replay what the stream's dead-letter queue reports.
"""

from __future__ import annotations

from datetime import timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from botplot.db.base import table_meta

RETENTION = timedelta(days=3)


class OutboxEvent(Model):
    Meta = table_meta("OUTBOX")

    event_id = UnicodeAttribute(hash_key=True, attr_name="eventId")  # UUIDv7: the delivery ids derive from it
    project_id = UnicodeAttribute(attr_name="projectId")
    event = UnicodeAttribute()
    payload = UnicodeAttribute()  # the exact bytes every webhook is sent (UTF-8 text)
    expires_at = TTLAttribute(attr_name="expiresAt")
