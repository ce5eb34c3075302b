"""Verified visitor identity over HTTP against the local stack: the identity secret (shown once,
rotated, never logged), require_identity, and the chat and widget routes refusing a missing or
wrong visitorHash so that nobody can write into another visitor's conversation by naming it."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.support.waiting import eventually


def visitor_hash(secret: str, visitor_id: str) -> str:
    """What the customer's server computes, as the README shows it."""
    return hmac.new(secret.encode(), visitor_id.encode(), hashlib.sha256).hexdigest()


def base(owner):
    return f"/api/v1/projects/{owner['projectId']}"


def new_secret(stack, owner) -> dict:
    with stack.client(owner["secretKey"]) as c:
        r = c.post(f"{base(owner)}/identity-secret")
    assert r.status_code == 200, r.text
    return r.json()


def chat(stack, owner, body, path="/api/v1/chat", key=None):
    with stack.client(key or owner["publicKey"]) as c:
        return c.post(path, json={"message": "Hello", **body} if path.endswith(("chat", "stream")) else body)


@pytest.fixture
def owner(stack):
    return stack.new_project("enterprise", "Verified visitors")


@pytest.fixture
def required(stack, owner):
    """A project that requires identity, in force on the chat path; its secret."""
    secret = new_secret(stack, owner)["identity_secret"]
    with stack.client(owner["secretKey"]) as c:
        r = c.patch(f"{base(owner)}/settings", json={"require_identity": True})
    assert r.status_code == 200 and r.json()["require_identity"] is True, r.text
    assert eventually(lambda: chat(stack, owner, {}).status_code == 401)
    return secret


def test_the_secret_is_shown_once_rotates_and_never_appears_again(stack, owner):
    with stack.client(owner["secretKey"]) as c:
        before = c.get(f"{base(owner)}/settings").json()
    assert before == {"allowed_origins": [], "require_identity": False, "identity_secret_created_at": None}
    first = new_secret(stack, owner)
    assert first["identity_secret"].startswith("idsec_") and len(first["identity_secret"]) == 6 + 64
    assert first["rotated"] is False and first["created_at"].endswith("Z")
    second = new_secret(stack, owner)
    assert second["rotated"] is True and second["identity_secret"] != first["identity_secret"]
    with stack.client(owner["secretKey"]) as c:
        texts = [c.get(f"{base(owner)}/settings").text,
                 c.patch(f"{base(owner)}/settings", json={"require_identity": True}).text]
    for text in texts:
        assert first["identity_secret"] not in text and second["identity_secret"] not in text and "idsec_" not in text
    assert json.loads(texts[0])["identity_secret_created_at"] == second["created_at"]
    # the stack logs at DEBUG (conftest), so a secret logged at any level would be in its log
    log = stack.log_path.read_text()
    assert first["identity_secret"] not in log and second["identity_secret"] not in log and "idsec_" not in log


def test_identity_cannot_be_required_without_a_secret(stack, owner):
    with stack.client(owner["secretKey"]) as c:
        r = c.patch(f"{base(owner)}/settings", json={"require_identity": True, "allowed_origins": ["https://a.example"]})
        assert r.status_code == 409 and r.json()["code"] == "IDENTITY_SECRET_REQUIRED", r.text
        assert c.get(f"{base(owner)}/settings").json()["require_identity"] is False
        assert c.get(f"{base(owner)}/settings").json()["allowed_origins"] == []  # nothing changed
        for bad in (None, "true", 1):
            r = c.patch(f"{base(owner)}/settings", json={"require_identity": bad})
            assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR", bad


def test_the_secret_route_is_the_owners_only(stack, owner):
    other = stack.new_project("enterprise", "Someone else")
    with stack.client(other["secretKey"]) as c:
        assert c.post(f"{base(owner)}/identity-secret").status_code == 404
    with stack.client(owner["publicKey"]) as c:
        assert c.post(f"{base(owner)}/identity-secret").json()["code"] == "SECRET_KEY_REQUIRED"
    with stack.client(owner["secretKey"]) as c:
        assert c.get(f"{base(owner)}/settings").json()["identity_secret_created_at"] is None


def test_a_missing_or_wrong_hash_is_401_and_does_not_count(stack, owner, required):
    good = chat(stack, owner, {"visitorId": "user-1", "visitorHash": visitor_hash(required, "user-1")})
    assert good.status_code == 200, good.text
    remaining = int(good.headers["x-ratelimit-remaining"])
    for body in ({}, {"visitorId": "user-1"}, {"visitorHash": visitor_hash(required, "user-1")},
                 {"visitorId": "user-1", "visitorHash": "0" * 64},
                 {"visitorId": "user-2", "visitorHash": visitor_hash(required, "user-1")},
                 {"visitorId": "user-1", "visitorHash": visitor_hash("idsec_guess", "user-1")},
                 {"visitorId": "user-1", "visitorHash": visitor_hash(required, "user-1")[:-1]},
                 {"visitorId": 1, "visitorHash": visitor_hash(required, "1")}):
        r = chat(stack, owner, body)
        assert r.status_code == 401 and r.json()["code"] == "INVALID_VISITOR_HASH", (body, r.text)
    r = chat(stack, owner, {"visitorId": "user-1"}, path="/api/v1/chat/stream")
    assert r.status_code == 401 and r.json()["code"] == "INVALID_VISITOR_HASH"
    upper = chat(stack, owner, {"visitorId": "user-1", "visitorHash": visitor_hash(required, "user-1").upper()})
    assert upper.status_code == 200
    assert int(upper.headers["x-ratelimit-remaining"]) == remaining - 1  # the nine 401s did not count


