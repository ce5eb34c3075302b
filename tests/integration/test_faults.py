"""Faults: a poison record mid-batch, duplicate stream and SQS deliveries, DynamoDB throttling, a failing
embedding service. Nothing is lost and nothing is duplicated."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from botplot_dev.lambda_runtime import LambdaContext, load_module, sqs_event
from tests.support.fake_openai import FakeOpenAI
from tests.support.receivers import PythonReceiver
from tests.support.site import shop_site
from tests.support.workers import invoke_sqs, invoke_stream, outbox_records, receive_all


def _queue_arn(env_name: str) -> str:
    return boto3.client("sqs").get_queue_attributes(QueueUrl=os.environ[env_name],
                                                    AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


@pytest.fixture
def private_targets(monkeypatch, moto_endpoint):
    monkeypatch.setenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", "1")
    from botplot.config import reload_settings

    reload_settings()
    yield
    monkeypatch.undo()
    reload_settings()


def _leads(project_id: str, *names: str) -> None:
    from botplot.services import widget
    from botplot.services.auth import Principal

    caller = Principal(project_id, "enterprise", "public", "faults", None)
    for name in names:
        widget.capture_lead(caller, None, "visitor", name, f"{name.lower()}@example.com", None)


def test_a_poison_record_mid_batch_fails_alone_and_a_replayed_batch_duplicates_nothing(private_targets):
    from botplot import ids
    from botplot.db.webhooks import Delivery
    from botplot.services import projects, webhooks

    project, _ = projects.create_project("faults", "enterprise")
    receiver = PythonReceiver().start()
    try:
        hook = webhooks.create(project.project_id, receiver.url, ["lead.captured"], None)
        receive_all(os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"], wait=0)
        _leads(project.project_id, "One")
        # an outbox item written by hand, without its payload, between two real ones
        boto3.client("dynamodb").put_item(TableName=os.environ["BOTPLOT_TABLE_OUTBOX"], Item={
            "eventId": {"S": ids.uuid7()}, "projectId": {"S": project.project_id}, "event": {"S": "lead.captured"}})
        _leads(project.project_id, "Two")
        records = outbox_records(project.project_id)
        assert [("payload" in r["dynamodb"]["NewImage"]) for r in records] == [True, False, True]
        poison = records[1]["dynamodb"]["SequenceNumber"]
        failed = {"batchItemFailures": [{"itemIdentifier": poison}]}
        assert invoke_stream("WebhookWorkerFunction", records) == failed
        # Lambda retries from the failed record on: the records after it come again, and the function
        # may have crashed before the first answer: the whole batch comes again
        assert invoke_stream("WebhookWorkerFunction", records[1:]) == failed
        assert invoke_stream("WebhookWorkerFunction", records) == failed
        queued = [json.loads(m["Body"]) for m in receive_all(os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"], wait=0)]
        deliveries = list(Delivery.query(hook.webhook_id))
        assert len(deliveries) == 2 and len(queued) == 2
        assert {q["deliveryId"] for q in queued} == {d.delivery_id for d in deliveries}
    finally:
        receiver.stop()


def test_a_stream_record_handed_over_twice_is_delivered_once(private_targets):
    """DynamoDB Streams hand a record over at least once: the same record twice is one delivery."""
    from botplot.db.webhooks import Delivery
    from botplot.services import projects, webhooks

    project, _ = projects.create_project("faults", "enterprise")
    receiver = PythonReceiver().start()
    try:
        hook = webhooks.create(project.project_id, receiver.url, ["lead.captured"], None)
        receiver.secret = hook.secret
        receive_all(os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"], wait=0)
        _leads(project.project_id, "Twice")
        (record,) = outbox_records(project.project_id)
        for _ in range(2):
            assert invoke_stream("WebhookWorkerFunction", [record]) == {"batchItemFailures": []}
        messages = receive_all(os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"], wait=0)
        assert len(messages) == 1
        assert invoke_sqs("WebhookWorkerFunction", messages, "BOTPLOT_WEBHOOK_QUEUE_URL") == {"batchItemFailures": []}
        (delivery,) = Delivery.query(hook.webhook_id)
        assert (delivery.status, delivery.attempts) == ("succeeded", 1)
        (event,) = receiver.events()
        assert event["event"] == "lead.captured" and event["data"]["email"] == "twice@example.com"
        assert event["_delivery"] == delivery.delivery_id and receiver.received[0]["valid"]
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
        with shop_site() as site:
            project, _ = projects.create_project("faults", "enterprise")
            source = knowledge.add_url(project.project_id, site.url + "/", "manual")
            # this source's job (the queue is shared with the modules run before on this process)
            messages = [m for m in receive_all(os.environ["BOTPLOT_CRAWL_QUEUE_URL"])
                        if json.loads(m["Body"])["sourceId"] == source.source_id]
            event = sqs_event(messages, _queue_arn("BOTPLOT_CRAWL_QUEUE_URL"), "us-east-1")
            worker = load_module("CrawlWorkerFunction").handler
            fake.embedding_failures = 3  # the embedder's three attempts all fail: the job fails
            # the job failed: its message is reported for SQS to redeliver (not a failed invocation)
            failed = worker(event, LambdaContext("crawl", 900))
            assert failed == {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
            assert knowledge.get(project.project_id, source.source_id).status == "processing"
            assert knowledge.chunks(project.project_id, source.source_id, 1000, 0) == ([], False)
            assert worker(event, LambdaContext("crawl", 900)) == {"batchItemFailures": []}  # SQS redelivers
            assert worker(event, LambdaContext("crawl", 900)) == {"batchItemFailures": []}  # and once more
            chunks, _ = knowledge.chunks(project.project_id, source.source_id, 1000, 0)
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
