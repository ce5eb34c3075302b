"""Nothing stays pending: an IPv6 literal is crawled instead of crashing the worker, a job that
fails its last attempt leaves its source failed, and work whose messages died without a word (a
worker that times out or stops on every receive, then the dead-letter queue) is failed by the
sweeper on the idle closer's schedule, with a readable error."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from botplot_dev.lambda_runtime import LambdaContext, load_module, sqs_event
from tests.support.aws import using_endpoint
from tests.support.fake_openai import FakeOpenAI
from tests.support.ports import free_port
from tests.support.receivers import PythonReceiver
from tests.support.site import Site, store_site
from tests.support.workers import delete, invoke_stream, outbox_records, receive_all


@pytest.fixture
def local_world(monkeypatch, moto_endpoint, tmp_path):
    """The local stack's settings in-process: loopback targets, a SQLite index, no embedder."""
    monkeypatch.setenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", "1")
    monkeypatch.setenv("BOTPLOT_INDEX", "sqlite")
    monkeypatch.setenv("BOTPLOT_INDEX_PATH", str(tmp_path / "index.sqlite"))
    monkeypatch.setenv("BOTPLOT_EMBEDDER", "none")
    from botplot.config import reload_settings
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.index import default_index

    def reset():
        reload_settings()
        default_embedder.cache_clear()
        default_index.cache_clear()

    reset()
    _drain("BOTPLOT_CRAWL_QUEUE_URL")  # what earlier tests left queued
    yield reset
    for queue in ("BOTPLOT_CRAWL_QUEUE_URL", "BOTPLOT_WEBHOOK_QUEUE_URL"):  # leave no message to later tests
        _drain(queue)
    monkeypatch.undo()
    reset()


def _drain(queue_env: str, wait: float = 0) -> list[dict]:
    """Take the queue's messages off it for good (received but undeleted ones would come back)."""
    messages = receive_all(os.environ[queue_env], wait=wait)
    delete(queue_env, messages)
    return messages


def _crawl_event(receive_count: int | None = None) -> dict:
    messages = _drain("BOTPLOT_CRAWL_QUEUE_URL", wait=1)
    if receive_count is not None:
        for m in messages:
            m["Attributes"]["ApproximateReceiveCount"] = str(receive_count)
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=os.environ["BOTPLOT_CRAWL_QUEUE_URL"],
                                                   AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs_event(messages, arn, "us-east-1")


def _source_events(project_id: str) -> list[dict]:
    """The project's ``source.*`` events announced so far (the outbox's stream), oldest first."""
    payloads = [json.loads(r["dynamodb"]["NewImage"]["payload"]["S"]) for r in outbox_records(project_id)]
    return [p for p in payloads if p["event"].startswith("source.")]


def _sweep() -> dict:
    return load_module("IdleCloserFunction").handler({}, LambdaContext("idle", 120))


def test_an_ipv6_literal_is_crawled_not_a_crash(local_world):
    from botplot.services import knowledge, projects

    project, _ = projects.create_project("ipv6", "enterprise")
    with Site(store_site(), ipv6=True) as site:
        source = knowledge.add_url(project.project_id, site.url + "/help/returns", "manual")
        worker = load_module("CrawlWorkerFunction").handler
        assert worker(_crawl_event(), LambdaContext("crawl", 900)) == {"batchItemFailures": []}
    done = knowledge.get(project.project_id, source.source_id)
    assert done.status == "ready", done.error
    assert done.chunk_count >= 1 and done.crawl_deadline is None
    assert any(url.startswith(site.url) for url in json.loads(done.crawl_report)["added"])


def test_a_worker_first_loaded_against_another_endpoint_crawls_against_this_one(local_world):
    """The crawl worker builds its idempotency store's AWS client at import, as in Lambda, where the
    endpoint never changes. In a test process it does: before this session's moto server starts (when
    tests/integration/test_template.py reads the worker's constants, AWS itself) or inside another
    stack's. A worker loaded then must be loaded again, not fail every job of a later test: under
    `make test JOBS=2` such a test ran first on one worker, and three crawl tests failed there."""
    from botplot.services import knowledge, projects

    with using_endpoint(f"http://127.0.0.1:{free_port()}", {}):  # nothing listens there
        load_module("CrawlWorkerFunction")
    project, _ = projects.create_project("reloaded worker", "enterprise")
    with Site(store_site()) as site:
        source = knowledge.add_url(project.project_id, site.url + "/help/returns", "manual")
        worker = load_module("CrawlWorkerFunction").handler
        assert worker(_crawl_event(), LambdaContext("crawl", 900)) == {"batchItemFailures": []}
    assert knowledge.get(project.project_id, source.source_id).status == "ready"