def test_a_body_that_does_not_parse_is_still_400_and_counts(stack, owner, required):
    with stack.client(owner["publicKey"]) as c:
        r = c.post("/api/v1/chat", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_JSON" and "x-ratelimit-remaining" in r.headers


def test_nobody_can_write_into_another_visitors_conversation(stack, owner, required):
    alice = {"visitorId": "alice", "visitorHash": visitor_hash(required, "alice")}
    mallory = {"visitorId": "mallory", "visitorHash": visitor_hash(required, "mallory")}
    started = chat(stack, owner, alice).json()
    conversation = started["conversationId"]
    attempts = [("/api/v1/chat", {"message": "Hi", "conversationId": conversation}),
                ("/api/v1/chat/stream", {"message": "Hi", "conversationId": conversation}),
                ("/api/v1/chat/rating", {"conversationId": conversation, "messageId": started["messageId"], "rating": -1}),
                ("/api/v1/chat/handoff", {"conversationId": conversation}),
                ("/api/v1/chat/lead", {"conversationId": conversation, "email": "m@evil.example"})]
    for path, body in attempts:
        r = chat(stack, owner, {**body, **mallory}, path=path)
        assert r.status_code == 404 and r.json()["code"] == "CONVERSATION_NOT_FOUND", (path, r.text)
        r = chat(stack, owner, {**body, "visitorId": "alice"}, path=path)  # naming her is not enough
        assert r.status_code == 401, path
    with stack.client(owner["secretKey"]) as c:
        stored = c.get(f"/api/v1/conversations/{conversation}").json()["conversation"]
        assert len(stored["messages"]) == 2 and stored["status"] == "active"
        assert c.get("/api/v1/leads").json()["total"] == 0
    # alice herself may continue, rate, leave her details and ask for a person
    assert chat(stack, owner, {**alice, "conversationId": conversation}).status_code == 200
    assert chat(stack, owner, {**alice, "conversationId": conversation, "rating": 1},
                path="/api/v1/chat/rating").status_code == 200
    lead = chat(stack, owner, {**alice, "conversationId": conversation, "email": "alice@example.com"},
                path="/api/v1/chat/lead")
    assert lead.status_code == 200
    assert chat(stack, owner, {**alice, "conversationId": conversation}, path="/api/v1/chat/handoff").status_code == 200
    with stack.client(owner["secretKey"]) as c:
        leads = c.get("/api/v1/leads").json()["leads"]
    assert [(l["email"], l["visitorId"]) for l in leads] == [("alice@example.com", "alice")]


def test_the_secret_key_and_the_config_route_need_no_visitor_hash(stack, owner, required):
    assert chat(stack, owner, {"visitorId": "server-side"}, key=owner["secretKey"]).status_code == 200
    with stack.client(owner["publicKey"]) as c:
        assert c.get("/api/v1/chat/config").status_code == 200  # branding only, no visitor data


def test_rotation_invalidates_the_old_secret(stack, owner, required):
    old = {"visitorId": "user-9", "visitorHash": visitor_hash(required, "user-9")}
    assert chat(stack, owner, old).status_code == 200
    rotated = new_secret(stack, owner)["identity_secret"]
    assert eventually(lambda: chat(stack, owner, old).status_code == 401)
    assert chat(stack, owner, {"visitorId": "user-9", "visitorHash": visitor_hash(rotated, "user-9")}).status_code == 200
    assert rotated not in stack.log_path.read_text()


def test_without_require_identity_a_hash_is_not_checked_but_must_be_well_formed(stack, owner):
    new_secret(stack, owner)
    assert chat(stack, owner, {"visitorId": "v", "visitorHash": "ab" * 32}).status_code == 200
    r = chat(stack, owner, {"visitorId": "v", "visitorHash": "not-hex"})
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR" and "visitorHash" in r.json()["error"]


def test_an_idempotency_key_does_not_bypass_the_origin_or_the_visitor_checks(stack, owner, required):
    with stack.client(owner["secretKey"]) as c:
        assert c.patch(f"{base(owner)}/settings", json={"allowed_origins": ["https://app.example.com"]}).status_code == 200
    with stack.client(owner["publicKey"]) as c:
        assert eventually(lambda: c.post("/api/v1/chat", json={"message": "Hi"}, headers={
            "Origin": "https://evil.example", "Idempotency-Key": "k-origin"}).status_code == 403)
        r = c.post("/api/v1/chat", json={"message": "Hi", "visitorId": "alice"},
                   headers={"Origin": "https://app.example.com", "Idempotency-Key": "k-visitor"})
        assert r.status_code == 401 and r.json()["code"] == "INVALID_VISITOR_HASH"
        r = c.post("/api/v1/chat", json={"message": "Hi", "visitorId": "alice",
                                         "visitorHash": visitor_hash(required, "alice")},
                   headers={"Origin": "https://app.example.com", "Idempotency-Key": "k-visitor"})
        assert r.status_code == 200, r.text
