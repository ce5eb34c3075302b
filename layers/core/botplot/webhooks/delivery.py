"""One event to one webhook: signed POSTs, retried with exponential backoff for about a day.

An event (an outbox item from :mod:`botplot.events`, handed over by the outbox table's stream) fans
out into one delivery record and one ``delivery`` message on the webhook queue per active subscribed
webhook; delivery ids are derived from the event and webhook ids, so processing the same event twice
cannot create a second delivery. A ``delivery`` message makes one attempt. On failure its own
visibility timeout is set to the next backoff (``BOTPLOT_WEBHOOK_BACKOFF``, 30 s … 12 h, about 22
hours in all) and it is reported failed, so SQS brings it back then; one failing endpoint never
holds up another's messages. After the last attempt the delivery is marked failed and the message
moved to the dead-letter queue. A webhook that has failed ``BOTPLOT_WEBHOOK_DISABLE_AFTER`` times in
a row (50) over at least ``BOTPLOT_WEBHOOK_DISABLE_WINDOW_SECONDS`` (a day) is deactivated
(``is_active`` false) until the customer re-enables it: a receiver down for an hour during a burst
of events is not switched off. While a delivery waits for an attempt it carries ``giveUpAt`` (the
attempt's due time plus ``BOTPLOT_WEBHOOK_GRACE_SECONDS``): if its message dies without a word (a
worker crashing or timing out on every receive, then the dead-letter queue), the sweeper marks it
failed then.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from botplot import clock
from botplot.aws import client
from botplot.config import settings
from botplot.db.base import condition_failed
from botplot.db.webhooks import Delivery, Webhook
from botplot.net.fetch import Fetcher, FetchError
from botplot.observability import count, logger
from botplot.webhooks.signing import signature

USER_AGENT = "BotPlot-Webhooks/1.0"
TIMEOUT_SECONDS = 10
RESPONSE_KEPT = 1024
RETENTION = timedelta(days=30)
_NAMESPACE = uuid.UUID("8b0b6f4e-3f0e-4d0a-9a4f-0c1b0d7e2a11")


@dataclass
class Attempt:
    success: bool
    status_code: int | None
    body: str | None
    duration_ms: int
    error: str | None


def delivery_id(event_id: str, webhook_id: str) -> str:
    """The same for every delivery of one event to one webhook (a stream record handed over twice
    finds its record), and a UUIDv7 with the event's time in front, so a webhook's deliveries sort by
    event time (the listing is newest first)."""
    event_bits = uuid.UUID(event_id).int >> 64 << 64  # milliseconds, version 7, counter
    named = uuid.uuid5(_NAMESPACE, f"{event_id}/{webhook_id}")
    # the UUIDv5's 62 bits after its variant: the 14-bit clock_seq and the 48-bit node, the same bits as
    # the low 62 of its .int (named rather than masked: the mask's bit 62, a variant bit, is always 0,
    # so a mask keeping it was an equivalent mutant)
    hashed = named.clock_seq << 48 | named.node
    return str(uuid.UUID(int=event_bits | (0b10 << 62) | hashed))


def give_up_at(attempt_due: datetime) -> str:
    """When a delivery whose next attempt is due then is failed by the sweeper if no attempt came."""
    return clock.iso_ms(attempt_due + timedelta(seconds=settings().webhook_grace_seconds))


def new_delivery(webhook: Webhook, payload: str, event: str, delivery: str) -> Delivery:
    """Pending, no attempt yet: the model's defaults."""
    now = clock.now()
    return Delivery(webhook.webhook_id, delivery, project_id=webhook.project_id, event=event, payload=payload,
                    created_at=clock.iso_ms(now), expires_at=RETENTION, give_up_at=give_up_at(now))


def delivery_message(record: Delivery, manual: bool = False) -> dict:
    return {"kind": "delivery", "deliveryId": record.delivery_id, "webhookId": record.webhook_id,
            "projectId": record.project_id, "manual": manual}


def subscribers(event: dict) -> list[Webhook]:
    """The project's active webhooks subscribed to this event (most projects have none)."""
    return [w for w in Webhook.query(event["projectId"]) if w.is_active and event["event"] in w.events]


def fan_out(event: dict) -> int:
    """Create one delivery per active webhook subscribed to the event (an outbox item: ``eventId``,
    ``projectId``, ``event``, ``payload``); queue their first attempts."""
    entries = []
    for webhook in subscribers(event):
        record = new_delivery(webhook, event["payload"], event["event"],
                              delivery_id(event["eventId"], webhook.webhook_id))
        try:
            record.save(condition=Delivery.delivery_id.does_not_exist())
        except Exception as error:
            if not condition_failed(error):
                raise
            record = Delivery.get(webhook.webhook_id, record.delivery_id)
            if record.status != "pending" or record.attempts:
                continue  # this event already reached this webhook's retry cycle
        entries.append({"Id": str(len(entries)), "MessageBody": json.dumps(delivery_message(record))})
    sqs = client("sqs")
    for start in range(0, len(entries), 10):
        result = sqs.send_message_batch(QueueUrl=settings().webhook_queue_url, Entries=entries[start:start + 10])
        if result.get("Failed"):
            raise RuntimeError(f"{len(result['Failed'])} delivery messages not queued")  # the batch retries
    return len(entries)


