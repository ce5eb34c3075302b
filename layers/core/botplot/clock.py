"""UTC time in the formats the API uses: ISO-8601 with ``Z``, days, months and quota resets."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    """``2026-02-15T10:30:00Z``: seconds, as the reference's REST responses show."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(dt: datetime) -> str:
    """``2026-02-15T10:30:00.000Z``: milliseconds, as the reference's webhook payloads show."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def api_time(stored: str) -> str:
    """Stored timestamps keep milliseconds; REST responses show seconds."""
    return iso(parse(stored))


def day(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d")


def month(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m")


def next_month(dt: datetime) -> datetime:
    """The first instant of the next calendar month (UTC): the quota reset."""
    dt = dt.astimezone(timezone.utc)
    return datetime(dt.year + (dt.month == 12), dt.month % 12 + 1, 1, tzinfo=timezone.utc)


def next_month_epoch(dt: datetime) -> int:
    """Epoch seconds of :func:`next_month`."""
    return int(next_month(dt).timestamp())


def period_days(period_days_count: int, today: date | None = None) -> list[str]:
    """The days of a period ending today, oldest first."""
    today = today or now().date()
    return [(today - timedelta(days=i)).isoformat() for i in range(period_days_count - 1, -1, -1)]

