"""How a call that reaches a usage threshold claims its event (README "Quotas"), staged one call at a
time against moto: a call that loses the claim to another says nothing (the other announced it); a
claim DynamoDB refuses for another reason is logged and the next call claims it, so the event is
late, never lost. Answers are injected in front of DynamoDB (botocore's before-send)."""

from __future__ import annotations

import json

import pytest
from botocore.awsrequest import AWSResponse

from botplot import ids
from tests.support.workers import outbox_records

NOT_CLAIMED = "usage event not claimed"


@pytest.fixture
def quota(moto_endpoint, monkeypatch):
    monkeypatch.setenv("BOTPLOT_PLAN_LIMITS", '{"pro": 5}')  # usage.warning at 4 calls (80 %)
    from botplot.config import reload_settings
    from botplot.services import quota

    reload_settings()
    yield quota
    monkeypatch.undo()
    reload_settings()


@pytest.fixture
def before_transactions():
    """Run a function in front of every TransactWriteItems request of the transactions' connection."""
    from botplot.db.base import connection

    client = connection().client
    hooks = []

    def register(hook):
        def before_send(request, **_):
            target = request.headers.get("X-Amz-Target", b"")
            target = target.decode() if isinstance(target, bytes) else target
            return hook(request) if target.endswith("TransactWriteItems") else None

        hooks.append(before_send)
        client.meta.events.register_first("before-send.dynamodb", before_send)

    yield register
    for hook in hooks:
        client.meta.events.unregister("before-send.dynamodb", hook)


def usage_events(project_id: str) -> list[tuple[str, int]]:
    payloads = [json.loads(r["dynamodb"]["NewImage"]["payload"]["S"]) for r in outbox_records(project_id)]
    return [(p["event"], p["data"]["calls"]) for p in payloads if p["event"].startswith("usage.")]


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def _conflict_once():
    """DynamoDB's answer to the first transaction only: cancelled by a conflict (not by the claim's
    condition), so the claim is refused for another reason than a mark already there."""
    refused = []

    def answer(request):
        if refused:
            return None
        refused.append(request)
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                           "message": "Transaction cancelled [TransactionConflict, None]",
                           "CancellationReasons": [{"Code": "TransactionConflict", "Message": "injected"},
                                                   {"Code": "None"}]}).encode()
        return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "TransactionCanceledException"}, _Raw(body))

    return answer


def test_a_call_that_loses_the_claim_announces_nothing_and_logs_nothing(quota, before_transactions, caplog):
    project_id = ids.uuid7()
    for _ in range(3):
        quota.consume(project_id, "pro")
    raced = []

    def another_call_claims_first(request):
        if not raced:  # the 4th call's claim is on its way: a 5th call overtakes it and claims both thresholds
            raced.append("overtaking")
            raced.append(quota.consume(project_id, "pro").remaining)
        return None

    before_transactions(another_call_claims_first)
    assert quota.consume(project_id, "pro").remaining == 1
    assert raced == ["overtaking", 0]
    assert sorted(usage_events(project_id)) == [("usage.exhausted", 5), ("usage.warning", 5)]
    assert NOT_CLAIMED not in caplog.messages


def test_a_claim_refused_for_another_reason_is_logged_and_the_next_call_claims_it(quota, before_transactions, caplog):
    project_id = ids.uuid7()
    for _ in range(3):
        quota.consume(project_id, "pro")
    before_transactions(_conflict_once())
    assert quota.consume(project_id, "pro").remaining == 1  # the call itself is counted and answered
    assert usage_events(project_id) == []
    (logged,) = [r for r in caplog.records if r.getMessage() == NOT_CLAIMED]
    assert logged.event == "usage.warning"  # the log line names the event that is late
    assert quota.consume(project_id, "pro").remaining == 0
    assert sorted(usage_events(project_id)) == [("usage.exhausted", 5), ("usage.warning", 5)]
    # what each event tells the project (README "Quotas"): its month, plan and standing
    from botplot import clock

    now = clock.now()
    common = {"month": clock.month(now), "plan": "pro", "limit": 5, "calls": 5, "remaining": 0,
              "resets_at": clock.iso_ms(clock.next_month(now))}
    payloads = [json.loads(r["dynamodb"]["NewImage"]["payload"]["S"]) for r in outbox_records(project_id)]
    assert {p["event"]: p["data"] for p in payloads} == {"usage.warning": {**common, "threshold_percent": 80},
                                                         "usage.exhausted": {**common, "threshold_percent": 100}}
    # each mark on the month's item is the time of the call that announced its event, as the event says
    from botplot.db.usage import Usage

    usage = Usage.get(project_id, clock.month(now), consistent_read=True)
    assert {p["event"]: p["timestamp"] for p in payloads} == {"usage.warning": usage.warning_sent_at,
                                                              "usage.exhausted": usage.exhausted_sent_at}


