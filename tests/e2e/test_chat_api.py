"""The chat routes over HTTP against the local stack, as the reference's curl examples use them."""

from __future__ import annotations


import httpx
import pytest
from boto3.dynamodb.conditions import Key
from httpx_sse import connect_sse

from botplot import clock
from tests.support.waiting import eventually


def chat(stack, key, **body):
    with stack.client(key) as c:
        return c.post("/api/v1/chat", json=body)


def messages_of(stack, conversation_id):
    items = stack.table("MESSAGES").query(KeyConditionExpression=Key("conversationId").eq(conversation_id))["Items"]
    return sorted(items, key=lambda m: m["messageId"])


def test_reference_chat_example_creates_a_conversation(stack, project):
    # curl -X POST ".../api/v1/chat" -H "Authorization: Bearer pk_..." -d '{"message": "What is your return policy?"}'
    r = chat(stack, project["publicKey"], message="What is your return policy?")
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"response", "conversationId", "messageId", "sources"}
    assert body["response"].strip() and isinstance(body["sources"], int)
    stored = messages_of(stack, body["conversationId"])
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", "What is your return policy?"), ("assistant", body["response"])]
    assert stored[1]["messageId"] == body["messageId"]


def test_offline_answer_says_honestly_that_nothing_is_known(stack):
    fresh = stack.new_project("enterprise", "Empty knowledge")
    body = chat(stack, fresh["publicKey"], message="What is your return policy?").json()
    assert "don't have any information" in body["response"]
    assert body["sources"] == 0


def test_conversation_continues_and_keeps_the_visitor(stack, project):
    first = chat(stack, project["publicKey"], message="Hello there", visitorId="visitor_abc").json()
    second = chat(stack, project["publicKey"], message="And another thing",
                  conversationId=first["conversationId"]).json()
    assert second["conversationId"] == first["conversationId"]
    assert second["messageId"] != first["messageId"]
    stored = messages_of(stack, first["conversationId"])
    assert [m["role"] for m in stored] == ["user", "assistant", "user", "assistant"]
    conversation = stack.table("CONVERSATIONS").get_item(
        Key={"projectId": project["projectId"], "conversationId": first["conversationId"]})["Item"]
    assert conversation["visitorId"] == "visitor_abc"
    assert conversation["messageCount"] == 4
    assert conversation["firstMessage"] == "Hello there"


def test_stream_sends_token_events_then_done(stack, project):
    headers = {"Authorization": f"Bearer {project['publicKey']}"}
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        with connect_sse(client, "POST", "/api/v1/chat/stream", json={"message": "How do I get started?"},
                         headers=headers) as source:
            assert source.response.status_code == 200
            assert source.response.headers["content-type"].startswith("text/event-stream")
            assert source.response.headers["X-RateLimit-Limit"] == "10000"
            events = [sse.json() for sse in source.iter_sse()]
    tokens = [e for e in events if e["type"] == "token"]
    assert len(tokens) > 3 and all(isinstance(e["content"], str) for e in tokens)
    assert events[-1]["type"] == "done" and events.count(events[-1]) == 1
    done = events[-1]
    stored = messages_of(stack, done["conversationId"])
    assert stored[-1]["messageId"] == done["messageId"]
    assert stored[-1]["content"] == "".join(e["content"] for e in tokens)


def test_stream_frames_are_data_lines_and_blank_lines(stack, project):
    with stack.client(project["publicKey"]) as c:
        raw = c.post("/api/v1/chat/stream", json={"message": "Hi"}).text
    frames = raw.split("\n\n")
    assert frames[-1] == ""
    assert all(f.startswith("data: {") and "\n" not in f for f in frames[:-1])


@pytest.mark.parametrize("header, code", [
    (None, "MISSING_API_KEY"),
    ("Bearer pk_" + "x" * 40, "INVALID_API_KEY"),
    ("Bearer not-a-key", "INVALID_API_KEY"),
    ("Basic dXNlcjpwYXNz", "INVALID_API_KEY"),
    ("pk_" + "x" * 40, "INVALID_API_KEY"),
])
def test_missing_or_invalid_keys_are_401(stack, header, code):
    headers = {"Authorization": header} if header else {}
    r = httpx.post(f"{stack.url}/api/v1/chat", json={"message": "hi"}, headers=headers)
    assert r.status_code == 401
    assert r.json()["code"] == code and r.json()["error"]
    assert "X-RateLimit-Limit" not in r.headers


def test_rotated_keys_stop_working(stack):
    p = stack.new_project("business")
    assert chat(stack, p["publicKey"], message="hi").status_code == 200
    rotated = stack.cli("keys", "rotate", p["projectId"])
    # the stack caches keys for BOTPLOT_KEY_CACHE_SECONDS=1 (15 s by default)
    r = eventually(lambda: (answer := chat(stack, p["publicKey"], message="hi")).status_code != 200 and answer)
    assert r.status_code == 401 and r.json()["code"] == "INVALID_API_KEY"
    assert chat(stack, rotated["publicKey"], message="hi").status_code == 200


def test_free_plan_has_no_api_access(stack):
    p = stack.new_project("free")
    r = chat(stack, p["publicKey"], message="hi")
    assert r.status_code == 403
    assert r.json() == {"error": "API access requires a paid plan (pro, business or enterprise)",
                        "code": "PLAN_REQUIRED"}


