"""Faults: a crash mid-batch, duplicate SQS deliveries, DynamoDB throttling, a failing embedding
service. Nothing is lost and nothing is duplicated."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from botplot_dev.lambda_runtime import LambdaContext, load_module, sqs_event
from tests.support.fake_openai import FakeOpenAI
from tests.support.receivers import PythonReceiver
from tests.support.site import Site, store_site
from tests.support.workers import receive_all


def _queue_arn(env_name: str) -> str:
    return boto3.client("sqs").get_queue_attributes(QueueUrl=os.environ[env_name],
                                                    AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _sqs(body: str, n: int) -> dict:
    return {"MessageId": f"m-{n}", "ReceiptHandle": f"r-{n}", "Body": body,
            "Attributes": {"ApproximateReceiveCount": "1"}}


@pytest.fixture
def private_targets(monkeypatch, moto_endpoint):
    monkeypatch.setenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", "1")
    from botplot.config import reload_settings

    reload_settings()
    yield
    monkeypatch.undo()
    reload_settings()


def test_a_poison_message_mid_batch_fails_alone_and_a_replayed_batch_duplicates_nothing(private_targets):
    from botplot.db.webhooks import Delivery
    from botplot.events import Event, queue_message
    from botplot.services import projects, webhooks

    project, _ = projects.create_project("faults", "enterprise")
    receiver = PythonReceiver().start()
    try:
        hook = webhooks.create(project.project_id, receiver.url, ["lead.captured"], None)
        receive_all(os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"], wait=0)
        batch = [_sqs(queue_message(Event(project.project_id, "lead.captured", {"lead_id": "one"})), 1),
                 _sqs("{this is not json", 2),
                 _sqs(queue_message(Event(project.project_id, "lead.captured", {"lead_id": "two"})), 3)]
        event = sqs_event(batch, _queue_arn("BOTPLOT_WEBHOOK_QUEUE_URL"), "us-east-1")
        worker = load_module("WebhookWorkerFunction").handler
        assert worker(event, LambdaContext("webhooks")) == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
        # the function crashed before SQS deleted anything: the same batch comes again
        assert worker(event, LambdaContext("webhooks")) == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
        queued = [json.loads(m["Body"]) for m in receive_all(os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"], wait=0)]
        deliveries = list(Delivery.query(hook.webhook_id))
        assert len(deliveries) == 2 and len(queued) == 2
        assert {q["deliveryId"] for q in queued} == {d.delivery_id for d in deliveries}
    finally:
        receiver.stop()


def test_a_crawl_failing_midway_is_retried_without_duplicating_chunks(private_targets, monkeypatch, tmp_path):
    fake = FakeOpenAI()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("BOTPLOT_EMBEDDER", "openai")
    monkeypatch.setenv("BOTPLOT_INDEX", "sqlite")
    monkeypatch.setenv("BOTPLOT_INDEX_PATH", str(tmp_path / "index.sqlite"))
    from botplot.config import reload_settings
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.index import default_index
    from botplot.services import knowledge, projects

    reload_settings()
    default_embedder.cache_clear()
    default_index.cache_clear()
    try:
        with Site(store_site()) as site:
            kind, body = site.pages["/sitemap.xml"]
            site.pages["/sitemap.xml"] = (kind, body.format(base=site.url))
            project, _ = projects.create_project("faults", "enterprise")
            source = knowledge.add_url(project.project_id, site.url + "/", "manual")
            messages = receive_all(os.environ["BOTPLOT_CRAWL_QUEUE_URL"])
            event = sqs_event(messages, _queue_arn("BOTPLOT_CRAWL_QUEUE_URL"), "us-east-1")
            worker = load_module("CrawlWorkerFunction").handler
            fake.embedding_failures = 3  # the embedder's three attempts all fail: the job fails
            # the job failed: its message is reported for SQS to redeliver (not a failed invocation)
            failed = worker(event, LambdaContext("crawl", 900))
            assert failed == {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
            assert knowledge.get(project.project_id, source.source_id).status == "processing"
            assert knowledge.chunks(project.project_id, source.source_id, 1000, 0) == []
            assert worker(event, LambdaContext("crawl", 900)) == {"batchItemFailures": []}  # SQS redelivers
            assert worker(event, LambdaContext("crawl", 900)) == {"batchItemFailures": []}  # and once more
            chunks = knowledge.chunks(project.project_id, source.source_id, 1000, 0)
            assert knowledge.get(project.project_id, source.source_id).status == "ready"
            assert len(chunks) == len({c.chunk_id for c in chunks}) == knowledge.get(
                project.project_id, source.source_id).chunk_count >= 4
    finally:
        fake.close()
        monkeypatch.undo()
        reload_settings()
        default_embedder.cache_clear()
        default_index.cache_clear()


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def test_dynamodb_throttling_is_retried_and_counts_stay_exact(moto_endpoint):
    """Throttling answers injected in front of DynamoDB (botocore's before-send) for the first
    attempts of every write: the chat turn still lands once, with exact counters."""
    from starlette.testclient import TestClient

    from botplot import clock
    from botplot.db.base import connection
    from botplot.db.registry import MODELS_BY_LOGICAL_ID
    from botplot.services.projects import create_project
    from botplot_dev.router import TemplateRouter

    project, keys = create_project("throttled", "enterprise")
    client = TestClient(TemplateRouter())
    headers = {"Authorization": f"Bearer {keys.public_key}"}
    assert client.post("/api/v1/chat", json={"message": "warm"}, headers=headers).status_code == 200
    throttled = {"count": 0}

    def throttle(request, **_):
        operation = request.headers.get("X-Amz-Target", b"")
        operation = operation.decode() if isinstance(operation, bytes) else operation
        if operation.endswith(("TransactWriteItems", "UpdateItem")) and throttled["count"] % 2 == 0:
            throttled["count"] += 1
            body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                               "message": "injected"}).encode()
            return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ProvisionedThroughputExceededException"},
                               _Raw(body))
        throttled["count"] += operation.endswith(("TransactWriteItems", "UpdateItem"))
        return None

    clients = {id(c): c for c in [m._get_connection().connection.client for m in MODELS_BY_LOGICAL_ID.values()]
               + [connection().client]}
    for c in clients.values():
        c.meta.events.register_first("before-send.dynamodb", throttle)
    try:
        stats = boto3.resource("dynamodb").Table(os.environ["BOTPLOT_TABLE_DAILY_STATS"])
        before = stats.get_item(Key={"projectId": project.project_id, "day": clock.day(clock.now())})["Item"]
        response = client.post("/api/v1/chat", json={"message": "Throttled question"}, headers=headers)
    finally:
        for c in clients.values():
            c.meta.events.unregister("before-send.dynamodb", throttle)
    assert response.status_code == 200, response.text
    assert throttled["count"] >= 8  # every write was throttled once, then retried
    after = stats.get_item(Key={"projectId": project.project_id, "day": clock.day(clock.now())})["Item"]
    assert (after["messages"] - before["messages"], after["conversations"] - before["conversations"]) == (2, 1)
    messages = boto3.resource("dynamodb").Table(os.environ["BOTPLOT_TABLE_MESSAGES"]).query(
        KeyConditionExpression=boto3.dynamodb.conditions.Key("conversationId").eq(response.json()["conversationId"]))
    assert [m["content"] for m in messages["Items"] if m["role"] == "user"] == ["Throttled question"]