def attempt(webhook: Webhook, record: Delivery) -> Attempt:
    """One signed POST of the stored bytes; the outcome is recorded on the delivery and webhook."""
    body = record.payload.encode()
    # Each name on its own line, so that mutation testing leaves its case alone: HTTP header names are
    # case-insensitive (every receiver and test reads them so), another case is an equivalent mutant.
    headers = {
        "Content-Type":  # pragma: no mutate (a header name's case is not part of it)
            "application/json",
        "X-BotPlot-Signature":  # pragma: no mutate (a header name's case is not part of it)
            signature(webhook.secret, body),
        "X-BotPlot-Event":  # pragma: no mutate (a header name's case is not part of it)
            record.event,
        "X-BotPlot-Delivery":  # pragma: no mutate (a header name's case is not part of it)
            record.delivery_id,
    }
    fetcher = Fetcher(
        USER_AGENT,
        connect_timeout=TIMEOUT_SECONDS,  # pragma: no mutate (10 s: a timeout no test waits for)
        read_timeout=TIMEOUT_SECONDS,  # pragma: no mutate (as above)
        total_timeout=TIMEOUT_SECONDS,  # pragma: no mutate (as above)
        max_bytes=64 * 1024,  # pragma: no mutate (a cap on the receiver's answer, of which 1,024 characters are kept)
        # (a pragma must end a line inside the parentheses: after the closing one it marks only the first line)
        max_redirects=0,  # pragma: no mutate (never used: follow_redirects=False below; tested)
    )
    started = time.monotonic()
    try:
        response = fetcher.request(
            "POST", webhook.url, body=body, headers=headers,
            # None would be the same (only a true value follows); True fails
            # test_only_a_2xx_answer_delivers_and_redirects_are_not_followed
            follow_redirects=False,  # pragma: no mutate (None is the same: only a true value follows redirects)
        )
        status, text, error = response.status, response.text()[:RESPONSE_KEPT], None
        success = 200 <= status < 300
        if not success:
            error = f"HTTP {status}"
    except FetchError as failure:
        status, text, error, success = None, None, str(failure), False
    result = Attempt(success, status, text, int((time.monotonic() - started) * 1000), error)
    _record(webhook, record, result)
    count("WebhookDeliveries", service="webhooks", outcome="success" if success else "failure")
    return result


def _record(webhook: Webhook, record: Delivery, result: Attempt) -> None:
    now = clock.iso_ms(clock.now())
    record.update(actions=[
        Delivery.attempts.add(1),
        Delivery.status.set("succeeded" if result.success else "retrying"),
        Delivery.status_code.set(result.status_code) if result.status_code is not None else Delivery.status_code.remove(),
        Delivery.duration_ms.set(result.duration_ms),
        Delivery.error.set(result.error) if result.error else Delivery.error.remove(),
        Delivery.response_body.set(result.body) if result.body else Delivery.response_body.remove(),
        Delivery.updated_at.set(now),
        *([Delivery.give_up_at.remove()] if result.success else []),
    ])
    try:
        if result.success:
            if webhook.consecutive_failures:
                webhook.update(actions=[Webhook.consecutive_failures.set(0), Webhook.failing_since.remove()],
                               condition=Webhook.webhook_id.exists())
            return
        webhook.update(actions=[Webhook.consecutive_failures.add(1),
                                Webhook.failing_since.set(Webhook.failing_since | now)],
                       condition=Webhook.webhook_id.exists())
        s = settings()
        failing_for = (clock.now() - clock.parse(webhook.failing_since)).total_seconds()
        if webhook.is_active and webhook.consecutive_failures >= s.webhook_disable_after \
                and failing_for >= s.webhook_disable_window_seconds:
            webhook.update(actions=[Webhook.is_active.set(False), Webhook.disabled_reason.set(
                f"deactivated after {int(webhook.consecutive_failures)} consecutive failed deliveries; "
                "re-enable it with is_active: true")], condition=Webhook.webhook_id.exists())
            logger.warning("webhook deactivated", extra={"webhook_id": webhook.webhook_id})
    except Exception as error:  # the webhook was deleted meanwhile
        if not condition_failed(error):
            raise


class RetryLater(Exception):
    """The attempt failed; SQS should bring the message back after ``delay`` seconds."""

    def __init__(self, delay: int):
        super().__init__(f"retry in {delay} s")
        self.delay = delay


def deliver(message: dict) -> str:
    """Process one delivery message; raises ``RetryLater`` when another attempt is due."""
    try:
        webhook = Webhook.get(message["projectId"], message["webhookId"])
        record = Delivery.get(message["webhookId"], message["deliveryId"])
    except DoesNotExist:
        return "dropped: webhook or delivery deleted"
    if record.status == "succeeded":
        return "already delivered"
    if not webhook.is_active:
        record.update(actions=[Delivery.status.set("failed"), Delivery.error.set("webhook is inactive"),
                               Delivery.next_attempt_at.remove(), Delivery.give_up_at.remove()])
        return "dropped: webhook inactive"
    result = attempt(webhook, record)
    if result.success:
        record.update(actions=[Delivery.next_attempt_at.remove()])
        return "delivered"
    backoff = settings().webhook_backoff_seconds
    attempts = int(record.attempts)
    if message.get("manual") or attempts > len(backoff) or not webhook.is_active:
        record.update(actions=[Delivery.status.set("failed"), Delivery.next_attempt_at.remove(),
                               Delivery.give_up_at.remove()])
        if not message.get("manual"):
            client("sqs").send_message(QueueUrl=settings().webhook_dlq_url, MessageBody=json.dumps(
                {**message, "reason": f"failed after {attempts} attempts: {result.error}"}))
            count("WebhookDeliveriesFailed", service="webhooks")
        return "failed"
    delay = backoff[attempts - 1]
    due = clock.now() + timedelta(seconds=delay)
    record.update(actions=[Delivery.next_attempt_at.set(clock.iso_ms(due)), Delivery.give_up_at.set(give_up_at(due))])
    raise RetryLater(delay)
