"""One event to one webhook (README "Webhooks"), in-process on moto against a receiver on 127.0.0.1:
the delivery record, the signed POST of the stored bytes, what each outcome records, the backoff
schedule, the last attempt, manual redeliveries, and when a failing webhook is switched off."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from tests.support.receivers import PythonReceiver
from tests.support.workers import receive_all

BACKOFF = (30, 60, 120)
GRACE = 3600


@pytest.fixture
def webhooks_env(moto_endpoint, monkeypatch):
    monkeypatch.setenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", "1")  # the receiver is on 127.0.0.1
    monkeypatch.setenv("BOTPLOT_WEBHOOK_BACKOFF", ",".join(map(str, BACKOFF)))
    monkeypatch.setenv("BOTPLOT_WEBHOOK_GRACE_SECONDS", str(GRACE))
    monkeypatch.setenv("BOTPLOT_WEBHOOK_DISABLE_AFTER", "3")
    monkeypatch.setenv("BOTPLOT_WEBHOOK_DISABLE_WINDOW_SECONDS", "600")
    from botplot.config import reload_settings

    reload_settings()
    receiver = PythonReceiver().start()
    yield receiver
    receiver.stop()
    monkeypatch.undo()
    reload_settings()


def _hook(receiver: PythonReceiver, events=("lead.captured",)):
    from botplot.services import projects, webhooks

    project, _ = projects.create_project("delivery", "enterprise")
    hook = webhooks.create(project.project_id, receiver.url, list(events), None)
    receiver.secret = hook.secret
    return hook


def _event(project_id: str, name: str = "lead.captured") -> dict:
    from botplot import ids

    event_id = ids.uuid7()
    payload = json.dumps({"id": event_id, "event": name, "data": {"email": "ann@example.com", "note": "é ✓"}},
                         ensure_ascii=False)
    return {"eventId": event_id, "projectId": project_id, "event": name, "payload": payload}


def _queued(webhook_id: str) -> list[dict]:
    messages = receive_all(os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"], wait=0)
    return [m for m in map(lambda m: json.loads(m["Body"]), messages) if m.get("webhookId") == webhook_id]


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _record(hook, delivery_id):
    from botplot.db.webhooks import Delivery

    return Delivery.get(hook.webhook_id, delivery_id, consistent_read=True)


def _webhook(hook):
    from botplot.db.webhooks import Webhook

    return Webhook.get(hook.project_id, hook.webhook_id, consistent_read=True)


def test_an_event_becomes_one_signed_post_of_its_stored_bytes(webhooks_env):
    from botplot.webhooks import delivery

    receiver = webhooks_env
    hook = _hook(receiver)
    _queued(hook.webhook_id)
    event = _event(hook.project_id)
    before = datetime.now(timezone.utc)
    assert delivery.fan_out(event) == 1
    (message,) = _queued(hook.webhook_id)
    delivery_id = message["deliveryId"]
    assert message == {"kind": "delivery", "deliveryId": delivery_id, "webhookId": hook.webhook_id,
                       "projectId": hook.project_id, "manual": False}
    # one event to one webhook has one delivery id, a UUIDv7 carrying the event's time (newest first lists)
    assert uuid.UUID(delivery_id).version == 7 and uuid.UUID(delivery_id).variant == uuid.RFC_4122
    assert delivery_id[:18] == event["eventId"][:18] and delivery_id != event["eventId"]
    record = _record(hook, delivery_id)
    assert (record.status, record.attempts, record.event, record.payload) == ("pending", 0, "lead.captured",
                                                                               event["payload"])
    assert timedelta(seconds=GRACE - 5) < _at(record.give_up_at) - before < timedelta(seconds=GRACE + 60)
    assert record.project_id == hook.project_id and timedelta(0) <= _at(record.created_at) - before < timedelta(minutes=1)
    assert timedelta(days=30, minutes=-1) < record.expires_at - before < timedelta(days=30, minutes=1)  # kept 30 days
    # the same event handed over again finds its delivery, still waiting, and queues it again
    assert delivery.fan_out(event) == 1
    assert [m["deliveryId"] for m in _queued(hook.webhook_id)] == [delivery_id]
    # an event the webhook did not subscribe to goes nowhere
    assert delivery.fan_out(_event(hook.project_id, "handoff.requested")) == 0

    assert delivery.deliver(message) == "delivered"
    (request,) = receiver.received
    assert request["valid"] and request["body"] == event["payload"].encode()
    headers = request["headers"]
    assert (headers["content-type"], headers["x-botplot-event"], headers["x-botplot-delivery"],
            headers["user-agent"]) == ("application/json", "lead.captured", delivery_id, "BotPlot-Webhooks/1.0")
    record = _record(hook, delivery_id)
    assert (record.status, record.attempts, record.status_code, record.response_body, record.error) == (
        "succeeded", 1, 200, "OK", None)
    assert record.give_up_at is None and record.next_attempt_at is None and record.duration_ms >= 0
    assert record.updated_at is not None and "error" not in _raw(hook, delivery_id)
    # delivered is final: the message coming again (SQS is at least once) posts nothing
    assert delivery.deliver(message) == "already delivered"
    assert len(receiver.received) == 1
    # a fan-out after the delivery started queues nothing
    assert delivery.fan_out(event) == 0


def test_failed_attempts_follow_the_backoff_then_the_delivery_fails_to_the_dead_letter_queue(webhooks_env):
    from botplot.config import settings
    from botplot.webhooks import delivery

    receiver = webhooks_env
    receiver.statuses = [500] * 4
    hook = _hook(receiver)
    event = _event(hook.project_id)
    delivery.fan_out(event)
    (message,) = _queued(hook.webhook_id)
    receive_all(settings().webhook_dlq_url, wait=0)
    for attempt, delay in enumerate(BACKOFF, start=1):
        started = datetime.now(timezone.utc)
        with pytest.raises(delivery.RetryLater) as later:
            delivery.deliver(message)
        assert later.value.delay == delay and str(later.value) == f"retry in {delay} s"  # the worker's log line
        record = _record(hook, message["deliveryId"])
        assert (record.status, record.attempts, record.status_code, record.error, record.response_body) == (
            "retrying", attempt, 500, "HTTP 500", "Temporary failure")
        due = _at(record.next_attempt_at)
        assert timedelta(seconds=delay - 1) < due - started < timedelta(seconds=delay + 30)
        assert _at(record.give_up_at) - due == timedelta(seconds=GRACE)
    assert delivery.deliver(message) == "failed"
    record = _record(hook, message["deliveryId"])
    assert (record.status, record.attempts, record.next_attempt_at, record.give_up_at) == ("failed", 4, None, None)
    (dead,) = [json.loads(m["Body"]) for m in receive_all(settings().webhook_dlq_url, wait=0)]
    assert dead == {**message, "reason": "failed after 4 attempts: HTTP 500"}
    assert len(receiver.received) == 4


def test_an_unreachable_receiver_records_the_error_and_no_status(webhooks_env):
    from botplot.webhooks import delivery

    receiver = webhooks_env
    hook = _hook(receiver)
    receiver.stop()  # nothing listens on its port now
    delivery.fan_out(_event(hook.project_id))
    (message,) = _queued(hook.webhook_id)
    with pytest.raises(delivery.RetryLater):
        delivery.deliver(message)
    record = _record(hook, message["deliveryId"])
    assert (record.status, record.attempts, record.status_code, record.response_body) == ("retrying", 1, None, None)
    assert record.error == "connection failed (refused or unreachable)"
    # stored without them, not as nulls
    assert {"statusCode", "responseBody"}.isdisjoint(_raw(hook, message["deliveryId"]))


def _raw(hook, delivery_id) -> dict:
    import boto3

    return boto3.client("dynamodb").get_item(
        TableName=os.environ["BOTPLOT_TABLE_DELIVERIES"], ConsistentRead=True,
        Key={"webhookId": {"S": hook.webhook_id}, "deliveryId": {"S": delivery_id}})["Item"]


def test_only_a_2xx_answer_delivers_and_redirects_are_not_followed(webhooks_env):
    from botplot.webhooks import delivery

    receiver, elsewhere = webhooks_env, PythonReceiver().start()
    try:
        hook = _hook(receiver)
        receiver.statuses, receiver.location = [307, 300, 299], elsewhere.url
        delivery.fan_out(_event(hook.project_id))
        (message,) = _queued(hook.webhook_id)
        for status in (307, 300):
            with pytest.raises(delivery.RetryLater):
                delivery.deliver(message)
            record = _record(hook, message["deliveryId"])
            assert (record.status, record.status_code, record.error) == ("retrying", status, f"HTTP {status}")
        assert elsewhere.received == []  # a signed delivery never goes to another address
        assert delivery.deliver(message) == "delivered"
        record = _record(hook, message["deliveryId"])
        assert (record.status_code, record.next_attempt_at, record.give_up_at) == (299, None, None)
    finally:
        elsewhere.stop()


def test_a_manual_redelivery_is_one_attempt(webhooks_env):
    from botplot.config import settings
    from botplot.webhooks import delivery

    receiver = webhooks_env
    receiver.statuses = [503]
    hook = _hook(receiver)
    delivery.fan_out(_event(hook.project_id))
    (message,) = _queued(hook.webhook_id)
    receive_all(settings().webhook_dlq_url, wait=0)
    assert delivery.deliver({**message, "manual": True}) == "failed"  # no retry, no dead letter
    record = _record(hook, message["deliveryId"])
    assert (record.status, record.attempts, record.status_code) == ("failed", 1, 503)
    assert receive_all(settings().webhook_dlq_url, wait=0) == []


def test_a_webhook_failing_long_enough_is_switched_off_and_a_success_resets_the_count(webhooks_env, caplog):
    """Disabled after 3 failures in a row spanning 10 minutes (this test's settings): failures in a
    burst do not switch it off; a success in between starts the count again."""
    from botplot.webhooks import delivery

    receiver = webhooks_env
    hook = _hook(receiver)
    start = datetime.now(timezone.utc).replace(microsecond=0)

    def attempt_at(minutes: float, status: int):
        receiver.statuses = [status]
        delivery.fan_out(_event(hook.project_id))
        (message,) = _queued(hook.webhook_id)
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            try:
                return delivery.deliver(message), message
            except delivery.RetryLater:
                return "retry", message

    assert attempt_at(0, 500)[0] == "retry"
    assert attempt_at(1, 200)[0] == "delivered"
    webhook = _webhook(hook)
    assert (webhook.consecutive_failures, webhook.failing_since, webhook.is_active) == (0, None, True)
    for minutes in (2, 3, 4, 5):  # four failures in three minutes: a burst, not switched off
        assert attempt_at(minutes, 500)[0] == "retry"
    webhook = _webhook(hook)
    assert (webhook.consecutive_failures, webhook.is_active) == (4, True)
    assert _at(webhook.failing_since) == start + timedelta(minutes=2)
    caplog.clear()
    assert attempt_at(12, 500)[0] == "failed"  # 5 in a row over 10 minutes: switched off, the delivery fails
    assert [(r.levelname, r.getMessage(), r.webhook_id) for r in caplog.records if r.name == "botplot"
            and r.levelname != "INFO"] == [("WARNING", "webhook deactivated", hook.webhook_id)]
    webhook = _webhook(hook)
    assert webhook.is_active is False
    assert webhook.disabled_reason == ("deactivated after 5 consecutive failed deliveries; "
                                       "re-enable it with is_active: true")
    # a switched-off webhook gets no new deliveries, and a message already queued is dropped unsent
    sent = len(receiver.received)
    assert delivery.fan_out(_event(hook.project_id)) == 0
    from botplot.db.webhooks import Webhook

    _webhook(hook).update(actions=[Webhook.is_active.set(True)])
    event = _event(hook.project_id)
    delivery.fan_out(event)
    (message,) = _queued(hook.webhook_id)
    _webhook(hook).update(actions=[Webhook.is_active.set(False)])
    result = delivery.deliver(message)
    assert result == "dropped: webhook inactive" and len(receiver.received) == sent
    record = _record(hook, message["deliveryId"])
    assert (record.status, record.error, record.give_up_at, record.next_attempt_at) == (
        "failed", "webhook is inactive", None, None)
    # re-enabled, the webhook does not get that dropped delivery again from a replayed event
    _webhook(hook).update(actions=[Webhook.is_active.set(True)])
    assert delivery.fan_out(event) == 0 and _record(hook, message["deliveryId"]).status == "failed"


def test_a_deleted_webhooks_messages_are_dropped(webhooks_env):
    from botplot.services import webhooks
    from botplot.webhooks import delivery

    receiver = webhooks_env
    hook = _hook(receiver)
    delivery.fan_out(_event(hook.project_id))
    (message,) = _queued(hook.webhook_id)
    webhooks.delete(hook.project_id, hook.webhook_id)
    assert delivery.deliver(message) == "dropped: webhook or delivery deleted"
    assert receiver.received == []


def test_an_event_for_many_webhooks_is_queued_in_batches_of_ten_with_one_delivery_each(webhooks_env):
    """SQS takes at most ten messages per batch: a project over that (the limit of ten webhooks can be
    raised, and is enforced at creation only) still gets every delivery queued, each webhook its own
    delivery id, each id derived from the event and the webhook (UUIDv7 layout kept)."""
    from botplot import clock, ids
    from botplot.db.webhooks import Webhook
    from botplot.webhooks import delivery

    receiver = webhooks_env
    first = _hook(receiver)
    hooks = [first] + [Webhook(first.project_id, ids.uuid7(), url=receiver.url, events=["lead.captured"],
                               secret=first.secret, is_active=True, consecutive_failures=0,
                               created_at=clock.iso_ms(clock.now())) for _ in range(11)]
    for hook in hooks[1:]:
        hook.save()
    receive_all(os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"], wait=0)
    event = _event(first.project_id)
    assert delivery.fan_out(event) == 12
    queued = [json.loads(m["Body"]) for m in receive_all(os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"], wait=0)]
    assert sorted(m["webhookId"] for m in queued) == sorted(h.webhook_id for h in hooks)
    ids_sent = {m["webhookId"]: m["deliveryId"] for m in queued}
    assert len(set(ids_sent.values())) == 12
    for hook in hooks:
        sent = uuid.UUID(ids_sent[hook.webhook_id])
        assert (sent.version, sent.variant) == (7, uuid.RFC_4122) and str(sent)[:18] == event["eventId"][:18]
        assert str(sent) == delivery.delivery_id(event["eventId"], hook.webhook_id)  # the same every time
        assert _record(hook, str(sent)).status == "pending"
    # the event handed over again after the first webhook's delivery: the eleven others are queued again
    first_message = next(m for m in queued if m["webhookId"] == first.webhook_id)
    assert delivery.deliver(first_message) == "delivered"
    assert delivery.fan_out(event) == 11
    receive_all(os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"], wait=0)


def test_a_fan_out_sqs_did_not_fully_queue_fails_and_its_retry_queues_the_rest(webhooks_env):
    """SQS answers a batch with the entries it could not take: the fan-out raises (its stream batch is
    retried) and the retry queues the delivery still waiting."""
    from botplot.aws import client
    from botplot.webhooks import delivery

    receiver = webhooks_env
    hook = _hook(receiver)
    _queued(hook.webhook_id)
    event = _event(hook.project_id)

    def refuse_all(parsed, **_):
        parsed["Failed"] = [{"Id": entry["Id"], "SenderFault": False, "Code": "InternalError"}
                            for entry in parsed.pop("Successful", [])]

    sqs = client("sqs")
    sqs.meta.events.register("after-call.sqs.SendMessageBatch", refuse_all)
    try:
        with pytest.raises(RuntimeError, match="^1 delivery messages not queued$"):
            delivery.fan_out(event)
    finally:
        sqs.meta.events.unregister("after-call.sqs.SendMessageBatch", refuse_all)
    _queued(hook.webhook_id)  # what SQS did take despite its answer
    assert delivery.fan_out(event) == 1
    (message,) = _queued(hook.webhook_id)
    assert _record(hook, message["deliveryId"]).status == "pending"


def test_deliveries_are_counted_by_outcome_and_failed_ones_apart(webhooks_env, monkeypatch, capfd):
    """The WebhookDeliveries metric (dimension outcome: success or failure) and WebhookDeliveriesFailed
    (a delivery given up, to the dead-letter queue), which the dashboards and alarm read (EMF lines)."""
    from botplot.webhooks import delivery

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("BOTPLOT_WEBHOOK_BACKOFF", "30")
    from botplot.config import reload_settings

    reload_settings()
    receiver = webhooks_env
    hook = _hook(receiver)
    receiver.statuses = [500, 500]
    delivery.fan_out(_event(hook.project_id))
    (message,) = _queued(hook.webhook_id)
    capfd.readouterr()
    with pytest.raises(delivery.RetryLater):
        delivery.deliver(message)
    assert delivery.deliver(message) == "failed"
    delivery.fan_out(_event(hook.project_id))
    (message,) = _queued(hook.webhook_id)
    assert delivery.deliver(message) == "delivered"
    emitted = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    names = [(m["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], m.get("outcome"), m["service"])
             for m in emitted]
    assert names == [("WebhookDeliveries", "failure", "webhooks"), ("WebhookDeliveries", "failure", "webhooks"),
                     ("WebhookDeliveriesFailed", None, "webhooks"), ("WebhookDeliveries", "success", "webhooks")]
    assert all(m[name] in (1.0, [1.0]) for m, (name, _, _) in zip(emitted, names))


def test_an_attempt_for_a_webhook_deleted_meanwhile_is_recorded_without_bringing_the_webhook_back(webhooks_env):
    from botplot.db.webhooks import Delivery, Webhook
    from botplot.services import webhooks
    from botplot.webhooks import delivery

    receiver = webhooks_env
    hook = _hook(receiver)
    for status in (500, 200):
        receiver.statuses = [status]
        delivery.fan_out(_event(hook.project_id))
        (message,) = _queued(hook.webhook_id)
        webhook = Webhook.get(hook.project_id, hook.webhook_id)
        webhook.consecutive_failures = 1  # a success resets it: with the webhook gone, nothing to reset
        record = Delivery.get(hook.webhook_id, message["deliveryId"])
        webhooks.delete(hook.project_id, hook.webhook_id)
        result = delivery.attempt(webhook, record)
        assert (result.success, result.status_code) == (status == 200, status)
        assert _record(hook, message["deliveryId"]).attempts == 1
        with pytest.raises(Webhook.DoesNotExist):
            _webhook(hook)
        webhook.save()  # the next round


def test_a_delivery_id_is_computed_the_same_by_every_version():
    """A stream record handed over again after a deploy must find the delivery the previous version
    created: the id, derived from the event and webhook ids, is pinned (UUIDv7: the event's first 64
    bits, the variant, 62 bits of a UUIDv5 of both ids)."""
    from botplot.webhooks.delivery import delivery_id

    event = "019ad8a1-7c3e-7a12-8f00-0123456789ab"
    assert delivery_id(event, "019ad8a0-0000-7000-8000-00000000beef") == "019ad8a1-7c3e-7a12-9a82-3cb59229ef73"
    assert delivery_id(event, "019ad8a0-0000-7000-8000-00000000bee0") == "019ad8a1-7c3e-7a12-b22c-5904a272d9d5"


def test_an_attempt_records_how_long_the_receiver_took_in_milliseconds(webhooks_env, monkeypatch):
    """``durationMs`` is the POST's time on the monotonic clock, read before and after it. The clock
    here moves 2.5 s while the receiver handles the request and never otherwise, so the exact value
    is known without timing anything (2,500 ms: not 2.5, not 2,502)."""
    import types

    from botplot.webhooks import delivery

    receiver = webhooks_env
    hook = _hook(receiver)
    delivery.fan_out(_event(hook.project_id))
    (message,) = _queued(hook.webhook_id)
    readings = []

    def monotonic():
        readings.append(7000.0 + 2.5 * len(receiver.received))
        return readings[-1]

    monkeypatch.setattr(delivery, "time", types.SimpleNamespace(monotonic=monotonic))
    assert delivery.deliver(message) == "delivered"
    assert readings == [7000.0, 7002.5]  # once before the POST, once after the receiver answered
    assert _record(hook, message["deliveryId"]).duration_ms == 2500


def test_a_webhook_deleted_just_before_its_switch_off_is_not_brought_back(webhooks_env, caplog):
    """The failure that reaches the switch-off threshold is counted, then the webhook is switched off;
    a customer deleting the webhook between the two must not find it written back by the switch-off.
    The delete is made in front of the switch-off's request to DynamoDB (botocore's before-send)."""
    from botplot import clock
    from botplot.db.webhooks import Delivery, Webhook
    from botplot.services import webhooks
    from botplot.webhooks import delivery

    receiver = webhooks_env
    hook = _hook(receiver)
    receiver.statuses = [500]
    delivery.fan_out(_event(hook.project_id))
    (message,) = _queued(hook.webhook_id)
    webhook = Webhook.get(hook.project_id, hook.webhook_id)
    since = clock.iso_ms(datetime.now(timezone.utc) - timedelta(hours=1))
    webhook.update(actions=[Webhook.consecutive_failures.set(2), Webhook.failing_since.set(since)])
    deleted = []

    def delete_before_the_switch_off(request, **_):
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        if not deleted and target.endswith("UpdateItem") and b"disabledReason" in request.body:
            webhooks.delete(hook.project_id, hook.webhook_id)
            deleted.append(hook.webhook_id)
        return None

    client = Webhook._get_connection().connection.client
    client.meta.events.register_first("before-send.dynamodb", delete_before_the_switch_off)
    caplog.clear()
    try:
        result = delivery.attempt(webhook, Delivery.get(hook.webhook_id, message["deliveryId"]))
    finally:
        client.meta.events.unregister("before-send.dynamodb", delete_before_the_switch_off)
    assert deleted == [hook.webhook_id]  # the third failure in an hour reached the switch-off
    assert (result.success, result.error) == (False, "HTTP 500")
    with pytest.raises(Webhook.DoesNotExist):
        _webhook(hook)
    assert "webhook deactivated" not in [r.getMessage() for r in caplog.records]


def test_the_switch_off_thresholds_are_inclusive(webhooks_env):
    """Switched off at exactly BOTPLOT_WEBHOOK_DISABLE_AFTER (3) failures in a row spanning exactly
    BOTPLOT_WEBHOOK_DISABLE_WINDOW_SECONDS (600); fewer failures over a longer span are not enough."""
    from botplot.webhooks import delivery

    receiver = webhooks_env
    hook = _hook(receiver)
    start = datetime.now(timezone.utc).replace(microsecond=0)
    outcomes = []
    for minutes in (0, 10, 10):
        receiver.statuses = [500]
        delivery.fan_out(_event(hook.project_id))
        (message,) = _queued(hook.webhook_id)
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            try:
                outcomes.append(delivery.deliver(message))
            except delivery.RetryLater:
                outcomes.append("retry")
        webhook = _webhook(hook)
        outcomes.append((int(webhook.consecutive_failures), webhook.is_active))
    assert outcomes == ["retry", (1, True), "retry", (2, True), "failed", (3, False)]


def test_a_failed_attempt_keeps_the_give_up_time_and_a_webhook_switched_off_elsewhere_stays_as_it_was(
        webhooks_env, caplog):
    """Another worker may switch the webhook off while this one posts: this attempt's failure is
    counted, but the webhook is not switched off a second time (its reason and the warning are the
    other worker's). Until the worker schedules the next attempt, the delivery keeps ``giveUpAt`` for
    the sweeper."""
    from botplot import clock
    from botplot.db.webhooks import Delivery, Webhook
    from botplot.webhooks import delivery

    receiver = webhooks_env
    hook = _hook(receiver)
    receiver.statuses = [500]
    delivery.fan_out(_event(hook.project_id))
    (message,) = _queued(hook.webhook_id)
    webhook = Webhook.get(hook.project_id, hook.webhook_id)  # loaded while still active
    since = clock.iso_ms(datetime.now(timezone.utc) - timedelta(hours=1))
    webhook.update(actions=[Webhook.is_active.set(False), Webhook.consecutive_failures.set(5),
                            Webhook.failing_since.set(since), Webhook.disabled_reason.set("switched off elsewhere")])
    webhook.is_active = True
    caplog.clear()
    result = delivery.attempt(webhook, Delivery.get(hook.webhook_id, message["deliveryId"]))
    assert (result.success, result.error) == (False, "HTTP 500")
    stored = _webhook(hook)
    assert (stored.is_active, stored.consecutive_failures, stored.disabled_reason, stored.failing_since) == (
        False, 6, "switched off elsewhere", since)
    assert [r for r in caplog.records if r.levelname == "WARNING"] == []
    record = _record(hook, message["deliveryId"])
    assert (record.status, record.attempts) == ("retrying", 1) and record.give_up_at is not None
