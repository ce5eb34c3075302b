"""Writes ``events/``: a realistic event for every function, as ``sam local invoke -e`` takes them.

API Gateway REST proxy events for each route, SQS batches for each worker, the outbox stream's
records for the webhook worker and the schedules' inputs. Values in ``{{double braces}}`` (keys,
project and record ids) are to be replaced with real ones (``botplot project create`` prints keys);
``tests/integration/test_sample_events.py`` does so and invokes every handler with every event.
"""

from __future__ import annotations

import json
import sys

from botplot_dev import ROOT

EVENTS = ROOT / "events"
STAGE = "prod"
SOURCE_IP = "203.0.113.24"


def api_event(method: str, resource: str, key: str, path_params: dict | None = None, body: dict | None = None,
              query: dict | None = None, origin: str | None = None, idempotency_key: str | None = None) -> dict:
    path = resource
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    headers = {"Authorization": f"Bearer {{{{{key}}}}}", "Host": "api.botplot.app",
               "User-Agent": "curl/8.4.0", "X-Amzn-Trace-Id": "Root=1-6743a1b2-0123456789abcdef01234567",
               "X-Forwarded-For": SOURCE_IP, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if origin is not None:  # a browser's call (the widget on a customer's page)
        headers["Origin"] = origin
    if idempotency_key is not None:  # a retry-safe call: sent twice, the second answer replays the first
        headers["Idempotency-Key"] = idempotency_key
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3", "resourcePath": resource, "httpMethod": method, "path": f"/{STAGE}{path}",
            "stage": STAGE, "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "accountId": "123456789012",
            "apiId": "1234567890", "protocol": "HTTP/1.1", "requestTimeEpoch": 1771151400000,
            "identity": {"sourceIp": SOURCE_IP, "userAgent": "curl/8.4.0"}, "domainName": "api.botplot.app",
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def sqs_event(bodies: list[dict], queue: str) -> dict:
    return {"Records": [{
        "messageId": f"059f36b4-87a3-44ab-83d2-66197561{i:04d}",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1771151400000",
                       "SenderId": "AROAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1771151400010"},
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
        "awsRegion": "us-east-1",
    } for i, body in enumerate(bodies)]}


def stream_event(new_images: list[dict], table: str) -> dict:
    """INSERT records of a table's stream (``NEW_IMAGE``) as the DynamoDB stream event source delivers them."""
    return {"Records": [{
        "eventID": f"7de3041dd2a5c7f2d5b0c1e2f3a4b5c{i}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1771151400,
            "Keys": {"eventId": image["eventId"]},
            "NewImage": image,
            "SequenceNumber": f"{4421584500000000017450439091 + i}",
            "SizeBytes": 512,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/2026-02-15T10:30:00.000",
    } for i, image in enumerate(new_images)]}


P = "/api/v1/projects/{projectId}"
PP = {"projectId": "{{projectId}}"}
WH = {**PP, "webhookId": "{{webhookId}}"}


