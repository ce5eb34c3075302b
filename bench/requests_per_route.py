"""DynamoDB requests and capacity for one call of every route, and for one webhook fan-out.

Each route is served by its function's real app in this process against moto; requests are
counted with botocore event hooks. Read units are computed from the returned items' sizes by
DynamoDB's billing rules (0.5 per 4 KB, eventually consistent reads); moto's own ConsumedCapacity
figures are shown too (moto reports no capacity for transactions). Key and plan lookups are cached
warm, as on a warm function.
"""

from __future__ import annotations

import json
import os

import boto3

from bench.support import DynamoCounter, start_moto


def run() -> dict:
    start_moto()
    os.environ["BOTPLOT_INDEX"] = "sqlite"
    os.environ["BOTPLOT_INDEX_PATH"] = "/tmp/botplot-bench-requests.sqlite"
    os.environ["BOTPLOT_EMBEDDER"] = "none"
    os.environ["BOTPLOT_ALLOW_PRIVATE_TARGETS"] = "1"
    from botplot.config import reload_settings

    reload_settings()
    from starlette.testclient import TestClient

    from botplot.services.projects import create_project
    from botplot_dev.lambda_runtime import LambdaContext, load_module, sqs_event
    from botplot_dev.router import TemplateRouter
    from tests.support.receivers import PythonReceiver

    project, keys = create_project("bench", "enterprise")
    pid = project.project_id
    client = TestClient(TemplateRouter())
    public = {"Authorization": f"Bearer {keys.public_key}"}
    secret = {"Authorization": f"Bearer {keys.secret_key}"}
    client.post("/api/v1/chat", json={"message": "warm-up"}, headers=public)
    client.get("/api/v1/knowledge", headers=secret)
    receiver = PythonReceiver().start()
    counter = DynamoCounter().attach()
    figures = {}

    def measure(label, method, path, headers, **kwargs):
        counter.attach()
        with counter.recording():
            response = client.request(method, path, headers=headers, **kwargs)
        assert response.status_code < 400, (label, response.status_code, response.text)
        figures[label] = (counter.total, dict(counter.calls), counter.estimated_read_units, counter.read_units,
                          counter.write_units)
        return response.json() if "json" in response.headers.get("content-type", "") else None

    first = measure("POST /chat (new conversation)", "POST", "/api/v1/chat", public,
                    json={"message": "What is your return policy?", "visitorId": "v1"})
    cid = first["conversationId"]
    measure("POST /chat (continued)", "POST", "/api/v1/chat", public,
            json={"message": "And shipping?", "conversationId": cid})
    measure("POST /chat/stream (new)", "POST", "/api/v1/chat/stream", public, json={"message": "Hello"})
    measure("POST /chat/rating", "POST", "/api/v1/chat/rating", public,
            json={"conversationId": cid, "messageId": first["messageId"], "rating": 1})
    lead = measure("POST /chat/lead", "POST", "/api/v1/chat/lead", public, json={"email": "a@example.com"})
    measure("POST /knowledge/qa", "POST", "/api/v1/knowledge/qa", secret, json={"question": "Hours?", "answer": "9-5"})
    source = measure("POST /knowledge/url", "POST", "/api/v1/knowledge/url", secret,
                     json={"url": "https://example.com/"})
    measure("GET /knowledge", "GET", "/api/v1/knowledge", secret)
    measure("GET /knowledge/:id", "GET", f"/api/v1/knowledge/{source['sourceId']}", secret)
    measure("GET /conversations", "GET", "/api/v1/conversations", secret)
    measure("GET /conversations?status=active", "GET", "/api/v1/conversations?status=active", secret)
    measure("GET /conversations/:id", "GET", f"/api/v1/conversations/{cid}", secret)
    measure("GET /leads", "GET", "/api/v1/leads", secret)
    measure("GET /analytics (30d)", "GET", "/api/v1/analytics", secret)
    measure("GET /analytics/ratings (30d)", "GET", "/api/v1/analytics/ratings", secret)
    hook = measure("POST /projects/:id/webhooks", "POST", f"/api/v1/projects/{pid}/webhooks", secret,
                   json={"url": receiver.url, "events": ["lead.captured", "message.created"]})
    receiver.secret = hook["webhook"]["secret"]
    measure("GET /projects/:id/webhooks", "GET", f"/api/v1/projects/{pid}/webhooks", secret)
    measure("POST /chat/handoff", "POST", "/api/v1/chat/handoff", public, json={"conversationId": cid})
    measure("DELETE /conversations/:id", "DELETE", f"/api/v1/conversations/{cid}", secret)
    measure("DELETE /leads/:id", "DELETE", f"/api/v1/leads/{lead['leadId']}", secret)

    # the lead's event, as the outbox stream hands it over, fanned out to the webhook; then its delivery
    from botplot_dev.lambda_runtime import stream_event
    from tests.support.workers import outbox_records, receive_all

    worker_module = load_module("WebhookWorkerFunction")
    worker = worker_module.handler
    stream = boto3.client("dynamodb").describe_table(TableName=os.environ["BOTPLOT_TABLE_OUTBOX"])["Table"]
    (record,) = [r for r in outbox_records(pid) if r["dynamodb"]["NewImage"]["event"]["S"] == "lead.captured"]
    counter.attach(worker_module.persistence.client)  # Powertools Idempotency's own DynamoDB client
    with counter.recording():
        assert worker(stream_event([record], stream["LatestStreamArn"]), LambdaContext("webhooks")) == {
            "batchItemFailures": []}
    figures["webhook fan-out (1 webhook)"] = (counter.total, dict(counter.calls), counter.estimated_read_units,
                                             counter.read_units, counter.write_units)
    arn = f"arn:aws:sqs:us-east-1:000000000000:{os.environ['BOTPLOT_WEBHOOK_QUEUE_URL'].rsplit('/', 1)[-1]}"
    deliveries = [m for m in receive_all(os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"], wait=0)
                  if json.loads(m["Body"]).get("kind") == "delivery"]
    counter.attach()
    with counter.recording():
        worker(sqs_event(deliveries[:1], arn, "us-east-1"), LambdaContext("webhooks"))
    figures["webhook delivery (1 attempt)"] = (counter.total, dict(counter.calls), counter.estimated_read_units,
                                              counter.read_units, counter.write_units)
    receiver.stop()

    print("DynamoDB requests per call (warm key cache); RCU from item sizes, then as moto reports")
    for label, (total, calls, estimated, rcu, wcu) in figures.items():
        detail = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
        print(f"  {label:34s} {total:2d}  ({detail})  RCU {estimated:.1f} [moto {rcu:.1f}]")
    return figures


if __name__ == "__main__":
    run()