def test_plan_change_takes_effect(stack):
    p = stack.new_project("free")
    assert chat(stack, p["publicKey"], message="hi").status_code == 403
    stack.cli("project", "set-plan", p["projectId"], "business")
    r = eventually(lambda: (answer := chat(stack, p["publicKey"], message="hi")).status_code != 403 and answer)
    assert r.status_code == 200 and r.headers["X-RateLimit-Limit"] == "30"  # the test stack's business limit


def test_quota_exhaustion_is_429_with_exact_headers(stack):
    p = stack.new_project("pro")  # the test stack limits 'pro' to 5 calls a month
    reset = str(clock.next_month_epoch(clock.now()))
    remaining = []
    for _ in range(5):
        r = chat(stack, p["publicKey"], message="hi")
        assert r.status_code == 200
        assert r.headers["X-RateLimit-Limit"] == "5" and r.headers["X-RateLimit-Reset"] == reset
        remaining.append(int(r.headers["X-RateLimit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    r = chat(stack, p["publicKey"], message="hi")
    assert r.status_code == 429
    assert r.json()["code"] == "RATE_LIMIT_EXCEEDED"
    assert (r.headers["X-RateLimit-Limit"], r.headers["X-RateLimit-Remaining"], r.headers["X-RateLimit-Reset"]) \
        == ("5", "0", reset)
    with stack.client(p["publicKey"]) as c:
        assert c.post("/api/v1/chat/stream", json={"message": "hi"}).status_code == 429


@pytest.mark.parametrize("body, code", [
    ({}, "VALIDATION_ERROR"),
    ({"message": ""}, "VALIDATION_ERROR"),
    ({"message": "   "}, "VALIDATION_ERROR"),
    ({"message": 42}, "VALIDATION_ERROR"),
    ({"message": ["hi"]}, "VALIDATION_ERROR"),
    ({"message": "x" * 4001}, "VALIDATION_ERROR"),
    ({"message": "hi", "conversationId": 7}, "VALIDATION_ERROR"),
    ({"message": "hi", "visitorId": ""}, "VALIDATION_ERROR"),
    ([{"message": "hi"}], "INVALID_BODY"),
    ("hi", "INVALID_BODY"),
])
def test_bad_bodies_are_400_in_the_reference_shape(stack, project, body, code):
    for route in ("/api/v1/chat", "/api/v1/chat/stream"):
        with stack.client(project["publicKey"]) as c:
            r = c.post(route, json=body)
        assert r.status_code == 400, r.text
        assert set(r.json()) == {"error", "code"} and r.json()["code"] == code


def test_message_of_exactly_4000_characters_is_accepted(stack, project):
    assert chat(stack, project["publicKey"], message="x" * 4000).status_code == 200


def test_malformed_json_and_wrong_content_type_are_400(stack, project):
    with stack.client(project["publicKey"]) as c:
        r = c.post("/api/v1/chat", content=b'{"message": "hi"', headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["code"] == "INVALID_JSON"
        r = c.post("/api/v1/chat", content=b"message=hi", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 400 and r.json()["code"] == "INVALID_BODY"


def test_bodies_over_one_megabyte_are_refused(stack, project):
    big = '{"message": "' + "x" * (1024 * 1024) + '"}'
    with stack.client(project["publicKey"]) as c:
        r = c.post("/api/v1/chat", content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["code"] == "PAYLOAD_TOO_LARGE"

        def chunks():  # no Content-Length: the limit holds on the bytes actually read
            yield b'{"message": "'
            for _ in range(17):
                yield b"x" * 65536
            yield b'"}'
        r = c.post("/api/v1/chat", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_unknown_and_foreign_conversations_are_404(stack, project):
    other = stack.new_project("enterprise", "Other")
    theirs = chat(stack, other["publicKey"], message="private question").json()["conversationId"]
    for conversation_id in (theirs, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "not-a-uuid"):
        for route in ("/api/v1/chat", "/api/v1/chat/stream"):
            with stack.client(project["publicKey"]) as c:
                r = c.post(route, json={"message": "hi", "conversationId": conversation_id})
            assert r.status_code == 404, r.text
            assert r.json()["code"] == "CONVERSATION_NOT_FOUND"
    assert [m["content"] for m in messages_of(stack, theirs) if m["role"] == "user"] == ["private question"]


def test_unknown_routes_and_wrong_methods_answer_in_the_reference_shape(stack, project):
    with stack.client(project["publicKey"]) as c:
        r = c.get("/api/v1/nothing-here")
        assert r.status_code == 404 and r.json() == {"error": "Route not found", "code": "NOT_FOUND"}
        r = c.get("/api/v1/chat")
        assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED"


def test_browser_widget_can_call_chat_across_origins(stack, project):
    with stack.client() as c:
        r = c.options("/api/v1/chat", headers={"Origin": "https://shop.example.com",
                                               "Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": "authorization,content-type"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://shop.example.com"  # no key, so no project yet
        r = c.post("/api/v1/chat", json={"message": "hi"},
                   headers={"Origin": "https://shop.example.com", "Authorization": f"Bearer {project['publicKey']}"})
        assert r.headers["access-control-allow-origin"] == "*"
        assert "X-RateLimit-Remaining" in r.headers["access-control-expose-headers"]
