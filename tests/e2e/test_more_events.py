"""BotPlot's own events over HTTP against the local stack: the month's usage thresholds under a burst
of parallel calls, and each crawl's outcome, delivered to a receiver verifying every signature."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.waiting import wait_until_processed
from tests.support.receivers import PythonReceiver
from tests.support.site import page

#: the shared stack's business limit (tests/conftest.py)
BUSINESS_LIMIT = 30


@pytest.fixture
def receiver():
    r = PythonReceiver().start()
    yield r
    r.stop()


def subscribe(stack, project, receiver, events):
    with stack.client(project["secretKey"]) as c:
        r = c.post(f"/api/v1/projects/{project['projectId']}/webhooks", json={"url": receiver.url, "events": events})
    assert r.status_code == 200, r.text
    receiver.secret = r.json()["webhook"]["secret"]
    return r.json()["webhook"]


def announced(stack, project) -> list[str]:
    """The project's events in the outbox (each event is written there once, with its record)."""
    table, items, kwargs = stack.table("OUTBOX"), [], {}
    while True:
        page = table.scan(**kwargs)
        items += [i["event"] for i in page["Items"] if i["projectId"] == project["projectId"]]
        if "LastEvaluatedKey" not in page:
            return sorted(items)
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_a_burst_across_both_thresholds_announces_each_exactly_once(stack, receiver):
    project = stack.new_project("business", "Busy month")
    subscribe(stack, project, receiver, ["usage.warning", "usage.exhausted", "message.created"])  # call 1

    def chat(i):
        with stack.client(project["publicKey"]) as c:
            return c.post("/api/v1/chat", json={"message": f"Question number {i}?", "visitorId": f"v{i}"})

    with ThreadPoolExecutor(max_workers=25) as pool:
        answers = list(pool.map(chat, range(50)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * (BUSINESS_LIMIT - 1) + [429] * (50 - BUSINESS_LIMIT + 1)
    # more refused calls after the month is used up announce nothing more
    with stack.client(project["secretKey"]) as c:
        assert c.get("/api/v1/conversations").status_code == 429

    # every answered chat delivers two message.created, plus one conversation.started
    receiver.wait_for(lambda r: len(r.events("message.created")) == 2 * (BUSINESS_LIMIT - 1)
                      and r.events("usage.warning") and r.events("usage.exhausted"), timeout=90)
    events = announced(stack, project)
    assert events.count("usage.warning") == events.count("usage.exhausted") == 1
    assert events.count("message.created") == 2 * (BUSINESS_LIMIT - 1)

    assert all(entry["valid"] for entry in receiver.received)
    (warning,) = receiver.events("usage.warning")
    (exhausted,) = receiver.events("usage.exhausted")
    assert warning["project_id"] == exhausted["project_id"] == project["projectId"]
    month = warning["timestamp"][:7]
    assert warning["data"]["threshold_percent"] == 80 and exhausted["data"]["threshold_percent"] == 100
    for event in (warning, exhausted):
        assert set(event["data"]) == {"month", "plan", "limit", "calls", "remaining", "threshold_percent",
                                      "resets_at"}
        assert event["data"]["month"] == month and event["data"]["plan"] == "business"
        assert event["data"]["limit"] == BUSINESS_LIMIT
        assert event["data"]["remaining"] == BUSINESS_LIMIT - event["data"]["calls"]
        assert event["data"]["resets_at"].endswith("-01T00:00:00.000Z")
    assert 24 <= warning["data"]["calls"] < BUSINESS_LIMIT  # 80 % of 30 = 24, claimed by one of the racing calls
    assert exhausted["data"]["calls"] == BUSINESS_LIMIT and exhausted["data"]["remaining"] == 0


def test_a_call_short_of_the_threshold_sends_nothing(stack, receiver):
    project = stack.new_project("business", "Quiet month")
    subscribe(stack, project, receiver, ["usage.warning", "usage.exhausted", "message.created"])
    with stack.client(project["publicKey"]) as c:
        for i in range(22):  # 23 calls with the subscription: one short of 80 %
            assert c.post("/api/v1/chat", json={"message": f"Hello {i}"}).status_code == 200
    receiver.wait_for(lambda r: len(r.events("message.created")) == 44, timeout=60)
    assert receiver.events("usage.warning") == [] and receiver.events("usage.exhausted") == []
    with stack.client(project["publicKey"]) as c:
        assert c.post("/api/v1/chat", json={"message": "The 24th call"}).status_code == 200
    receiver.wait_for(lambda r: r.events("usage.warning"), timeout=30)
    assert receiver.events("usage.warning")[0]["data"]["calls"] == 24


def test_every_crawl_and_resync_announces_its_report_and_failures_their_error(stack, receiver, site):
    project = stack.new_project("enterprise", "Crawl events")
    subscribe(stack, project, receiver, ["source.synced", "source.failed"])
    with stack.client(project["secretKey"]) as c:
        source_id = c.post("/api/v1/knowledge/url", json={"url": site.url + "/"}).json()["sourceId"]
        first = wait_until_processed(c, source_id)
        receiver.wait_for(lambda r: r.events("source.synced"))
        (synced,) = receiver.events("source.synced")
        assert synced["project_id"] == project["projectId"] and receiver.received[0]["valid"]
        data = synced["data"]
        assert (data["source_id"], data["type"], data["url"], data["status"]) == (source_id, "url", site.url + "/",
                                                                                  "ready")
        assert data["chunk_count"] == first["source"]["chunkCount"] and data["word_count"] == first["source"]["wordCount"]
        report = data["report"]  # the source's crawlReport, in the webhooks' snake_case
        assert report["job_id"] == first["crawlReport"]["jobId"]
        assert report["counts"] == first["crawlReport"]["counts"] and report["counts"]["added"] >= 4
        assert sorted(report["added"]) == sorted(first["crawlReport"]["added"])
        assert {"url": site.url + "/help/internal", "reason": "disallowed by robots.txt"} in report["skipped"]
        assert set(report) >= {"started_at", "finished_at", "embedding_calls", "chunks_embedded", "truncated"}

        # a resync: one page changed
        site.pages["/help/shipping"] = ("text/html", page("Shipping", "<h1>Shipping</h1><p>Now 2 business days.</p>"))
        assert c.post(f"/api/v1/knowledge/{source_id}/recrawl").status_code == 200
        wait_until_processed(c, source_id)
        receiver.wait_for(lambda r: len(r.events("source.synced")) == 2)
        resync = receiver.events("source.synced")[1]["data"]["report"]
        assert resync["changed"] == [site.url + "/help/shipping"] and resync["counts"]["added"] == 0
        assert resync["job_id"] != report["job_id"]

        # a crawl that cannot start: the source fails, and says why
        failing = c.post("/api/v1/knowledge/url", json={"url": site.url + "/no-such-page"}).json()["sourceId"]
        failed_source = wait_until_processed(c, failing)["source"]
        assert failed_source["status"] == "failed"
        receiver.wait_for(lambda r: r.events("source.failed"))
        (failed,) = receiver.events("source.failed")
        assert failed["data"]["source_id"] == failing and failed["data"]["status"] == "failed"
        assert failed["data"]["error"] == failed_source["error"] and "HTTP 404" in failed["data"]["error"]
        assert failed["data"]["report"]["counts"]["failed"] == 1
    assert len(receiver.events("source.synced")) == 2  # the failure sent no synced event


def test_new_events_are_subscribable_and_unknown_ones_are_refused(stack, project, receiver):
    hook = subscribe(stack, project, receiver, ["usage.warning", "usage.exhausted", "source.synced",
                                                "source.failed", "lead.captured"])
    assert hook["events"] == ["usage.warning", "usage.exhausted", "source.synced", "source.failed", "lead.captured"]
    base = f"/api/v1/projects/{project['projectId']}/webhooks"
    with stack.client(project["secretKey"]) as c:
        r = c.post(base, json={"url": receiver.url, "events": ["usage.warned"]})
        assert r.status_code == 400 and r.json()["code"] == "INVALID_EVENTS" and "usage.exhausted" in r.json()["error"]
        r = c.patch(f"{base}/{hook['id']}", json={"events": ["source.failed"]})
        assert r.status_code == 200 and r.json()["webhook"]["events"] == ["source.failed"]
        assert c.delete(f"{base}/{hook['id']}").status_code == 200
