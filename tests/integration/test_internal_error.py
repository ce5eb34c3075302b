"""An unexpected failure is `500 INTERNAL_ERROR` with no detail; the traceback goes to the logs.

The fault is real and outside our code: DynamoDB refuses the leads query (AccessDenied, as a
missing IAM permission would), injected in front of moto with botocore's before-send hook."""

from __future__ import annotations

import json

import pytest
from botocore.awsrequest import AWSResponse


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


@pytest.fixture
def dynamodb_denies_queries(moto_endpoint):
    from botplot.db.base import connection
    from botplot.db.registry import MODELS_BY_LOGICAL_ID

    denied = []

    def deny(request, **_):
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        if not target.endswith(".Query"):
            return None
        denied.append(target)
        body = json.dumps({"__type": "com.amazon.coral.service#AccessDeniedException",
                           "message": "User is not authorized to perform: dynamodb:Query"}).encode()
        return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "AccessDeniedException"}, _Raw(body))

    clients = {id(c): c for c in [m._get_connection().connection.client for m in MODELS_BY_LOGICAL_ID.values()]
               + [connection().client]}
    for c in clients.values():
        c.meta.events.register_first("before-send.dynamodb", deny)
    yield denied
    for c in clients.values():
        c.meta.events.unregister("before-send.dynamodb", deny)


def test_500_internal_error_says_nothing_and_logs_the_traceback(moto_endpoint, dynamodb_denies_queries, caplog):
    from starlette.testclient import TestClient

    from botplot.services.projects import create_project
    from botplot_dev.router import TemplateRouter

    _, keys = create_project("internal error", "enterprise")
    client = TestClient(TemplateRouter(), raise_server_exceptions=False)
    caplog.clear()
    r = client.get("/api/v1/leads", headers={"Authorization": f"Bearer {keys.secret_key}"})
    assert dynamodb_denies_queries, "the fault was never injected"
    assert r.status_code == 500
    assert r.json() == {"error": "Something went wrong on our end", "code": "INTERNAL_ERROR"}
    assert "AccessDenied" not in r.text and "dynamodb" not in r.text.lower()
    (logged,) = [record for record in caplog.records if record.name == "botplot" and record.levelname == "ERROR"]
    assert logged.exc_info and "AccessDeniedException" in str(logged.exc_info[1])
    assert "Traceback" in caplog.text and "AccessDeniedException" in caplog.text
    # the call was authenticated and counted before it failed: the rate-limit headers still come back
    assert r.headers["X-RateLimit-Limit"] == "10000"