def test_a_job_failing_its_last_attempt_leaves_the_source_failed(local_world, monkeypatch):
    fake = FakeOpenAI()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("BOTPLOT_EMBEDDER", "openai")
    local_world()
    from botplot.services import knowledge, projects

    try:
        project, _ = projects.create_project("poisoned", "enterprise")
        fake.embedding_failures = 10_000  # the embedding service is down for good
        with Site(store_site()) as site:
            source = knowledge.add_url(project.project_id, site.url + "/help/returns", "manual")
            event = _crawl_event()
            worker = load_module("CrawlWorkerFunction").handler
            failures = {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
            for receive in (1, 2):  # SQS brings the message back: the source is still being worked on
                for record in event["Records"]:
                    record["attributes"]["ApproximateReceiveCount"] = str(receive)
                assert worker(event, LambdaContext("crawl", 900)) == failures
                assert knowledge.get(project.project_id, source.source_id).status == "processing"
            for record in event["Records"]:
                record["attributes"]["ApproximateReceiveCount"] = "3"  # the last before the dead-letter queue
            assert worker(event, LambdaContext("crawl", 900)) == {"batchItemFailures": []}
        failed = knowledge.get(project.project_id, source.source_id)
        assert failed.status == "failed" and failed.crawl_deadline is None
        assert failed.error.startswith("The crawl failed 3 times on an internal error") and "re-crawl" in failed.error
        (announced,) = _source_events(project.project_id)  # the two retried attempts announced nothing
        assert announced["event"] == "source.failed"
        assert announced["data"] | {"failed_at": None} == {
            "source_id": source.source_id, "type": "url", "name": source.url, "url": source.url,
            "sync_frequency": "manual", "status": "failed", "error": failed.error, "failed_at": None, "report": None}
        assert announced["data"]["failed_at"] == failed.updated_at
    finally:
        fake.close()


def test_a_crawl_whose_worker_never_reports_is_failed_by_the_sweeper(local_world, monkeypatch):
    from botplot.services import knowledge, projects
    from botplot.services.sweeper import CRAWL_LOST

    project, _ = projects.create_project("lost crawls", "enterprise")
    monkeypatch.setenv("BOTPLOT_CRAWL_DEADLINE_SECONDS", "-1")  # queued already past its deadline
    local_world()
    lost = knowledge.add_url(project.project_id, "https://example.com/lost", "manual")
    monkeypatch.setenv("BOTPLOT_CRAWL_DEADLINE_SECONDS", "3600")
    local_world()
    waiting = knowledge.add_url(project.project_id, "https://example.com/waiting", "manual")
    _drain("BOTPLOT_CRAWL_QUEUE_URL")  # the messages die: no worker ever reports

    assert _sweep()["crawlsFailed"] >= 1
    swept = knowledge.get(project.project_id, lost.source_id)
    assert (swept.status, swept.error, swept.crawl_deadline) == ("failed", CRAWL_LOST, None)
    assert knowledge.get(project.project_id, waiting.source_id).status == "processing"  # its time has not come
    assert _sweep()["crawlsFailed"] == 0  # the index no longer lists the failed one
    (announced,) = _source_events(project.project_id)  # once, though the sweep ran twice
    assert (announced["event"], announced["data"]["source_id"], announced["data"]["error"],
            announced["data"]["url"]) == ("source.failed", lost.source_id, CRAWL_LOST, "https://example.com/lost")

    # a re-crawl of the failed source is a new job with a new deadline, which a finished crawl clears
    knowledge.recrawl(project.project_id, lost.source_id)
    again = knowledge.get(project.project_id, lost.source_id)
    assert again.status == "processing" and again.crawl_deadline > swept.updated_at


def test_a_delivery_whose_message_died_is_failed_not_pending(local_world, monkeypatch):
    from botplot.db.webhooks import Delivery
    from botplot.services import projects, webhooks, widget
    from botplot.services.auth import Principal
    from botplot.services.sweeper import DELIVERY_LOST

    project, _ = projects.create_project("lost deliveries", "enterprise")
    receiver = PythonReceiver().start()
    try:
        hook = webhooks.create(project.project_id, receiver.url, ["lead.captured"], None)
        queue = os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"]
        _drain("BOTPLOT_WEBHOOK_QUEUE_URL")
        monkeypatch.setenv("BOTPLOT_WEBHOOK_GRACE_SECONDS", "-1")  # an attempt not made at once never will be
        local_world()
        widget.capture_lead(Principal(project.project_id, "enterprise", "public", "lost", None), None, "v", "Lost",
                            "lost@example.com", None)
        arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        worker = load_module("WebhookWorkerFunction").handler
        assert invoke_stream("WebhookWorkerFunction", outbox_records(project.project_id)) == {
            "batchItemFailures": []}  # fanned out
        [pending] = list(Delivery.query(hook.webhook_id))
        assert pending.status == "pending" and pending.give_up_at
        _drain("BOTPLOT_WEBHOOK_QUEUE_URL")  # its delivery message dies: the worker stopped on every receive

        assert _sweep()["deliveriesFailed"] >= 1
        failed = Delivery.get(hook.webhook_id, pending.delivery_id)
        assert (failed.status, failed.error, failed.give_up_at) == ("failed", DELIVERY_LOST, None)
        assert receiver.events() == []
        listed, _ = webhooks.deliveries(project.project_id, hook.webhook_id, 20)
        assert [(d["deliveryId"], d["status"]) for d in listed] == [(pending.delivery_id, "failed")]

        # redelivering it opens it again: the manual attempt succeeds and closes it for good
        monkeypatch.setenv("BOTPLOT_WEBHOOK_GRACE_SECONDS", "3600")
        local_world()
        webhooks.redeliver(project.project_id, hook.webhook_id, pending.delivery_id)
        worker(sqs_event(_drain("BOTPLOT_WEBHOOK_QUEUE_URL", wait=1), arn["Attributes"]["QueueArn"], "us-east-1"),
               LambdaContext("webhooks", 30))
        delivered = Delivery.get(hook.webhook_id, pending.delivery_id)
        assert (delivered.status, delivered.give_up_at) == ("succeeded", None)
        assert _sweep()["deliveriesFailed"] == 0
    finally:
        receiver.stop()
