"""Monthly call quotas: one conditional atomic counter per project and month.

``ADD calls :1`` only when ``calls < limit``: DynamoDB serialises updates to one item, so under any
concurrency exactly ``limit`` calls succeed in a month. Rejected calls are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pynamodb.exceptions import UpdateError

from botplot import clock
from botplot.config import settings
from botplot.db.base import condition_failed
from botplot.db.usage import Usage
from botplot.errors import ApiError
from botplot.observability import count


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
        rate = RateLimit(limit, 0, reset)
        raise ApiError(
            429,
            "RATE_LIMIT_EXCEEDED",
            f"Monthly API limit of {limit} calls exceeded; it resets at the start of next month (UTC)",
            headers=rate.headers(),
        ) from None
    return RateLimit(limit, max(0, limit - int(usage.calls)), reset)


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