def events() -> dict[str, dict]:
    return {
        "chat/chat.json": api_event("POST", "/api/v1/chat", "publicKey", body={"message": "What is your return policy?",
                                                                              "visitorId": "visitor_abc"}),
        "chat/chat-continue.json": api_event("POST", "/api/v1/chat", "publicKey", body={
            "message": "And how long do refunds take?", "conversationId": "{{conversationId}}",
            "visitorId": "visitor_abc"}),
        "chat/chat-stream.json": api_event("POST", "/api/v1/chat/stream", "publicKey",
                                           body={"message": "How do I get started?", "visitorId": "visitor_abc"}),
        "chat/rating.json": api_event("POST", "/api/v1/chat/rating", "publicKey",
                                      body={"conversationId": "{{conversationId}}", "rating": 1}),
        "chat/lead.json": api_event("POST", "/api/v1/chat/lead", "publicKey", idempotency_key="7f0c2a4e-lead-0001",
                                    body={"conversationId": "{{conversationId}}", "name": "John Doe",
                                          "email": "john@example.com", "phone": "+1234567890"}),
        "chat/handoff.json": api_event("POST", "/api/v1/chat/handoff", "publicKey",
                                       body={"conversationId": "{{conversationId}}", "reason": "Wants a person"}),
        "chat/config.json": api_event("GET", "/api/v1/chat/config", "publicKey"),
        "knowledge/list.json": api_event("GET", "/api/v1/knowledge", "secretKey", query={"limit": "1"}),
        "knowledge/add-url.json": api_event("POST", "/api/v1/knowledge/url", "secretKey",
                                            body={"url": "https://example.com/docs", "syncFrequency": "daily"}),
        "knowledge/add-qa.json": api_event("POST", "/api/v1/knowledge/qa", "secretKey", idempotency_key="7f0c2a4e-qa-0001",
                                           body={"question": "What are your hours?",
                                                 "answer": "We are open Monday-Friday, 9am-5pm EST."}),
        "knowledge/get.json": api_event("GET", "/api/v1/knowledge/{sourceId}", "secretKey",
                                        {"sourceId": "{{sourceId}}"}),
        "knowledge/recrawl.json": api_event("POST", "/api/v1/knowledge/{sourceId}/recrawl", "secretKey",
                                            {"sourceId": "{{urlSourceId}}"}),
        "knowledge/delete.json": api_event("DELETE", "/api/v1/knowledge/{sourceId}", "secretKey",
                                           {"sourceId": "{{sourceId}}"}),
        "conversations/list.json": api_event("GET", "/api/v1/conversations", "secretKey",
                                             query={"limit": "1", "offset": "0", "status": "active"}),
        "conversations/get.json": api_event("GET", "/api/v1/conversations/{id}", "secretKey",
                                            {"id": "{{conversationId}}"}),
        "conversations/delete.json": api_event("DELETE", "/api/v1/conversations/{id}", "secretKey",
                                               {"id": "{{conversationId}}"}),
        "conversations/visitor-export.json": api_event("GET", "/api/v1/visitors/{visitorId}/export", "secretKey",
                                                       {"visitorId": "visitor_abc"}),
        "conversations/visitor-erase.json": api_event("DELETE", "/api/v1/visitors/{visitorId}", "secretKey",
                                                      {"visitorId": "visitor_abc"}),
        "leads/list.json": api_event("GET", "/api/v1/leads", "secretKey", query={"search": "john", "limit": "20"}),
        "leads/delete.json": api_event("DELETE", "/api/v1/leads/{id}", "secretKey", {"id": "{{leadId}}"}),
        "analytics/overview.json": api_event("GET", "/api/v1/analytics", "secretKey", query={"period": "30d"}),
        "analytics/gaps.json": api_event("GET", "/api/v1/analytics/gaps", "secretKey", query={"period": "30d"}),
        "analytics/ratings.json": api_event("GET", "/api/v1/analytics/ratings", "secretKey", query={"period": "7d"}),
        "projects/list-webhooks.json": api_event("GET", f"{P}/webhooks", "secretKey", PP, query={"limit": "1"}),
        "projects/create-webhook.json": api_event("POST", f"{P}/webhooks", "secretKey", PP,
                                                  idempotency_key="7f0c2a4e-webhook-0001", body={
            "url": "{{webhookUrl}}", "events": ["message.created", "lead.captured"], "description": "CRM integration"}),
        "projects/update-webhook.json": api_event("PATCH", f"{P}/webhooks/{{webhookId}}", "secretKey", WH,
                                                  idempotency_key="7f0c2a4e-webhook-patch-0001",
                                                  body={"is_active": True}),
        "projects/test-webhook.json": api_event("POST", f"{P}/webhooks/{{webhookId}}/test", "secretKey", WH),
        "projects/list-deliveries.json": api_event("GET", f"{P}/webhooks/{{webhookId}}/deliveries", "secretKey", WH,
                                                   query={"limit": "20"}),
        "projects/redeliver.json": api_event("POST", f"{P}/webhooks/{{webhookId}}/deliveries/{{deliveryId}}/redeliver",
                                             "secretKey", {**WH, "deliveryId": "{{deliveryId}}"}),
        "projects/delete-webhook.json": api_event("DELETE", f"{P}/webhooks/{{webhookId}}", "secretKey", WH),
        "projects/branding.json": api_event("PATCH", f"{P}/branding", "secretKey", PP, body={
            "white_label": True, "custom_logo": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1Pe"
                                              "AAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC",
            "custom_domain": "chat.example.com"}),
        "projects/subdomain.json": api_event("PATCH", f"{P}/subdomain", "secretKey", PP,
                                             body={"subdomain": "my-client-site"}),
        "projects/verify-domain.json": api_event("POST", f"{P}/verify-domain", "secretKey", PP),
        "projects/get-settings.json": api_event("GET", f"{P}/settings", "secretKey", PP),
        "projects/update-settings.json": api_event("PATCH", f"{P}/settings", "secretKey", PP, body={
            "allowed_origins": ["https://www.example.com", "https://*.example.com"]}),
        "projects/identity-secret.json": api_event("POST", f"{P}/identity-secret", "secretKey", PP),
        "projects/require-identity.json": api_event("PATCH", f"{P}/settings", "secretKey", PP,
                                                    body={"require_identity": True}),
        # the widget on an allowed page (update-settings.json), for a visitor the customer's server vouched
        # for: visitorHash = hex(HMAC-SHA256(identity secret, visitorId))
        "chat/chat-verified-visitor.json": api_event("POST", "/api/v1/chat", "publicKey", origin="https://help.example.com",
                                                     body={"message": "Where is my order?", "visitorId": "visitor_abc",
                                                           "visitorHash": "{{visitorHash}}"}),
        "crawl_worker/crawl.json": sqs_event([{"jobId": "{{jobId}}", "projectId": "{{projectId}}",
                                               "sourceId": "{{urlSourceId}}"}], "botplot-CrawlQueue"),
        "webhook_worker/outbox-insert.json": stream_event([{
            "eventId": {"S": "{{eventId}}"}, "projectId": {"S": "{{projectId}}"}, "event": {"S": "lead.captured"},
            "payload": {"S": "{{payload}}"}, "expiresAt": {"N": "1771410600"}}], "botplot-outbox"),
        "webhook_worker/delivery.json": sqs_event([{"kind": "delivery", "deliveryId": "{{deliveryId}}",
                                                    "webhookId": "{{webhookId}}", "projectId": "{{projectId}}",
                                                    "manual": False}], "botplot-WebhookQueue"),
        "sync_scheduler/daily.json": {"frequency": "daily"},
        "sync_scheduler/weekly.json": {"frequency": "weekly"},
        "idle_closer/scheduled.json": {},
    }


def render(event: dict) -> str:
    """An event file's text, exactly as committed under ``events/``."""
    return json.dumps(event, indent=2) + "\n"


def main() -> int:
    for name, event in events().items():
        path = EVENTS / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(event))
    print(f"wrote {len(events())} events under {EVENTS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
