"""Webhook subscriptions and their delivery records."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from botplot.db.base import table_meta


class Webhook(Model):
    Meta = table_meta("WEBHOOKS")

    project_id = UnicodeAttribute(hash_key=True, attr_name="projectId")
    webhook_id = UnicodeAttribute(range_key=True, attr_name="webhookId")
    url = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    events = ListAttribute(of=UnicodeAttribute)
    secret = UnicodeAttribute()  # needed to sign; never returned after creation, never logged
    is_active = BooleanAttribute(attr_name="isActive", default=True)
    consecutive_failures = NumberAttribute(attr_name="consecutiveFailures", default=0)
    failing_since = UnicodeAttribute(attr_name="failingSince", null=True)
    disabled_reason = UnicodeAttribute(attr_name="disabledReason", null=True)
    created_at = UnicodeAttribute(attr_name="createdAt")


class ByGiveUpAt(GlobalSecondaryIndex):
    """Sparse: only deliveries still to be attempted carry ``giveUpAt`` (the sweeper's worklist)."""

    class Meta:
        index_name = "byGiveUpAt"
        projection = KeysOnlyProjection()

    status = UnicodeAttribute(hash_key=True)
    give_up_at = UnicodeAttribute(range_key=True, attr_name="giveUpAt")


class Delivery(Model):
    """One event sent to one webhook; its id stays the same across every retry."""

    Meta = table_meta("DELIVERIES")

    webhook_id = UnicodeAttribute(hash_key=True, attr_name="webhookId")
    delivery_id = UnicodeAttribute(range_key=True, attr_name="deliveryId")
    project_id = UnicodeAttribute(attr_name="projectId")
    event = UnicodeAttribute()
    payload = UnicodeAttribute()  # the exact bytes signed and sent (UTF-8 text)
    status = UnicodeAttribute(default="pending")  # pending | retrying | succeeded | failed
    attempts = NumberAttribute(default=0)
    status_code = NumberAttribute(attr_name="statusCode", null=True)
    duration_ms = NumberAttribute(attr_name="durationMs", null=True)
    error = UnicodeAttribute(null=True)
    response_body = UnicodeAttribute(attr_name="responseBody", null=True)
    created_at = UnicodeAttribute(attr_name="createdAt")
    updated_at = UnicodeAttribute(attr_name="updatedAt", null=True)
    next_attempt_at = UnicodeAttribute(attr_name="nextAttemptAt", null=True)
    expires_at = TTLAttribute(attr_name="expiresAt", null=True)
    #: while pending or retrying: when an attempt must have happened, or its message was lost
    give_up_at = UnicodeAttribute(attr_name="giveUpAt", null=True)
    by_give_up_at = ByGiveUpAt()
