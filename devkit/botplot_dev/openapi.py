"""The OpenAPI 3.1 document of the whole public API, generated from the functions' apps.

``make openapi`` writes ``openapi.yaml``; ``tests/unit/test_openapi.py`` fails when the committed
file differs from what the apps generate, or when a route, method or field of the reference is
missing from it.
"""

from __future__ import annotations

import sys

import yaml
from fastapi.openapi.utils import get_openapi

from botplot_dev import ROOT
from botplot_dev import template as tpl
from botplot_dev.lambda_runtime import load_module

from botplot.services.idempotency import KEY_PATTERN

PUBLIC_ROUTES = "/api/v1/chat"
RATE_HEADERS = {
    name: {"description": description, "schema": {"type": "integer"}}
    for name, description in (("X-RateLimit-Limit", "Calls allowed this calendar month (UTC)"),
                              ("X-RateLimit-Remaining", "Calls left this month"),
                              ("X-RateLimit-Reset", "Epoch seconds when the count resets (next month, UTC)"))
}
#: every POST and PATCH takes it (botplot.web.idempotency)
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Run this request once: a retry with the same key and the same request within 24 hours "
                   "replays the first answer (status and body, with Idempotent-Replayed: true) and changes "
                   "nothing; the same key with another request is 409 IDEMPOTENCY_KEY_REUSED, and while the "
                   "first is still running 409 IDEMPOTENCY_IN_PROGRESS. Keys are scoped to the project, the "
                   "method and the route. A request refused by validation (400) or the quota (429) is not "
                   "stored. 1-255 printable ASCII characters without spaces (a UUID): otherwise 400 "
                   "INVALID_IDEMPOTENCY_KEY.",
    "schema": {"type": "string", "pattern": KEY_PATTERN,
               "minLength": 1, "maxLength": 255},
}
REPLAYED_HEADER = {"description": "true when the answer is the stored answer of an earlier request with the same "
                                  "Idempotency-Key", "schema": {"type": "string", "enum": ["true"]}}
RATE_AND_REPLAYED = {**RATE_HEADERS, "Idempotent-Replayed": REPLAYED_HEADER}
IDEMPOTENCY_CONFLICT = ("A conflict: IDEMPOTENCY_KEY_REUSED (the Idempotency-Key was used with another request), "
                        "IDEMPOTENCY_IN_PROGRESS (a request with it is still running), or the route's own codes "
                        "(such as WEBHOOK_INACTIVE or SUBDOMAIN_TAKEN)")
EVENT_NAMES = ["conversation.started", "conversation.ended", "message.created", "lead.captured",
               "handoff.requested", "rating.received"]
WEBHOOK_PAYLOAD = {
    "type": "object",
    "description": "The exact bytes signed: X-BotPlot-Signature is sha256=<hex HMAC-SHA256(secret, body)>",
    "required": ["event", "project_id", "timestamp", "data"],
    "properties": {
        "event": {"type": "string", "enum": EVENT_NAMES + ["ping"]},
        "project_id": {"type": "string"},
        "timestamp": {"type": "string", "examples": ["2026-02-15T10:30:00.000Z"]},
        "data": {"type": "object", "description": "message.created carries conversation_id, message_id, role, "
                                                  "content, confidence_score and created_at",
                 "properties": {"conversation_id": {"type": "string"}, "message_id": {"type": "string"},
                                "role": {"type": "string"}, "content": {"type": "string"},
                                "confidence_score": {"type": ["number", "null"]},
                                "created_at": {"type": "string"}}},
    },
}


def _merge(into: dict, part: dict) -> None:
    for path, operations in part.get("paths", {}).items():
        into["paths"].setdefault(path, {}).update(operations)
    for name, schema in part.get("components", {}).get("schemas", {}).items():
        into["components"]["schemas"].setdefault(name, schema)


def _idempotent(operation: dict) -> None:
    """A POST or PATCH: the Idempotency-Key parameter and its 409s."""
    operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    conflict = operation["responses"].setdefault(
        "409", {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}})
    conflict["description"] = IDEMPOTENCY_CONFLICT


def build() -> dict:
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "BotPlot API", "version": "1.0.0",
                 "description": "Integrate your AI chatbot into any application. Public keys (pk_) reach the chat "
                                "routes; secret keys (sk_) reach everything. Errors are always "
                                '{"error": "...", "code": "UPPER_SNAKE"}.'},
        "servers": [{"url": "https://botplot.app"}, {"url": "http://127.0.0.1:3000", "description": "make run"}],
        "paths": {},
        "components": {"schemas": {"WebhookPayload": WEBHOOK_PAYLOAD}, "securitySchemes": {
            "publicKey": {"type": "http", "scheme": "bearer", "description": "pk_… (chat routes)"},
            "secretKey": {"type": "http", "scheme": "bearer", "description": "sk_… (every route)"},
        }},
        "webhooks": {name: {"post": {
            "summary": f"{name} delivery",
            "parameters": [{"name": h, "in": "header", "required": True, "schema": {"type": "string"}}
                           for h in ("X-BotPlot-Signature", "X-BotPlot-Event", "X-BotPlot-Delivery")],
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookPayload"}}}},
            "responses": {"2XX": {"description": "Delivered; anything else is retried for about a day"}},
        }} for name in EVENT_NAMES},
    }
    functions = sorted({route.function for route in tpl.routes()})
    for function in functions:
        app = load_module(function).app
        _merge(doc, get_openapi(title=app.title, version="1.0.0", openapi_version="3.1.0", routes=app.routes))
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            operation["responses"].pop("422", None)  # validation errors are 400 here, never 422
            if method in ("post", "patch"):
                _idempotent(operation)
            public = path.startswith(PUBLIC_ROUTES)
            operation["security"] = [{"publicKey": []}, {"secretKey": []}] if public else [{"secretKey": []}]
            for status, response in operation["responses"].items():
                if status.startswith("2") or status in ("400", "404", "429"):
                    response["headers"] = RATE_HEADERS
                if method in ("post", "patch") and (status.startswith("2") or status in ("400", "404")):
                    response["headers"] = RATE_AND_REPLAYED  # a stored answer may be replayed
    doc["components"]["schemas"].pop("HTTPValidationError", None)
    doc["components"]["schemas"].pop("ValidationError", None)
    doc["paths"] = dict(sorted(doc["paths"].items()))
    doc["components"]["schemas"] = dict(sorted(doc["components"]["schemas"].items()))
    return doc


def render() -> str:
    return yaml.safe_dump(build(), sort_keys=False, allow_unicode=True, width=120)


def main() -> int:
    target = ROOT / "openapi.yaml"
    target.write_text(render())
    print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
