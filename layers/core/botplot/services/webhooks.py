"""Webhook subscriptions and deliveries: create, list, delete, test, re-enable, inspect, redeliver.

A subscription's URL must be HTTPS and public (the SSRF guard; ``BOTPLOT_ALLOW_PRIVATE_TARGETS=1``
lets the local stack use loopback, over http too); at most ``MAX_WEBHOOKS`` per project, enforced with a
conditional counter so two concurrent creations cannot exceed it. The signing secret is returned
once, at creation, and never again.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from botplot import clock, ids
from botplot.aws import client
from botplot.config import settings
from botplot.db.base import connection
from botplot.db.stats import TOTALS_DAY, DailyStats
from botplot.db.webhooks import Delivery, Webhook
from botplot.errors import ApiError, bad_request, not_found
from botplot.events import EVENT_TYPES, Event
from botplot.net import urls
from botplot.net.ssrf import BlockedTarget, UnresolvedHost, checked_address
from botplot.webhooks import delivery as sender

MAX_WEBHOOKS = 10
DELIVERY_RETENTION = timedelta(days=30)


def check_project(principal_project_id: str, project_id: str) -> None:
    """A secret key manages its own project only; any other id is unknown to it."""
    if project_id != principal_project_id:
        raise not_found("Project", "PROJECT_NOT_FOUND")


def validate_url(url: str) -> str:
    """An https:// URL (urls.HTTPS_URL) whose host is public; locally, http:// to loopback too."""
    if len(url) > 2048:  # the string as sent, as the document's maxLength counts it
        raise bad_request("'url' must be at most 2048 characters")
    url = url.strip(urls.SPACE)
    local_http = settings().allow_private_targets and urls.is_http_url(url)
    if not urls.is_https_url(url) and not local_http:
        raise bad_request("'url' must be an https:// URL with a host, no credentials, a port up to 65535 and "
                          "no spaces", "INVALID_WEBHOOK_URL")
    parts = urlsplit(url)
    try:
        address = checked_address(parts.hostname, parts.port or 443)
    except UnresolvedHost as failure:
        raise bad_request(f"'url': {failure}", "INVALID_WEBHOOK_URL") from None
    except BlockedTarget as blocked:
        raise bad_request(f"'url' is not a public address: {blocked}", "INVALID_WEBHOOK_URL") from None
    if parts.scheme.lower() == "http" and not address.is_loopback:
        raise bad_request("'url' must be an https:// URL (plain http only reaches this machine, locally)",
                          "INVALID_WEBHOOK_URL")
    return url


