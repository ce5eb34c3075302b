"""The month's usage events under real concurrency, against moto's server: 200 threads racing past
both thresholds of a 100-call limit announce ``usage.warning`` and ``usage.exhausted`` exactly once
each; a new month announces them again; a plan lowered below the month's count still announces
the exhaustion once. Announced means written to the outbox, in the claim's transaction."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
import time_machine

from botplot import ids
from botplot.errors import ApiError
from tests.support.workers import outbox_records


@pytest.fixture
def quota(moto_endpoint, monkeypatch):
    monkeypatch.setenv("BOTPLOT_PLAN_LIMITS", '{"pro": 100, "business": 200}')
    from botplot.config import reload_settings
    from botplot.services import quota

    reload_settings()
    yield quota
    monkeypatch.undo()
    reload_settings()


def usage_events(project_id: str) -> list[dict]:
    """Every usage event of the project announced so far (the outbox's stream), oldest first."""
    payloads = [json.loads(r["dynamodb"]["NewImage"]["payload"]["S"]) for r in outbox_records(project_id)]
    return [p for p in payloads if p["event"].startswith("usage.")]


def burst(quota, project_id: str, plan: str, calls: int) -> list[int | None]:
    def call(_):
        try:
            return quota.consume(project_id, plan).remaining
        except ApiError as error:
            assert error.status == 429
            return None

    with ThreadPoolExecutor(max_workers=calls) as pool:
        return list(pool.map(call, range(calls)))


def test_racing_calls_announce_each_threshold_exactly_once(quota):
    project_id = ids.uuid7()
    results = burst(quota, project_id, "pro", 200)
    assert sorted(r for r in results if r is not None) == list(range(100))

    events = usage_events(project_id)
    assert sorted(e["event"] for e in events) == ["usage.exhausted", "usage.warning"]
    by_name = {e["event"]: e["data"] for e in events}
    assert 80 <= by_name["usage.warning"]["calls"] < 100 and by_name["usage.warning"]["threshold_percent"] == 80
    exhausted = by_name["usage.exhausted"]
    assert (exhausted["calls"], exhausted["remaining"], exhausted["limit"], exhausted["plan"],
            exhausted["threshold_percent"]) == (100, 0, 100, "pro", 100)
    # the month is over its limit: more refused calls announce nothing more
    burst(quota, project_id, "pro", 20)
    assert usage_events(project_id) == events


def test_a_new_month_announces_again(quota):
    project_id = ids.uuid7()
    with time_machine.travel(datetime(2031, 1, 31, 23, 0, tzinfo=timezone.utc), tick=False):
        burst(quota, project_id, "pro", 110)
    january = usage_events(project_id)
    assert sorted((e["event"], e["data"]["month"]) for e in january) == [("usage.exhausted", "2031-01"),
                                                                         ("usage.warning", "2031-01")]
    assert {e["data"]["resets_at"] for e in january} == {"2031-02-01T00:00:00.000Z"}
    with time_machine.travel(datetime(2031, 2, 1, 0, 0, 1, tzinfo=timezone.utc), tick=False):
        assert burst(quota, project_id, "pro", 79).count(None) == 0
        assert usage_events(project_id) == january  # 79 of 100: not yet
        burst(quota, project_id, "pro", 1)
    february = usage_events(project_id)[len(january):]
    assert [(e["event"], e["data"]["month"], e["data"]["calls"]) for e in february] == [
        ("usage.warning", "2031-02", 80)]


def test_a_plan_lowered_below_the_count_announces_the_exhaustion_once(quota):
    project_id = ids.uuid7()
    burst(quota, project_id, "business", 150)  # 150 of 200: short of 80 % (160)
    assert usage_events(project_id) == []
    results = burst(quota, project_id, "pro", 40)  # now pro: 150 calls already exceed its 100
    assert results == [None] * 40
    (exhausted,) = usage_events(project_id)
    assert exhausted["event"] == "usage.exhausted"
    data = exhausted["data"]
    assert (data["calls"], data["limit"], data["remaining"], data["plan"]) == (150, 100, 0, "pro")
