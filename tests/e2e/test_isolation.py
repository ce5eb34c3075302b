"""Tenant isolation: every route of openapi.yaml called about project A's records with another
project's secret key, with A's public key where a secret key is required, without a key and with
malformed headers. Statuses are as documented and nothing of A's ever reaches anyone else."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from botplot_dev.sample_events import events
from tests.support.receivers import PythonReceiver

ROOT = Path(__file__).resolve().parents[2]
DOC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
OPERATIONS = [(method.upper(), path) for path, ops in DOC["paths"].items() for method in ops]
BODIES: dict[tuple[str, str], str] = {}
for _event in events().values():  # a route's first sample event (later ones build on earlier answers)
    if "httpMethod" in _event:
        BODIES.setdefault((_event["httpMethod"], _event["resource"]), _event["body"])


@pytest.fixture(scope="module")
def tenants(stack):
    """Project A with one record of every kind; project B, a stranger with a secret key."""
    a, b = stack.new_project("enterprise", "Tenant A"), stack.new_project("enterprise", "Tenant B")
    receiver = PythonReceiver().start()
    with stack.client(a["publicKey"]) as c:
        chat = c.post("/api/v1/chat", json={"message": "Tenant A secret question", "visitorId": "a-visitor"}).json()
        lead = c.post("/api/v1/chat/lead", json={"email": "tenant-a@example.com", "name": "Alice A"}).json()
    with stack.client(a["secretKey"]) as c:
        source = c.post("/api/v1/knowledge/qa", json={"question": "A-only question?", "answer": "A-only answer."}).json()
        hook = c.post(f"/api/v1/projects/{a['projectId']}/webhooks",
                      json={"url": receiver.url, "events": ["lead.captured"]}).json()["webhook"]
        receiver.secret = hook["secret"]
        delivery = c.post(f"/api/v1/projects/{a['projectId']}/webhooks/{hook['id']}/test").json()["delivery"]
    ids = {"projectId": a["projectId"], "conversationId": chat["conversationId"], "id": chat["conversationId"],
           "sourceId": source["sourceId"], "urlSourceId": source["sourceId"], "leadId": lead["leadId"],
           "webhookId": hook["id"], "deliveryId": delivery["deliveryId"], "webhookUrl": receiver.url}
    secrets = [a["secretKey"], a["publicKey"], hook["secret"], chat["conversationId"], source["sourceId"],
               lead["leadId"], hook["id"], delivery["deliveryId"], "tenant-a@example.com", "Tenant A secret question",
               "A-only answer", receiver.url]
    yield {"a": a, "b": b, "ids": ids, "secrets": secrets}
    receiver.stop()


def request(stack, method, path, ids, key=None, header=None):
    url = path
    for name in ("projectId", "id", "sourceId", "webhookId", "deliveryId"):
        url = url.replace("{" + name + "}", ids[name] if name != "id" else
                          (ids["leadId"] if path.startswith("/api/v1/leads") else ids["id"]))
    body = BODIES.get((method, path))
    if body:
        for name, value in ids.items():
            body = body.replace("{{" + name + "}}", value)
    headers = {"Authorization": header if header is not None else f"Bearer {key}"} if (key or header) else {}
    with stack.client() as c:
        return c.request(method, url, content=body, headers={**headers, "Content-Type": "application/json"})


def public_route(path: str) -> bool:
    return path.startswith("/api/v1/chat")


@pytest.mark.parametrize("method, path", OPERATIONS, ids=lambda x: str(x))
def test_a_strangers_secret_key_never_sees_a_tenants_records(stack, tenants, method, path):
    response = request(stack, method, path, tenants["ids"], key=tenants["b"]["secretKey"])
    for secret in tenants["secrets"]:
        assert secret not in response.text, (method, path, secret)
    if "{" in path or (public_route(path) and path not in ("/api/v1/chat", "/api/v1/chat/stream", "/api/v1/chat/lead",
                                                           "/api/v1/chat/config")):
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert set(response.json()) == {"error", "code"}
    else:
        assert response.status_code in (200, 404), (method, path, response.status_code, response.text)


@pytest.mark.parametrize("method, path", OPERATIONS, ids=lambda x: str(x))
def test_a_public_key_reaches_only_the_chat_routes(stack, tenants, method, path):
    response = request(stack, method, path, tenants["ids"], key=tenants["a"]["publicKey"])
    if public_route(path):
        assert response.status_code < 400, (method, path, response.text)
    else:
        assert response.status_code == 403 and response.json()["code"] == "SECRET_KEY_REQUIRED"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer sk_short", "Bearer sk_%%%%",
                                    "bearer sk_" + "x" * 40, "Token sk_" + "x" * 40, "Bearer pk_" + "x" * 40 + " extra"])
@pytest.mark.parametrize("method, path", OPERATIONS[::3], ids=lambda x: str(x))
def test_missing_or_malformed_keys_are_401(stack, tenants, method, path, header):
    response = request(stack, method, path, tenants["ids"], header=header)
    assert response.status_code == 401, (header, response.text)
    assert set(response.json()) == {"error", "code"}
    assert "X-RateLimit-Limit" not in response.headers


def test_the_tenant_still_sees_its_own_records(stack, tenants):
    with stack.client(tenants["a"]["secretKey"]) as c:
        assert c.get(f"/api/v1/conversations/{tenants['ids']['conversationId']}").status_code == 200
        assert c.get(f"/api/v1/knowledge/{tenants['ids']['sourceId']}").status_code == 200
        leads = c.get("/api/v1/leads?limit=100").json()["leads"]
        assert tenants["ids"]["leadId"] in [lead["id"] for lead in leads]
