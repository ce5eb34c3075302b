"""A visitor's data rights over HTTP against the local stack: the export holds everything stored about
the visitor, and erasing them leaves the project exactly as if they had never come.

Two projects get the same history for visitor Bob and an anonymous visitor, written through the
services the API uses with the clock travelled back to each day; one of them also gets visitor
Alice (conversations on several days, ratings, leads, a handoff, a question Bob asks too). After
Alice is erased through the API, every analytics figure and list total of that project must equal
the other's.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from tests.support.aws import using_endpoint

ALICE_ONLY = "Do you deliver to Lapland by reindeer?"
SHARED = "How long does shipping take?"


def _write(stack, project, script, now):
    """Each entry: (days ago, visitor, questions, message rating, overall rating, lead, handoff reason)."""
    with using_endpoint(stack.info["awsEndpoint"], stack.info["environment"]):
        from botplot.services import chat, widget
        from botplot.services.auth import Principal
        from botplot.services.chat import AnswerRecord

        caller = Principal(project["projectId"], "enterprise", "public", "Visitors", None)
        made = []
        for days_ago, visitor, questions, message_rating, overall, lead, handoff in script:
            start = now - timedelta(days=days_ago, hours=1)
            conversation_id, answer = None, None
            for turn, question in enumerate(questions):
                with time_machine.travel(start + timedelta(minutes=turn), tick=False):
                    t = chat.begin(caller, question, conversation_id, visitor)
                    conversation_id = t.conversation.conversation_id
                    answer = chat.finish(t, AnswerRecord(text=f"About: {question}", grounded=turn == 0))
            with time_machine.travel(start + timedelta(minutes=10), tick=False):
                if message_rating:
                    widget.rate(caller, conversation_id, answer.message_id, message_rating)
                if overall:
                    widget.rate(caller, conversation_id, None, overall)
                if lead == "conversation":
                    widget.capture_lead(caller, conversation_id, None, "Alice Liddell", "alice@example.com", None)
                elif lead == "visitor":
                    widget.capture_lead(caller, None, visitor, None, None, "+44 20 7946 0000")
                elif lead:
                    widget.capture_lead(caller, conversation_id, None, "Bob Stone", "bob@example.com", None)
                if handoff:
                    widget.request_handoff(caller, conversation_id, handoff)
            made.append(conversation_id)
        return made


COMMON = [(6, "bob", [SHARED, "And to Canada?"], 1, None, "bob", None),
          (3, None, ["Where is my order?"], None, -1, None, None),
          (1, "bob", ["Can I pay with PayPal?"], -1, None, None, None)]
ALICE = [(5, "alice", [ALICE_ONLY, "Even in winter?"], -1, 1, "conversation", None),
         (2, "alice", [SHARED], 1, None, None, "She wants a person"),
         (0, "alice", ["Hello again"], None, None, "visitor", None)]


@pytest.fixture(scope="module")
def projects(stack):
    now = datetime.now(timezone.utc)
    with_alice = stack.new_project("enterprise", "With Alice")
    without = stack.new_project("enterprise", "Never met Alice")
    script = sorted(COMMON + ALICE, key=lambda entry: -entry[0])
    made = _write(stack, with_alice, script, now)
    _write(stack, without, sorted(COMMON, key=lambda entry: -entry[0]), now)
    alice_conversations = [cid for cid, entry in zip(made, script) if entry[1] == "alice"]
    # Alice's last visit is her "0 days ago" entry, written an hour before `now` (not the day the test runs:
    # a run that crosses midnight UTC would expect the wrong day)
    alice_last_day = (now - timedelta(hours=1)).date().isoformat()
    return with_alice, without, alice_conversations, alice_last_day


def _figures(stack, project) -> dict:
    with stack.client(project["secretKey"]) as c:
        return {"analytics": c.get("/api/v1/analytics?period=30d").json(),
                "ratings": c.get("/api/v1/analytics/ratings?period=30d").json(),
                "conversations": c.get("/api/v1/conversations?limit=100").json()["total"],
                "leads": c.get("/api/v1/leads?limit=100").json()["total"]}


def test_export_holds_every_conversation_message_rating_and_lead(stack, projects):
    with_alice, _, alice_conversations, alice_last_day = projects
    with stack.client(with_alice["secretKey"]) as c:
        r = c.get("/api/v1/visitors/alice/export")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["visitorId"] == "alice" and doc["exportedAt"].endswith("Z")
    assert doc["lastActiveDay"] == alice_last_day
    assert [conv["id"] for conv in doc["conversations"]] == alice_conversations  # oldest first
    assert all(conv["visitorId"] == "alice" for conv in doc["conversations"])
    first, second, third = doc["conversations"]
    assert [(m["role"], m["content"]) for m in first["messages"]] == [
        ("user", ALICE_ONLY), ("assistant", f"About: {ALICE_ONLY}"), ("user", "Even in winter?"),
        ("assistant", "About: Even in winter?")]
    assert first["overallRating"] == 1 and first["messages"][3]["rating"] == -1
    assert second["handoffStatus"] == "requested" and second["handoffReason"] == "She wants a person"
    assert [m["content"] for m in third["messages"]] == ["Hello again", "About: Hello again"]
    assert sorted((x["conversationId"], x["messageId"] is None, x["rating"]) for x in doc["ratings"]) == sorted([
        (first["id"], True, 1), (first["id"], False, -1), (second["id"], False, 1)])
    assert all(x["ratedAt"].endswith("Z") for x in doc["ratings"])
    leads = sorted(doc["leads"], key=lambda lead: lead["createdAt"])
    assert [(lead["email"], lead["phone"], lead["visitorId"]) for lead in leads] == [
        ("alice@example.com", None, "alice"), (None, "+44 20 7946 0000", "alice")]
    assert leads[0]["conversationId"] == first["id"]
    text = r.text
    assert "bob@example.com" not in text and "PayPal" not in text  # nothing of anyone else


def test_only_the_keys_project_and_known_visitors(stack, projects, project):
    with_alice, without, _, _ = projects
    with stack.client(without["secretKey"]) as c:  # another project's key: Alice is unknown there
        for r in (c.get("/api/v1/visitors/alice/export"), c.delete("/api/v1/visitors/alice")):
            assert r.status_code == 404 and r.json() == {"error": "Visitor not found", "code": "VISITOR_NOT_FOUND"}
    with stack.client(with_alice["publicKey"]) as c:
        assert c.get("/api/v1/visitors/alice/export").json()["code"] == "SECRET_KEY_REQUIRED"
    with stack.client(with_alice["secretKey"]) as c:
        r = c.get("/api/v1/visitors/" + "x" * 201 + "/export")
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR"
        assert c.get("/api/v1/visitors/nobody/export").json()["code"] == "VISITOR_NOT_FOUND"


def test_erasing_a_visitor_leaves_the_project_as_if_they_never_came(stack, projects):
    with_alice, without, alice_conversations, _ = projects
    assert _figures(stack, with_alice) != _figures(stack, without)
    with stack.client(with_alice["secretKey"]) as c:
        r = c.delete("/api/v1/visitors/alice")
        assert r.status_code == 200, r.text
        assert r.json() == {"success": True, "visitorId": "alice",
                            "erased": {"conversations": 3, "messages": 8, "ratings": 3, "leads": 2}}
        assert c.get("/api/v1/visitors/alice/export").json()["code"] == "VISITOR_NOT_FOUND"
        assert c.delete("/api/v1/visitors/alice").status_code == 404  # nothing left to erase
        for conversation_id in alice_conversations:
            assert c.get(f"/api/v1/conversations/{conversation_id}").status_code == 404
        assert c.get("/api/v1/visitors/bob/export").status_code == 200  # Bob is untouched

    assert _figures(stack, with_alice) == _figures(stack, without)
    # her own question's counter is gone with its words; the shared one counts Bob's ask only
    items = stack.table("QUESTION_STATS").scan()["Items"]
    mine = [i for i in items if i["projectDay"].startswith(with_alice["projectId"])]
    assert not [i for i in mine if "lapland" in i["text"].lower() or "winter" in i["text"].lower()]
    assert sorted(int(i["count"]) for i in mine if i["text"] == SHARED) == [1]
    visitors = stack.table("VISITORS").scan()["Items"]
    assert [v["visitorId"] for v in visitors if v["projectId"] == with_alice["projectId"]
            and v["visitorId"] == "v:alice"] == []
