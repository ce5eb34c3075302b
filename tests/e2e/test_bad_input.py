"""Bad input an outsider sends: bounded parameters, authentication before the body, every
unparsable body the same INVALID_JSON, validator messages that say what is wrong, Allow on 405."""

from __future__ import annotations

import pytest

JSON = {"Content-Type": "application/json"}
UNPARSABLE = {
    "broken syntax": b'{"message": "hi"',
    "10,000-deep nesting": b"[" * 10_000 + b"]" * 10_000,
    "an integer of 5,000 digits": b'{"message": "hi", "visitorId": ' + b"9" * 5000 + b"}",
    "invalid UTF-8": b'{"message": "\xff\xfe hi"}',
}


def remaining(response) -> int:
    return int(response.headers["X-RateLimit-Remaining"])


@pytest.mark.parametrize("offset", ["100001", "9223372036854775808", "99999999999999999999999999"])
def test_chunk_offsets_are_bounded(stack, project, offset):
    with stack.client(project["secretKey"]) as c:
        source_id = c.post("/api/v1/knowledge/qa", json={"question": "Window?", "answer": "Inside."}).json()["sourceId"]
        r = c.get(f"/api/v1/knowledge/{source_id}?offset={offset}")
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "VALIDATION_ERROR" and "offset" in r.json()["error"]
        # pages beyond OpenSearch's 10,000-hit window are answered (the index pages with search_after)
        for query in ("offset=9000&limit=1000", "offset=10000&limit=1000", "offset=100000&limit=1000"):
            assert c.get(f"/api/v1/knowledge/{source_id}?{query}").json()["chunks"] == [], query


@pytest.mark.parametrize("route", ["/api/v1/knowledge/qa", "/api/v1/chat", "/api/v1/chat/lead"])
def test_a_missing_key_is_401_whatever_the_body(stack, route):
    with stack.client() as c:
        r = c.post(route, content=b"{bad", headers=JSON)
    assert r.status_code == 401 and r.json()["code"] == "MISSING_API_KEY", r.text
    with stack.client("sk_" + "x" * 40) as c:
        r = c.post(route, content=b"{bad", headers=JSON)
    assert r.status_code == 401 and r.json()["code"] == "INVALID_API_KEY", r.text


@pytest.mark.parametrize("body", list(UNPARSABLE.values()), ids=list(UNPARSABLE))
def test_every_unparsable_body_is_invalid_json(stack, project, body):
    for route, key in (("/api/v1/chat", "publicKey"), ("/api/v1/knowledge/qa", "secretKey")):
        with stack.client(project[key]) as c:
            r = c.post(route, content=body, headers=JSON)
        assert r.status_code == 400, (route, r.text)
        assert r.json() == {"error": "Request body is not valid JSON", "code": "INVALID_JSON"}


def test_an_unparsable_body_is_counted_like_an_invalid_one(stack):
    p = stack.new_project("pro")  # 5 calls a month on the test stack
    with stack.client(p["publicKey"]) as c:
        invalid = c.post("/api/v1/chat", json={"message": ""})
        unparsable = c.post("/api/v1/chat", content=b"{bad", headers=JSON)
        stream_unparsable = c.post("/api/v1/chat/stream", content=b"{bad", headers=JSON)
    assert [r.status_code for r in (invalid, unparsable, stream_unparsable)] == [400, 400, 400]
    assert unparsable.json()["code"] == "INVALID_JSON"
    assert [remaining(r) for r in (invalid, unparsable, stream_unparsable)] == [4, 3, 2]
    assert unparsable.headers["X-RateLimit-Limit"] == "5" and "X-RateLimit-Reset" in unparsable.headers


def test_a_lead_without_contact_says_what_is_missing(stack, project):
    with stack.client(project["publicKey"]) as c:
        for body in ({}, {"name": "Ada"}, {"email": "  ", "phone": ""}):
            r = c.post("/api/v1/chat/lead", json=body)
            assert r.status_code == 400, r.text
            assert r.json() == {"error": "An email or a phone number is required", "code": "VALIDATION_ERROR"}
        r = c.post("/api/v1/chat/lead", json=["not", "an", "object"])
        assert r.status_code == 400 and r.json()["code"] == "INVALID_BODY"
        assert c.post("/api/v1/chat/lead", json={"phone": "+1 (555) 123-4567"}).status_code == 200
        r = c.post("/api/v1/chat/lead", json={"phone": "12345"})
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR" and "'phone'" in r.json()["error"]


@pytest.mark.parametrize("method, path, allowed", [
    ("PUT", "/api/v1/knowledge/6ba7b810-9dad-11d1-80b4-00c04fd430c8", "DELETE, GET"),
    ("GET", "/api/v1/chat", "OPTIONS, POST"),
    ("DELETE", "/api/v1/projects/p/webhooks", "GET, POST"),
])
def test_every_405_names_the_allowed_methods(stack, project, method, path, allowed):
    with stack.client(project["secretKey"]) as c:
        r = c.request(method, path)
    assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED"
    assert r.headers["Allow"] == allowed

