"""The widget's own routes (public key): rating, lead capture and handoff."""

from __future__ import annotations

import pytest
from boto3.dynamodb.conditions import Key

from botplot import clock


@pytest.fixture
def convo(stack, project):
    with stack.client(project["publicKey"]) as c:
        return c.post("/api/v1/chat", json={"message": "Hello", "visitorId": "widget-visitor"}).json()


def conversation_item(stack, project, conversation_id):
    return stack.table("CONVERSATIONS").get_item(
        Key={"projectId": project["projectId"], "conversationId": conversation_id})["Item"]


def today_stats(stack, project):
    return stack.table("DAILY_STATS").get_item(Key={"projectId": project["projectId"],
                                                    "day": clock.day(clock.now())}).get("Item", {})


def test_rating_a_message_and_rerating_it_moves_the_counters(stack, project, convo):
    before = today_stats(stack, project)
    with stack.client(project["publicKey"]) as c:
        r = c.post("/api/v1/chat/rating", json={"conversationId": convo["conversationId"],
                                                "messageId": convo["messageId"], "rating": 1})
        assert r.status_code == 200
        assert r.json() == {"success": True, "conversationId": convo["conversationId"], "rating": 1,
                            "messageId": convo["messageId"]}
        assert c.post("/api/v1/chat/rating", json={"conversationId": convo["conversationId"],
                                                   "messageId": convo["messageId"], "rating": -1}).status_code == 200
    message = stack.table("MESSAGES").get_item(Key={"conversationId": convo["conversationId"],
                                                    "messageId": convo["messageId"]})["Item"]
    assert message["rating"] == -1
    after = today_stats(stack, project)
    assert after.get("ratingsPositive", 0) == before.get("ratingsPositive", 0)
    assert after.get("ratingsNegative", 0) == before.get("ratingsNegative", 0) + 1


def test_rating_the_whole_conversation(stack, project, convo):
    with stack.client(project["publicKey"]) as c:
        r = c.post("/api/v1/chat/rating", json={"conversationId": convo["conversationId"], "rating": 1})
    assert r.status_code == 200 and "messageId" not in r.json()
    assert conversation_item(stack, project, convo["conversationId"])["overallRating"] == 1


@pytest.mark.parametrize("rating", [0, 2, "1", True, 1.5, None])
def test_ratings_other_than_plus_or_minus_one_are_400(stack, project, convo, rating):
    with stack.client(project["publicKey"]) as c:
        r = c.post("/api/v1/chat/rating", json={"conversationId": convo["conversationId"], "rating": rating})
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR"


def test_only_the_assistants_messages_can_be_rated(stack, project, convo):
    user_message = stack.table("MESSAGES").query(
        KeyConditionExpression=Key("conversationId").eq(convo["conversationId"]))["Items"][0]
    assert user_message["role"] == "user"
    with stack.client(project["publicKey"]) as c:
        r = c.post("/api/v1/chat/rating", json={"conversationId": convo["conversationId"],
                                                "messageId": user_message["messageId"], "rating": 1})
        assert r.status_code == 400 and r.json()["code"] == "NOT_RATEABLE"
        r = c.post("/api/v1/chat/rating", json={"conversationId": convo["conversationId"],
                                                "messageId": "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "rating": 1})
        assert r.status_code == 404 and r.json()["code"] == "MESSAGE_NOT_FOUND"
        r = c.post("/api/v1/chat/rating", json={"conversationId": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
                                                "rating": 1})
        assert r.status_code == 404 and r.json()["code"] == "CONVERSATION_NOT_FOUND"


def test_leads_are_captured_with_an_email_or_a_phone(stack, project, convo):
    with stack.client(project["publicKey"]) as c:
        r = c.post("/api/v1/chat/lead", json={"conversationId": convo["conversationId"], "name": "Jane Doe",
                                              "email": "jane@example.com"})
        assert r.status_code == 200 and r.json()["success"] is True
        lead = stack.table("LEADS").get_item(Key={"projectId": project["projectId"],
                                                 "leadId": r.json()["leadId"]})["Item"]
        assert lead["email"] == "jane@example.com" and lead["visitorId"] == "widget-visitor"
        assert c.post("/api/v1/chat/lead", json={"phone": "+1 (555) 010-0199"}).status_code == 200


@pytest.mark.parametrize("body", [
    {"name": "No contact"}, {"email": "not-an-email"}, {"email": "a@b"}, {"phone": "12"},
    {"phone": "call me maybe"}, {"email": "", "phone": "  "}, {"email": 5}, {"name": "x" * 201, "email": "a@b.co"},
])
def test_invalid_leads_are_400(stack, project, body):
    with stack.client(project["publicKey"]) as c:
        r = c.post("/api/v1/chat/lead", json=body)
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR" and set(r.json()) == {"error", "code"}


def test_handoff_hands_the_conversation_off_once(stack, project, convo):
    with stack.client(project["publicKey"]) as c:
        r = c.post("/api/v1/chat/handoff", json={"conversationId": convo["conversationId"], "reason": "Need a human"})
        assert r.status_code == 200
        assert r.json() == {"success": True, "conversationId": convo["conversationId"],
                            "handoffStatus": "requested", "status": "handed_off"}
        again = c.post("/api/v1/chat/handoff", json={"conversationId": convo["conversationId"]})
        assert again.status_code == 200 and again.json()["status"] == "handed_off"
        item = conversation_item(stack, project, convo["conversationId"])
        assert item["handoffReason"] == "Need a human" and item["unresolved"] is True
        assert "idleShard" not in item  # the idle closer leaves handed-off conversations alone
        r = c.post("/api/v1/chat/handoff", json={"conversationId": "not-a-conversation"})
        assert r.status_code == 404


def test_widget_routes_belong_to_the_callers_project(stack, project, convo):
    other = stack.new_project("enterprise", "Other widget")
    with stack.client(other["publicKey"]) as c:
        for path, body in (("/api/v1/chat/rating", {"conversationId": convo["conversationId"], "rating": 1}),
                           ("/api/v1/chat/handoff", {"conversationId": convo["conversationId"]}),
                           ("/api/v1/chat/lead", {"conversationId": convo["conversationId"], "email": "a@b.co"})):
            r = c.post(path, json=body)
            assert r.status_code == 404, path
    assert conversation_item(stack, project, convo["conversationId"])["status"] == "active"


def test_widget_config_shows_the_projects_branding_and_white_label_hides_ours(stack):
    owner = stack.new_project("enterprise", "Acme Help")
    with stack.client(owner["publicKey"]) as c:
        r = c.get("/api/v1/chat/config", headers={"Origin": "https://shop.example"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
        assert r.json() == {"name": "Acme Help", "showBranding": True, "logoUrl": None,
                            "greeting": "Hi! I'm the Acme Help assistant. Ask me anything."}
        preflight = c.options("/api/v1/chat/config", headers={
            "Origin": "https://shop.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        assert preflight.status_code == 200 and "GET" in preflight.headers["access-control-allow-methods"]
    with stack.client(owner["secretKey"]) as c:
        assert c.patch(f"/api/v1/projects/{owner['projectId']}/branding",
                       json={"white_label": True}).status_code == 200
    with stack.client(owner["publicKey"]) as c:
        assert c.get("/api/v1/chat/config").json()["showBranding"] is False
        assert c.get("/api/v1/chat/config", headers={"Authorization": "Bearer pk_" + "x" * 40}).status_code == 401