def validate_events(events: list[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown or not events:
        raise bad_request(f"'events' must be a non-empty list of: {', '.join(EVENT_TYPES)}", "INVALID_EVENTS")
    return list(dict.fromkeys(events))


def create(project_id: str, url: str, events: list[str], description: str | None) -> Webhook:
    webhook = Webhook(project_id, ids.uuid7(), url=validate_url(url), events=validate_events(events),
                      description=description, secret=ids.new_webhook_secret(), is_active=True,
                      consecutive_failures=0, created_at=clock.iso_ms(clock.now()))
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(webhook, condition=Webhook.webhook_id.does_not_exist())
            tx.update(DailyStats(project_id, TOTALS_DAY), actions=[DailyStats.webhooks.add(1)],
                      condition=DailyStats.webhooks.does_not_exist() | (DailyStats.webhooks < MAX_WEBHOOKS))
    except TransactWriteError:
        raise bad_request(f"A project can have at most {MAX_WEBHOOKS} webhooks", "WEBHOOK_LIMIT") from None
    return webhook


def get(project_id: str, webhook_id: str) -> Webhook:
    if not ids.is_uuid(webhook_id):
        raise not_found("Webhook", "WEBHOOK_NOT_FOUND")
    try:
        return Webhook.get(project_id, webhook_id)
    except DoesNotExist:
        raise not_found("Webhook", "WEBHOOK_NOT_FOUND") from None


def list_webhooks(project_id: str, limit: int | None = None, after: str | None = None) -> tuple[list[Webhook], bool]:
    """The project's webhooks, oldest first: all of them (the reference's list), or a page of ``limit``
    after the webhook id ``after``; and whether more follow."""
    query = Webhook.query(project_id, Webhook.webhook_id > after if after else None,
                          **({} if limit is None else {"limit": limit + 1, "page_size": limit + 1}))
    items = list(query)
    return (items, False) if limit is None else (items[:limit], len(items) > limit)


def view(webhook: Webhook, with_secret: bool = False) -> dict:
    out = {"id": webhook.webhook_id, "url": webhook.url, "description": webhook.description,
           "events": list(webhook.events), "is_active": bool(webhook.is_active),
           "created_at": clock.api_time(webhook.created_at)}
    if with_secret:
        out["secret"] = webhook.secret
    if not webhook.is_active and webhook.disabled_reason:
        out["disabled_reason"] = webhook.disabled_reason
    return out


def update(project_id: str, webhook_id: str, url: str | None, events: list[str] | None,
           description: str | None, is_active: bool | None) -> Webhook:
    webhook = get(project_id, webhook_id)
    actions = []
    if url is not None:
        actions.append(Webhook.url.set(validate_url(url)))
    if events is not None:
        actions.append(Webhook.events.set(validate_events(events)))
    if description is not None:
        actions.append(Webhook.description.set(description))
    if is_active is not None:
        actions.append(Webhook.is_active.set(is_active))
        if is_active:  # re-enabled: a fresh start
            actions += [Webhook.consecutive_failures.set(0), Webhook.failing_since.remove(),
                        Webhook.disabled_reason.remove()]
    if actions:
        webhook.update(actions=actions, condition=Webhook.webhook_id.exists())
    return webhook


def delete(project_id: str, webhook_id: str) -> None:
    webhook = get(project_id, webhook_id)
    with TransactWrite(connection=connection()) as tx:
        tx.delete(webhook, condition=Webhook.webhook_id.exists())
        tx.update(DailyStats(project_id, TOTALS_DAY), actions=[DailyStats.webhooks.add(-1)])
    with Delivery.batch_write() as batch:
        for record in Delivery.query(webhook_id):
            batch.delete(record)


def ping(project_id: str, webhook_id: str) -> dict:
    """Deliver a ``ping`` now and return its result."""
    webhook = get(project_id, webhook_id)
    record = sender.new_delivery(webhook, Event(project_id, "ping", {}).payload(), "ping", ids.uuid7())
    record.save()
    result = sender.attempt(webhook, record)
    if not result.success:
        record.update(actions=[Delivery.status.set("failed"), Delivery.give_up_at.remove()])
    return {"deliveryId": record.delivery_id, "statusCode": result.status_code, "responseBody": result.body,
            "success": result.success, "durationMs": result.duration_ms, "error": result.error}


def deliveries(project_id: str, webhook_id: str, limit: int,
               after: str | None = None) -> tuple[list[dict], str | None]:
    """A page of the webhook's deliveries, newest first (delivery ids are UUIDv7s of the event's
    time), and the last delivery id of the page when more follow (``None`` on the last one): the
    next page is the deliveries older than it."""
    get(project_id, webhook_id)
    condition = Delivery.delivery_id < after if after else None
    records = list(Delivery.query(webhook_id, condition, scan_index_forward=False, limit=limit + 1))
    more = len(records) > limit
    records = records[:limit]
    page = [{"deliveryId": d.delivery_id, "event": d.event, "status": d.status, "attempts": int(d.attempts or 0),
             "statusCode": None if d.status_code is None else int(d.status_code),
             "durationMs": None if d.duration_ms is None else int(d.duration_ms),
             "error": d.error, "responseBody": d.response_body,
             "createdAt": clock.api_time(d.created_at),
             "updatedAt": clock.api_time(d.updated_at) if d.updated_at else None,
             "nextAttemptAt": clock.api_time(d.next_attempt_at) if d.next_attempt_at else None}
            for d in records]
    return page, (records[-1].delivery_id if more else None)


def redeliver(project_id: str, webhook_id: str, delivery_id: str) -> dict:
    """Queue one more attempt of a delivery, same id and same bytes (receivers can deduplicate)."""
    webhook = get(project_id, webhook_id)
    if not ids.is_uuid(delivery_id):
        raise not_found("Delivery", "DELIVERY_NOT_FOUND")
    try:
        record = Delivery.get(webhook_id, delivery_id)
    except DoesNotExist:
        raise not_found("Delivery", "DELIVERY_NOT_FOUND") from None
    if not webhook.is_active:
        raise ApiError(409, "WEBHOOK_INACTIVE", "Re-enable the webhook (PATCH is_active: true) before redelivering")
    record.update(actions=[Delivery.status.set("pending"), Delivery.next_attempt_at.remove(),
                           Delivery.give_up_at.set(sender.give_up_at(clock.now()))])
    client("sqs").send_message(QueueUrl=settings().webhook_queue_url, MessageBody=json.dumps(
        sender.delivery_message(record, manual=True)))
    return {"deliveryId": delivery_id, "status": "pending"}