@pytest.fixture
def lowered(quota, monkeypatch):
    """Limits where a month can outgrow a plan: 7 calls on business (10; its warning comes at 8) are
    over pro's 5, as when a project moves down a plan mid-month."""
    monkeypatch.setenv("BOTPLOT_PLAN_LIMITS", '{"pro": 5, "business": 10}')
    from botplot.config import reload_settings

    reload_settings()

    def project_with_seven_calls() -> str:
        project_id = ids.uuid7()
        for _ in range(7):
            quota.consume(project_id, "business")
        assert usage_events(project_id) == []  # 7 of 10: short of the warning
        return project_id

    return project_with_seven_calls


def refused(quota, project_id: str, plan: str) -> None:
    from botplot.errors import ApiError

    with pytest.raises(ApiError) as caught:
        quota.consume(project_id, plan)
    assert caught.value.status == 429


def usage_reads(project_id: str):
    """Counts the GetItem requests for this project's usage item (on the Usage model's client)."""
    from botplot.db.usage import Usage

    client = Usage._get_connection().connection.client
    reads = []

    def before_send(request, **_):
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        if target.endswith("GetItem") and project_id.encode() in request.body:
            reads.append(target)

    client.meta.events.register_first("before-send.dynamodb", before_send)
    return reads, lambda: client.meta.events.unregister("before-send.dynamodb", before_send)


def test_a_month_over_a_lowered_plan_announces_its_exhaustion_once_per_project(quota, lowered, caplog):
    first, second = lowered(), lowered()
    refused(quota, first, "pro")
    (record,) = outbox_records(first)
    payload = json.loads(record["dynamodb"]["NewImage"]["payload"]["S"])
    assert payload["event"] == "usage.exhausted"
    data = payload["data"]
    assert (data["plan"], data["limit"], data["calls"], data["remaining"], data["threshold_percent"]) == (
        "pro", 5, 7, 0, 100)
    # the next refusals announce nothing more, and this process no longer even reads the item for it
    reads, stop = usage_reads(first)
    try:
        for _ in range(3):
            refused(quota, first, "pro")
    finally:
        stop()
    assert reads == [] and len(outbox_records(first)) == 1
    # another project over the same plan in the same month announces its own
    refused(quota, second, "pro")
    assert usage_events(second) == [("usage.exhausted", 7)]
    assert NOT_CLAIMED not in caplog.messages


def test_a_refused_claim_of_a_lowered_plan_is_logged_and_the_next_refusal_claims_it(
        quota, lowered, before_transactions, caplog):
    project_id = lowered()
    before_transactions(_conflict_once())
    refused(quota, project_id, "pro")
    assert usage_events(project_id) == []
    (logged,) = [r for r in caplog.records if r.getMessage() == NOT_CLAIMED]
    assert logged.event == "usage.exhausted"
    refused(quota, project_id, "pro")  # late, not lost
    assert usage_events(project_id) == [("usage.exhausted", 7)]


def test_the_warning_is_due_at_80_percent_of_the_limit_rounded_up():
    from botplot.services.quota import warning_threshold

    assert [warning_threshold(n) for n in (1, 5, 7, 100, 1000, 1001)] == [1, 4, 6, 80, 800, 801]
