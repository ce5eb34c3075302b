"""The README's counting rules, checked against the usage item itself: every authenticated call
counts, including ones answered 4xx for bad input or an unknown id; calls refused with 401, 403 or
429 do not, nor those answered before the key is looked at (unknown route, wrong method, body over 1 MB).

The apps run in-process behind the template's router (as API Gateway routes them), on moto."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone

import boto3
import pytest


@pytest.fixture
def app(moto_endpoint, monkeypatch):
    monkeypatch.setenv("BOTPLOT_PLAN_LIMITS", '{"pro": 4}')
    from starlette.testclient import TestClient

    from botplot.config import reload_settings
    from botplot_dev.router import TemplateRouter

    reload_settings()
    yield TestClient(TemplateRouter())
    monkeypatch.undo()
    reload_settings()


def usage_item(project_id: str) -> dict | None:
    """This month's usage item, read straight from the table."""
    from botplot import clock

    return boto3.resource("dynamodb").Table(os.environ["BOTPLOT_TABLE_USAGE"]).get_item(
        Key={"projectId": project_id, "month": clock.month(clock.now())}, ConsistentRead=True).get("Item")


def calls_counted(project_id: str) -> int | None:
    """The usage item's counter for this month (None: no item)."""
    item = usage_item(project_id)
    return None if item is None else int(item["calls"])


def next_month() -> int:
    """Epoch seconds of the first instant of next month, UTC."""
    now = datetime.now(timezone.utc)
    first = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=timezone.utc)
    return int(first.timestamp())


def test_what_counts_and_what_does_not(app, capfd, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    from botplot.services.projects import create_project

    project, keys = create_project("quota rules", "pro")
    public = {"Authorization": f"Bearer {keys.public_key}"}
    secret = {"Authorization": f"Bearer {keys.secret_key}"}
    pid = project.project_id

    # refused before any project is known: nothing to count
    assert app.get("/api/v1/leads").json()["code"] == "MISSING_API_KEY"
    r = app.get("/api/v1/leads", headers={"Authorization": "Bearer sk_" + "x" * 40})
    assert r.status_code == 401 and r.json()["code"] == "INVALID_API_KEY"
    # 403: a public key on a management route is refused, not counted
    r = app.get("/api/v1/leads", headers=public)
    assert r.status_code == 403 and r.json()["code"] == "SECRET_KEY_REQUIRED"
    assert calls_counted(pid) is None

    r = app.post("/api/v1/chat", json={"message": "Hello"}, headers=public)
    assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == "3"
    assert r.headers["X-RateLimit-Limit"] == "4" and r.headers["X-RateLimit-Reset"] == str(next_month())
    assert calls_counted(pid) == 1
    # the month's item expires about 400 days on (DynamoDB TTL), so old months clean themselves up
    assert abs(float(usage_item(pid)["expiresAt"]) - (time.time() + 400 * 86400)) < 600
    # answered 400 for bad input: counted, and the answer says so
    r = app.post("/api/v1/chat", json={"message": ""}, headers=public)
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR"
    assert r.headers["X-RateLimit-Remaining"] == "2" and calls_counted(pid) == 2
    r = app.get("/api/v1/leads?limit=0", headers=secret)
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR" and calls_counted(pid) == 3
    r = app.get("/api/v1/leads", headers=public)
    assert r.status_code == 403 and calls_counted(pid) == 3
    r = app.get("/api/v1/leads", headers=secret)
    assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == "0" and calls_counted(pid) == 4

    # over the limit: refused with 429, and the refusals are not counted
    capfd.readouterr()
    for _ in range(3):
        r = app.post("/api/v1/chat", json={"message": "Hello again"}, headers=public)
        assert r.status_code == 429 and r.json() == {
            "code": "RATE_LIMIT_EXCEEDED",
            "error": "Monthly API limit of 4 calls exceeded; it resets at the start of next month (UTC)"}
        assert r.headers["X-RateLimit-Limit"] == "4" and r.headers["X-RateLimit-Remaining"] == "0"
        assert r.headers["X-RateLimit-Reset"] == str(next_month())
    assert calls_counted(pid) == 4
    # each refusal is counted in the QuotaRejections metric (EMF), by plan, for the alarm and dashboards
    emitted = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"QuotaRejections"' in line]
    assert len(emitted) == 3 and all(e["QuotaRejections"] == [1.0] or e["QuotaRejections"] == 1.0 for e in emitted)
    assert all(e["plan"] == "pro" and ["plan"] in e["_aws"]["CloudWatchMetrics"][0]["Dimensions"] for e in emitted)


def test_unparsable_bodies_and_unknown_ids_count_and_what_is_answered_before_the_key_does_not(app):
    """The rest of the README's rules, against the usage item: a body that does not parse
    (``INVALID_JSON``) and a ``404`` for an id the project does not have count, since the key was
    accepted; an unknown route (``404``), a wrong method (``405``) and a body over 1 MB (``413``),
    answered before the key is looked at, do not."""
    from botplot.services.projects import create_project

    project, keys = create_project("quota rules, the rest", "pro")
    secret = {"Authorization": f"Bearer {keys.secret_key}"}
    as_json = {**secret, "Content-Type": "application/json"}
    pid = project.project_id

    r = app.get("/api/v1/no-such-route", headers=secret)
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = app.put("/api/v1/leads", headers=secret)
    assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED"
    r = app.post("/api/v1/knowledge/qa", content=b'{"question": "' + b"x" * (1024 * 1024) + b'"}', headers=as_json)
    assert r.status_code == 413 and r.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert calls_counted(pid) is None

    r = app.post("/api/v1/knowledge/qa", content=b'{"question": "Window?"', headers=as_json)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_JSON" and r.headers["X-RateLimit-Remaining"] == "3"
    assert calls_counted(pid) == 1
    r = app.delete("/api/v1/leads/6ba7b810-9dad-11d1-80b4-00c04fd430c8", headers=secret)
    assert r.status_code == 404 and r.json()["code"] == "LEAD_NOT_FOUND" and r.headers["X-RateLimit-Remaining"] == "2"
    assert calls_counted(pid) == 2


def test_a_plan_without_api_access_counts_nothing(app):
    from botplot.services.projects import create_project

    project, keys = create_project("free plan", "free")
    r = app.post("/api/v1/chat", json={"message": "Hello"}, headers={"Authorization": f"Bearer {keys.public_key}"})
    assert r.status_code == 403 and r.json()["code"] == "PLAN_REQUIRED"
    assert calls_counted(project.project_id) is None


def _drop_crawl_message(source_id: str) -> None:
    """Take this source's crawl job off the queue (no worker runs here); others stay visible."""
    sqs = boto3.client("sqs")
    queue = os.environ["BOTPLOT_CRAWL_QUEUE_URL"]
    for _ in range(20):
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                     VisibilityTimeout=30).get("Messages", []):
            if json.loads(m["Body"])["sourceId"] == source_id:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
                return
            sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    raise AssertionError(f"no crawl message for {source_id}")


