"""Monthly call quotas: one conditional atomic counter per project and month.

``ADD calls :1`` only when ``calls < limit``: DynamoDB serialises updates to one item, so under any
concurrency exactly ``limit`` calls succeed in a month. Rejected calls are not counted.

The same item announces the month's thresholds: ``usage.warning`` once the count reaches 80 % of
the limit, ``usage.exhausted`` once it reaches the limit. The counter's update returns the new
count; a call that sees a threshold reached while the month's item has no mark for it claims the
event: one transaction sets the mark only if it does not exist (``warningSentAt``) and puts the
event in the outbox (:mod:`botplot.events`). However many calls race past the threshold, exactly
one claim commits, and with it the one event. A claim that fails for another reason (a throttled
write, a conflicting transaction) is retried by the next call, which still sees the threshold
reached and no mark, so the event is late rather than lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from botplot import clock, events
from botplot.config import settings
from botplot.db.base import condition_failed, connection
from botplot.db.usage import Usage
from botplot.errors import ApiError
from botplot.events import Event
from botplot.observability import count, logger

#: ``usage.warning`` is sent when this share of the month's calls is used
WARNING_PERCENT = 80
#: (project, month) whose ``usage.exhausted`` this process knows to be claimed: a flood of 429s
#: then costs no extra write
_exhausted_known: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class RateLimit:
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        # Each name is on its own line so that mutation testing leaves it alone: another case is an
        # equivalent mutant (HTTP header names are case-insensitive; every client and test reads them so).
        return {
            "X-RateLimit-Limit":  # pragma: no mutate (a header name's case is not part of it)
                str(self.limit),
            "X-RateLimit-Remaining":  # pragma: no mutate (a header name's case is not part of it)
                str(self.remaining),
            "X-RateLimit-Reset":  # pragma: no mutate (a header name's case is not part of it)
                str(self.reset),
        }


def warning_threshold(limit: int) -> int:
    """The count at which ``usage.warning`` is due: 80 % of the limit, rounded up (800 of 1,000)."""
    return -(-limit * WARNING_PERCENT // 100)


def consume(project_id: str, plan: str) -> RateLimit:
    """Count one call, or raise 429 when this month's calls are used up."""
    limit = settings().plan_limits[plan]
    now = clock.now()
    reset = clock.next_month_epoch(now)
    usage = Usage(project_id=project_id, month=clock.month(now))
    try:
        usage.update(
            actions=[Usage.calls.add(1), Usage.expires_at.set(timedelta(days=400))],
            condition=Usage.calls.does_not_exist() | (Usage.calls < limit),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        count("QuotaRejections", plan=plan)
        _announce_rejected(project_id, plan, limit, now)
        rate = RateLimit(limit, 0, reset)
        raise ApiError(
            429,
            "RATE_LIMIT_EXCEEDED",
            f"Monthly API limit of {limit} calls exceeded; it resets at the start of next month (UTC)",
            headers=rate.headers(),
        ) from None
    calls = int(usage.calls)
    if calls >= warning_threshold(limit) and usage.warning_sent_at is None:
        _announce(usage, Usage.warning_sent_at, "usage.warning", plan, limit, calls, now)
    if calls >= limit and usage.exhausted_sent_at is None:
        _announce(usage, Usage.exhausted_sent_at, "usage.exhausted", plan, limit, calls, now)
    return RateLimit(limit, max(0, limit - calls), reset)


def usage_event(project_id: str, name: str, plan: str, limit: int, calls: int, now) -> Event:
    return Event(project_id, name, {
        "month": clock.month(now),
        "plan": plan,
        "limit": limit,
        "calls": calls,
        "remaining": max(0, limit - calls),
        "threshold_percent": WARNING_PERCENT if name == "usage.warning" else 100,
        "resets_at": clock.iso_ms(clock.next_month(now)),
    }, at=now)


def _claimed_elsewhere(error: TransactWriteError) -> bool:
    """Whether the claim failed because the mark is already there (not a conflict or a throttle)."""
    return any(reason is not None and reason.code == "ConditionalCheckFailed"
               for reason in error.cancellation_reasons)


def _claim(project_id: str, month: str, mark: UnicodeAttribute, event: Event, now) -> None:
    """Mark this month's event as sent and put it in the outbox, in one transaction: only the one
    caller whose mark is written sends the event; for the others the mark is there, and they are done."""
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(Usage(project_id, month), actions=[mark.set(clock.iso_ms(now))],
                      condition=mark.does_not_exist())
            events.save(tx, event)
    except TransactWriteError as error:
        if not _claimed_elsewhere(error):  # another call claimed it first: nothing to do
            raise


def _announce(usage: Usage, mark: UnicodeAttribute, name: str, plan: str, limit: int, calls: int, now) -> None:
    try:
        _claim(usage.project_id, usage.month, mark, usage_event(usage.project_id, name, plan, limit, calls, now), now)
    except Exception:
        # the call itself is counted and goes on; the next call finds the mark missing and tries again
        logger.exception("usage event not claimed", extra={"event": name})


def _announce_rejected(project_id: str, plan: str, limit: int, now) -> None:
    """A 429 when no call of the month reached the limit (the plan went down after the count passed
    the new limit): the first rejected call sends ``usage.exhausted``. A refusal means the month's
    item has a count (its condition failed on ``calls``; a month without one always passes)."""
    key = (project_id, clock.month(now))
    if key in _exhausted_known:
        return
    try:
        # consistent: the latest count for the event; the claim's condition decides whether it is sent
        # either way (and moto's reads are always consistent), so consistent_read's mutants are equivalent
        usage = Usage.get(project_id, key[1], consistent_read=True)  # pragma: no mutate
        if usage.exhausted_sent_at is None:
            _claim(project_id, key[1], Usage.exhausted_sent_at,
                   usage_event(project_id, "usage.exhausted", plan, limit, int(usage.calls), now), now)
        _exhausted_known.add(key)
    except Exception:
        logger.exception("usage event not claimed", extra={"event": "usage.exhausted"})


def peek(project_id: str, plan: str) -> RateLimit:
    """This month's standing without counting a call (for reads that are free, such as polling a
    crawl's progress)."""
    limit = settings().plan_limits[plan]
    now = clock.now()
    try:
        calls = int(Usage.get(project_id, clock.month(now)).calls)  # the item exists once a call is counted
    except Usage.DoesNotExist:
        calls = 0
    return RateLimit(limit, max(0, limit - calls), clock.next_month_epoch(now))
