"""Failing the work whose messages died without a word, so nothing stays pending forever.

A crawl job or a webhook attempt normally ends in a recorded outcome (a source ``ready`` or
``failed``; a delivery ``succeeded``, ``retrying`` or ``failed``). When its function crashes or times
out on every receive, SQS moves the message to the dead-letter queue and nothing records it. So
while such work is open its item carries a deadline — a source's ``crawlDeadline`` (queued + the
crawl budget with its retries), a delivery's ``giveUpAt`` (its next attempt's due time + a grace) —
and a sparse index lists exactly those items by deadline. This sweep, on the idle closer's
5-minute schedule, fails the ones past it; the update is conditional on the item still being open
with that deadline, so an outcome recorded meanwhile wins.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from botplot import clock, events
from botplot.db.base import condition_failed, connection
from botplot.db.knowledge import Source
from botplot.db.webhooks import Delivery
from botplot.knowledge import source_events
from botplot.observability import logger

CRAWL_LOST = "The crawl did not finish: its worker timed out or stopped on every attempt; re-crawl to try again"
DELIVERY_LOST = ("No attempt was completed: the webhook worker timed out or stopped on every try; "
                 "redeliver to try again")


def _fail(item, actions: list, condition) -> bool:
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as failure:
        if not condition_failed(failure):
            raise
        return False  # finished, retried or deleted meanwhile
    return True


def sweep_crawls() -> int:
    """Fail every source still processing past its crawl deadline; returns how many."""
    now = clock.iso_ms(clock.now())
    failed = 0
    for entry in Source.by_crawl_deadline.query("processing", Source.crawl_deadline < now):
        try:
            source = Source.get(entry.project_id, entry.source_id, consistent_read=True)
        except DoesNotExist:
            continue
        try:
            with TransactWrite(connection=connection()) as tx:  # the failure and its source.failed, together
                tx.update(source, actions=[
                    Source.status.set("failed"), Source.error.set(CRAWL_LOST), Source.crawl_deadline.remove(),
                    Source.progress.remove(), Source.updated_at.set(now),
                ], condition=(Source.status == "processing") & (Source.crawl_deadline < now))
                events.save(tx, source_events.failed(source, CRAWL_LOST, now))
        except TransactWriteError as failure:
            if not condition_failed(failure):
                raise
            continue  # finished, retried or deleted meanwhile
        failed += 1
    if failed:
        logger.warning("crawls failed by the sweeper", extra={"count": failed})
    return failed


def sweep_deliveries() -> int:
    """Fail every delivery still waiting for an attempt past its give-up time; returns how many."""
    now = clock.iso_ms(clock.now())
    failed = 0
    for status in ("pending", "retrying"):
        for entry in Delivery.by_give_up_at.query(status, Delivery.give_up_at < now):
            failed += _fail(Delivery(entry.webhook_id, entry.delivery_id), [
                Delivery.status.set("failed"), Delivery.error.set(DELIVERY_LOST), Delivery.next_attempt_at.remove(),
                Delivery.give_up_at.remove(), Delivery.updated_at.set(now),
            ], (Delivery.status == status) & (Delivery.give_up_at < now))
    if failed:
        logger.warning("webhook deliveries failed by the sweeper", extra={"count": failed})
    return failed