def test_waiting_on_a_crawl_is_free_and_shows_the_standing(app):
    """README "Waiting without spending quota": reading a processing source does not count (its
    X-RateLimit-* headers show the standing, even with the month used up); a finished one counts."""
    from botplot.knowledge.ingest import fail_job
    from botplot.services import knowledge
    from botplot.services.projects import create_project

    project, keys = create_project("quota polling", "pro")
    secret = {"Authorization": f"Bearer {keys.secret_key}"}
    pid = project.project_id
    source = knowledge.add_url(pid, "https://docs.example.com/", "manual")
    _drop_crawl_message(source.source_id)

    def poll():
        r = app.get(f"/api/v1/knowledge/{source.source_id}", headers=secret)
        assert r.status_code == 200 and r.headers["X-RateLimit-Limit"] == "4"
        assert r.headers["X-RateLimit-Reset"] == str(next_month())
        return r

    r = poll()
    assert r.json()["source"]["status"] == "processing" and r.headers["X-RateLimit-Remaining"] == "4"
    assert calls_counted(pid) is None  # nothing counted yet: not even an item
    assert app.get("/api/v1/leads", headers=secret).status_code == 200 and calls_counted(pid) == 1
    for _ in range(2):
        assert poll().headers["X-RateLimit-Remaining"] == "3"
    assert calls_counted(pid) == 1

    for _ in range(3):
        app.get("/api/v1/leads", headers=secret)
    assert calls_counted(pid) == 4
    assert poll().headers["X-RateLimit-Remaining"] == "0"  # the wait stays free with the month used up
    assert calls_counted(pid) == 4

    assert fail_job(pid, source.source_id, source.crawl_job_id, "gave up")
    r = app.get(f"/api/v1/knowledge/{source.source_id}", headers=secret)
    assert r.status_code == 429 and r.json()["code"] == "RATE_LIMIT_EXCEEDED"  # a finished source's read counts
