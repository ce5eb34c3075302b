"""Idempotency-Key on POST and PATCH, through the public API of the local stack.

A retry with the same key and body replays the first answer (``Idempotent-Replayed: true``) and
changes nothing: no second conversation, message, lead, source or webhook, no second quota count.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from boto3.dynamodb.conditions import Key

REPLAYED = "Idempotent-Replayed"


def key() -> dict:
    return {"Idempotency-Key": str(uuid.uuid4())}


def remaining(response: httpx.Response) -> int:
    return int(response.headers["X-RateLimit-Remaining"])


def conversations(stack, project) -> list[dict]:
    return stack.table("CONVERSATIONS").query(
        KeyConditionExpression=Key("projectId").eq(project["projectId"]))["Items"]


def messages(stack, conversation_id: str) -> list[dict]:
    return stack.table("MESSAGES").query(KeyConditionExpression=Key("conversationId").eq(conversation_id))["Items"]


@pytest.fixture
def fresh(stack):
    """A project of its own, so that counts of what exists are exact."""
    return stack.new_project("enterprise", "Idempotency")


def test_a_retry_replays_the_answer_and_writes_nothing(stack, fresh):
    headers = key()
    with stack.client(fresh["publicKey"]) as c:
        first = c.post("/api/v1/chat", json={"message": "Hello there", "visitorId": "v1"}, headers=headers)
        second = c.post("/api/v1/chat", json={"visitorId": "v1", "message": "Hello there"}, headers=headers)
    assert first.status_code == 200 and REPLAYED not in first.headers
    assert second.status_code == 200 and second.headers[REPLAYED] == "true"
    assert second.json() == first.json()
    assert second.headers["content-type"] == first.headers["content-type"]
    assert remaining(second) == remaining(first)  # the replay did not count
    assert len(conversations(stack, fresh)) == 1
    assert len(messages(stack, first.json()["conversationId"])) == 2  # the question and the answer, once


def test_the_same_key_with_another_body_is_409_and_counts_nothing(stack, fresh):
    headers = key()
    with stack.client(fresh["publicKey"]) as c:
        first = c.post("/api/v1/chat", json={"message": "Hello"}, headers=headers)
        other = c.post("/api/v1/chat", json={"message": "Something else"}, headers=headers)
    assert first.status_code == 200
    assert other.status_code == 409 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert remaining(other) == remaining(first)
    assert len(conversations(stack, fresh)) == 1


def test_keys_are_scoped_to_the_project_and_the_route(stack, fresh, project):
    headers = key()
    with stack.client(fresh["secretKey"]) as mine, stack.client(project["secretKey"]) as theirs:
        a = mine.post("/api/v1/knowledge/qa", json={"question": "Q scoped?", "answer": "A."}, headers=headers)
        b = theirs.post("/api/v1/knowledge/qa", json={"question": "Q scoped?", "answer": "A."}, headers=headers)
        c = mine.post("/api/v1/chat/lead", json={"email": "scope@example.com"}, headers=headers)
    assert a.status_code == b.status_code == c.status_code == 200
    assert REPLAYED not in b.headers and REPLAYED not in c.headers
    assert a.json()["sourceId"] != b.json()["sourceId"]


@pytest.mark.parametrize("route", ["chat", "qa", "lead"])
def test_parallel_duplicates_have_one_effect(stack, fresh, route):
    """Eight identical requests at once with one key: one runs; each other one replays its answer or
    is told it is still running. Exactly one conversation, source or lead exists, counted once."""
    calls = {
        "chat": (fresh["publicKey"], "/api/v1/chat", {"message": "Where is my order?", "visitorId": "racer"}),
        "qa": (fresh["secretKey"], "/api/v1/knowledge/qa", {"question": "Do you race?", "answer": "Once."}),
        "lead": (fresh["publicKey"], "/api/v1/chat/lead", {"email": "racer@example.com", "name": "Racer"}),
    }
    api_key, path, body = calls[route]
    headers = {**key(), "Authorization": f"Bearer {api_key}"}
    with stack.client() as probe:
        before = remaining(probe.get("/api/v1/chat/config", headers={"Authorization": f"Bearer {fresh['publicKey']}"}))

    def send(_):
        with httpx.Client(base_url=stack.url, timeout=60) as c:
            return c.post(path, json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, range(8)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {200, 409}, statuses
    ran = [a for a in answers if a.status_code == 200 and REPLAYED not in a.headers]
    assert len(ran) == 1
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["code"] == "IDEMPOTENCY_IN_PROGRESS"
        else:
            assert answer.json() == ran[0].json()
    with stack.client(fresh["secretKey"]) as c:
        after = c.get("/api/v1/leads")
        # one for the call that ran, one for this read: the duplicates counted nothing
        assert remaining(after) == before - 2
        if route == "chat":
            assert len(conversations(stack, fresh)) == 1
        elif route == "qa":
            qa = [s for s in c.get("/api/v1/knowledge").json()["sources"] if s["name"].startswith("Do you race?")]
            assert len(qa) == 1
        else:
            assert after.json()["total"] == 1


def test_a_streamed_answer_is_replayed_whole(stack, fresh):
    headers = key()
    body = {"message": "Tell me something", "visitorId": "streamer"}
    with stack.client(fresh["publicKey"]) as c:
        first = c.post("/api/v1/chat/stream", json=body, headers=headers)
        again = c.post("/api/v1/chat/stream", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers[REPLAYED] == "true" and again.headers["content-type"].startswith("text/event-stream")
    assert again.text == first.text and '"type":"done"' in first.text
    assert len(conversations(stack, fresh)) == 1


def test_a_request_refused_by_validation_is_not_stored(stack, fresh):
    """A corrected retry with the same key runs (the 400 was not the request's result)."""
    headers = key()
    with stack.client(fresh["publicKey"]) as c:
        bad = c.post("/api/v1/chat/lead", json={"name": "No contact"}, headers=headers)
        fixed = c.post("/api/v1/chat/lead", json={"name": "No contact", "email": "x@example.com"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["code"] == "VALIDATION_ERROR"
    assert fixed.status_code == 200 and REPLAYED not in fixed.headers


def test_an_executed_refusal_is_stored(stack, fresh):
    """A 404 from the route itself is the request's result: the retry gets it again, replayed."""
    headers = key()
    body = {"conversationId": str(uuid.uuid4()), "rating": 1}
    with stack.client(fresh["publicKey"]) as c:
        first = c.post("/api/v1/chat/rating", json=body, headers=headers)
        again = c.post("/api/v1/chat/rating", json=body, headers=headers)
    assert first.status_code == again.status_code == 404
    assert again.json() == first.json() and again.headers[REPLAYED] == "true"


def test_a_call_over_the_quota_is_not_stored(stack):
    pro = stack.new_project("pro", "Idempotency quota")  # the tests' pro plan allows 5 calls
    with stack.client(pro["publicKey"]) as c:
        for _ in range(5):
            assert c.get("/api/v1/chat/config").status_code == 200
        headers = key()
        for _ in range(2):  # not IN_PROGRESS nor a replay the second time: the claim was given back
            r = c.post("/api/v1/chat/lead", json={"email": "late@example.com"}, headers=headers)
            assert r.status_code == 429 and r.json()["code"] == "RATE_LIMIT_EXCEEDED" and REPLAYED not in r.headers


@pytest.mark.parametrize("bad_key", ["", "has space", "x" * 256, "é"])
def test_malformed_keys_are_400(stack, fresh, bad_key):
    with stack.client(fresh["publicKey"]) as c:
        r = c.post("/api/v1/chat/lead", json={"email": "k@example.com"},
                   headers={"Idempotency-Key": bad_key.encode()})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_IDEMPOTENCY_KEY"


def test_webhook_create_and_patch_are_replayed(stack, fresh):
    base = f"/api/v1/projects/{fresh['projectId']}/webhooks"
    create = {"url": "http://127.0.0.1:9/hook", "events": ["lead.captured"]}
    headers = key()
    with stack.client(fresh["secretKey"]) as c:
        first = c.post(base, json=create, headers=headers)
        again = c.post(base, json=create, headers=headers)
        assert first.status_code == 200, first.text
        assert again.headers[REPLAYED] == "true"
        shown = first.json()
        secret = shown["webhook"]["secret"]
        assert secret.startswith("whsec_")
        shown["webhook"]["secret"] = None  # shown once: the replay says null
        assert again.json() == shown and secret not in again.text
        assert len(c.get(base).json()["webhooks"]) == 1
        hook = first.json()["webhook"]["id"]
        patch_headers = key()
        changed = c.patch(f"{base}/{hook}", json={"description": "first"}, headers=patch_headers)
        c.patch(f"{base}/{hook}", json={"description": "second"})
        replayed = c.patch(f"{base}/{hook}", json={"description": "first"}, headers=patch_headers)
        assert replayed.headers[REPLAYED] == "true" and replayed.json() == changed.json()
        assert c.get(base).json()["webhooks"][0]["description"] == "second"  # the replay changed nothing


def test_a_replayed_identity_secret_is_not_shown_again(stack, fresh):
    """A secret is shown once: the replay of its creation says it was created, with null in its place,
    and rotates nothing."""
    path = f"/api/v1/projects/{fresh['projectId']}/identity-secret"
    headers = key()
    with stack.client(fresh["secretKey"]) as c:
        first = c.post(path, headers=headers)
        again = c.post(path, headers=headers)
        settings = c.get(f"/api/v1/projects/{fresh['projectId']}/settings").json()
    assert first.status_code == 200 and again.status_code == 200, (first.text, again.text)
    secret = first.json()["identity_secret"]
    assert secret.startswith("idsec_") and again.headers[REPLAYED] == "true"
    assert again.json() == {**first.json(), "identity_secret": None} and secret not in again.text
    assert settings["identity_secret_created_at"] == first.json()["created_at"]  # the replay rotated nothing
