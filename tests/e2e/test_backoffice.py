"""The back office over HTTP against the local stack, on a realistic history.

The history (hundreds of conversations over 40 days, several visitors, ratings and re-ratings,
leads, handoffs, deletions) is written through the same services the API uses, with the clock
travelled back to each day; every figure the API returns is then checked against a computation
from the raw records in the stack's tables.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from botplot.services.counters import normalize_question
from tests.support.aws import using_endpoint

QUESTIONS = ["What is your return policy?", "what is your RETURN policy", "What's your return policy??",
             "How long does shipping take?", "how long does shipping take", "Do you ship to Canada?",
             "Where is my order?", "where is my order", "Can I change my order?", "Do you have gift cards?",
             "Are you open on Sundays?", "How do I reset my password?", "Is there a student discount?",
             "Can I pay with PayPal?", "How do I contact support?", "What sizes do you have?"]
WEIGHTS = [9, 5, 3, 8, 4, 6, 7, 3, 5, 4, 3, 6, 2, 4, 5, 2]


def _scan(table, project_id):
    items, kwargs = [], {}
    while True:
        page = table.scan(**kwargs)
        items += [i for i in page["Items"] if i.get("projectId") == project_id]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture(scope="module")
def history(stack):
    project = stack.new_project("enterprise", "Back office")
    rng = random.Random(20261124)
    now = datetime.now(timezone.utc)
    with using_endpoint(stack.info["awsEndpoint"], stack.info["environment"]):
        from botplot.services import chat, widget
        from botplot.services.auth import Principal
        from botplot.services.chat import AnswerRecord

        caller = Principal(project["projectId"], "enterprise", "public", "Back office", None)
        conversations = []
        for n in range(260):
            start = now - timedelta(days=rng.randint(0, 39), hours=rng.randint(0, 20), minutes=rng.randint(0, 59))
            visitor = rng.choice(["v-ann", "v-bob", "v-cy", "v-dee", "v-eve", "v-fay", None])
            conversation_id = None
            for turn in range(rng.randint(1, 3)):
                with time_machine.travel(start + timedelta(minutes=2 * turn), tick=False):
                    question = rng.choices(QUESTIONS, WEIGHTS)[0]
                    t = chat.begin(caller, question, conversation_id, visitor)
                    conversation_id = t.conversation.conversation_id
                    answer = chat.finish(t, AnswerRecord(text="An answer.", grounded=rng.random() > 0.2))
            conversations.append((conversation_id, answer.message_id, start))
        for conversation_id, message_id, start in rng.sample(conversations, 70):
            with time_machine.travel(start + timedelta(minutes=10), tick=False):
                widget.rate(caller, conversation_id, message_id, rng.choice([1, 1, 1, -1]))
        for conversation_id, message_id, start in rng.sample(conversations, 15):  # re-rated a day later
            with time_machine.travel(min(now, start + timedelta(days=1)), tick=False):
                widget.rate(caller, conversation_id, message_id, -1)
        for conversation_id, _, start in rng.sample(conversations, 25):
            with time_machine.travel(start + timedelta(minutes=20), tick=False):
                widget.rate(caller, conversation_id, None, rng.choice([1, -1]))
        names = ["Jane Doe", "John Smith", "Ann Lee", "Bob Stone", "Cy Twombly", "Dee Dee"]
        for i in range(24):
            conversation_id, _, start = rng.choice(conversations)
            with time_machine.travel(start + timedelta(minutes=5), tick=False):
                name = names[i % len(names)]
                widget.capture_lead(caller, conversation_id, None, name,
                                    f"{name.split()[0].lower()}.{i}@Example.com", None if i % 3 else "+1 555 0100")
        for conversation_id, _, start in rng.sample(conversations, 12):
            with time_machine.travel(start + timedelta(minutes=30), tick=False):
                widget.request_handoff(caller, conversation_id, "wants a human")
    deleted = [c for c, _, _ in rng.sample(conversations, 18)]
    with stack.client(project["secretKey"]) as c:
        for conversation_id in deleted:
            assert c.delete(f"/api/v1/conversations/{conversation_id}").json() == {"success": True}
        leads = c.get("/api/v1/leads?limit=100").json()["leads"]
        for lead in leads[:3]:
            assert c.delete(f"/api/v1/leads/{lead['id']}").json() == {"success": True}
        # every conversation of the history is hours or days old: let the stack's idle closer (every
        # few seconds) close them all before the figures are read, so that statuses stay put
        deadline = time.monotonic() + 60
        while (active := c.get("/api/v1/conversations?status=active").json()["total"]) and \
                time.monotonic() < deadline:
            time.sleep(0.5)
        assert active == 0, f"the idle closer left {active} idle conversations open after 60 s"
    return {"project": project, "deleted": deleted, "now": now}


@pytest.fixture(scope="module")
def raw(stack, history):
    pid = history["project"]["projectId"]
    conversations = _scan(stack.table("CONVERSATIONS"), pid)
    messages = _scan(stack.table("MESSAGES"), pid)
    leads = _scan(stack.table("LEADS"), pid)
    return {"conversations": conversations, "messages": messages, "leads": leads}


def day(iso: str) -> str:
    return iso[:10]


def period_days(n: int) -> list[str]:
    today = datetime.now(timezone.utc).date()
    return [(today - timedelta(days=i)).isoformat() for i in range(n - 1, -1, -1)]


def expected_overview(raw, n):
    days = period_days(n)
    first = days[0]
    convs = [c for c in raw["conversations"] if day(c["createdAt"]) >= first]
    msgs = [m for m in raw["messages"] if day(m["createdAt"]) >= first]
    last_user_day = defaultdict(str)
    for m in raw["messages"]:
        if m["role"] == "user":
            conv = next(c for c in raw["conversations"] if c["conversationId"] == m["conversationId"])
            key = conv["visitorKey"]
            last_user_day[key] = max(last_user_day[key], day(m["createdAt"]))
    unresolved = sum(1 for c in convs if c.get("unresolved"))
    questions = Counter(normalize_question(m["content"]) for m in msgs if m["role"] == "user")
    return {
        "overview": {
            "totalConversations": len(convs),
            "totalMessages": len(msgs),
            "uniqueVisitors": sum(1 for d in last_user_day.values() if d >= first),
            "avgMessagesPerConversation": round(len(msgs) / len(convs), 1) if convs else 0.0,
            "leadsCollected": sum(1 for lead in raw["leads"] if day(lead["createdAt"]) >= first),
            "resolutionRate": round(100.0 * (len(convs) - unresolved) / len(convs), 1) if convs else 0.0,
        },
        "messagesOverTime": [{"date": d, "messages": sum(day(m["createdAt"]) == d for m in msgs),
                              "conversations": sum(day(c["createdAt"]) == d for c in convs)} for d in days],
        "questions": questions,
    }


@pytest.mark.parametrize("period, days", [("7d", 7), ("30d", 30), ("90d", 90), (None, 30)])
def test_analytics_match_the_raw_records(stack, history, raw, period, days):
    query = f"?period={period}" if period else ""
    with stack.client(history["project"]["secretKey"]) as c:
        body = c.get(f"/api/v1/analytics{query}").json()
    expected = expected_overview(raw, days)
    assert body["overview"] == expected["overview"]
    assert body["messagesOverTime"] == expected["messagesOverTime"]
    assert len(body["messagesOverTime"]) == days
    top = body["topQuestions"]
    counts = expected["questions"]
    assert len(top) == min(10, len(counts))
    assert [q["count"] for q in top] == sorted((q["count"] for q in top), reverse=True)
    for entry in top:  # every group is counted exactly, whatever spelling represents it
        assert counts[normalize_question(entry["question"])] == entry["count"]
    cutoff = top[-1]["count"]
    assert {normalize_question(q["question"]) for q in top} >= {k for k, n in counts.items() if n > cutoff}


def test_similar_questions_are_one_group(stack, history, raw):
    with stack.client(history["project"]["secretKey"]) as c:
        top = c.get("/api/v1/analytics?period=90d").json()["topQuestions"]
    keys = [normalize_question(q["question"]) for q in top]
    assert len(keys) == len(set(keys))
    spellings = Counter(m["content"] for m in raw["messages"] if m["role"] == "user"
                        and normalize_question(m["content"]) == "what is your return policy")
    assert set(spellings) == {"What is your return policy?", "what is your RETURN policy"}
    group = next(q for q in top if normalize_question(q["question"]) == "what is your return policy")
    assert group["count"] == sum(spellings.values()) > max(spellings.values())


@pytest.mark.parametrize("period, days", [("7d", 7), ("30d", 30), ("90d", 90)])
def test_ratings_match_the_raw_records(stack, history, raw, period, days):
    first = period_days(days)[0]
    rated = [(m["ratedAt"], m["rating"]) for m in raw["messages"] if "rating" in m] + \
            [(c["ratedAt"], c["overallRating"]) for c in raw["conversations"] if "overallRating" in c]
    rated = [(day(at), r) for at, r in rated if day(at) >= first]
    positive = sum(1 for _, r in rated if r > 0)
    negative = len(rated) - positive
    with stack.client(history["project"]["secretKey"]) as c:
        body = c.get(f"/api/v1/analytics/ratings?period={period}").json()
    assert body["summary"] == {"totalRatings": len(rated), "positive": positive, "negative": negative,
                               "satisfactionRate": round(100.0 * positive / len(rated), 1) if rated else 0.0}
    assert body["ratingsTrend"] == [{"date": d, "positive": sum(1 for x, r in rated if x == d and r > 0),
                                     "negative": sum(1 for x, r in rated if x == d and r < 0)}
                                    for d in period_days(days)]


def test_conversation_list_is_newest_first_with_exact_totals_and_edges(stack, history, raw):
    expected = sorted(raw["conversations"], key=lambda c: c["conversationId"], reverse=True)
    with stack.client(history["project"]["secretKey"]) as c:
        first = c.get("/api/v1/conversations").json()
        assert first["total"] == len(expected) and len(first["conversations"]) == 20
        assert [x["id"] for x in first["conversations"]] == [x["conversationId"] for x in expected[:20]]
        item = first["conversations"][0]
        assert set(item) >= {"id", "visitorId", "status", "overallRating", "handoffStatus", "messageCount",
                             "firstMessage", "createdAt"}
        page = c.get("/api/v1/conversations?limit=100&offset=100").json()
        assert [x["id"] for x in page["conversations"]] == [x["conversationId"] for x in expected[100:200]]
        past = c.get(f"/api/v1/conversations?offset={len(expected) + 5}").json()
        assert past == {"conversations": [], "total": len(expected), "nextCursor": None}
        for bad in ("limit=101", "limit=0", "limit=-1", "limit=ten", "offset=-1", "status=open", "offset=1e3"):
            r = c.get(f"/api/v1/conversations?{bad}")
            assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR", bad


@pytest.mark.parametrize("status", ["active", "closed", "archived", "handed_off"])
def test_status_filter(stack, history, raw, status):
    expected = sorted((c for c in raw["conversations"] if c["status"] == status),
                      key=lambda c: c["conversationId"], reverse=True)
    with stack.client(history["project"]["secretKey"]) as c:
        body = c.get(f"/api/v1/conversations?status={status}&limit=100").json()
    assert body["total"] == len(expected)
    assert [x["id"] for x in body["conversations"]] == [x["conversationId"] for x in expected[:100]]
    assert all(x["status"] == status for x in body["conversations"])


def test_a_conversation_reads_with_its_messages_in_order(stack, history, raw):
    rated = next(m for m in raw["messages"] if "rating" in m)
    with stack.client(history["project"]["secretKey"]) as c:
        body = c.get(f"/api/v1/conversations/{rated['conversationId']}").json()["conversation"]
    expected = sorted((m for m in raw["messages"] if m["conversationId"] == rated["conversationId"]),
                      key=lambda m: m["messageId"])
    assert [(m["id"], m["role"], m["content"]) for m in body["messages"]] == \
        [(m["messageId"], m["role"], m["content"]) for m in expected]
    assert next(m for m in body["messages"] if m["id"] == rated["messageId"])["rating"] == rated["rating"]
    assert all(m["createdAt"].endswith("Z") for m in body["messages"])


def test_deleted_conversations_are_gone_with_their_messages(stack, history, raw):
    deleted = set(history["deleted"])
    assert not deleted & {c["conversationId"] for c in raw["conversations"]}
    assert not deleted & {m["conversationId"] for m in raw["messages"]}
    with stack.client(history["project"]["secretKey"]) as c:
        for conversation_id in list(deleted)[:3]:
            assert c.get(f"/api/v1/conversations/{conversation_id}").status_code == 404
            r = c.delete(f"/api/v1/conversations/{conversation_id}")
            assert r.status_code == 404 and r.json()["code"] == "CONVERSATION_NOT_FOUND"


def test_leads_list_search_and_delete(stack, history, raw):
    leads = sorted(raw["leads"], key=lambda x: x["leadId"], reverse=True)
    with stack.client(history["project"]["secretKey"]) as c:
        body = c.get("/api/v1/leads").json()
        assert body["total"] == len(leads) == 21
        assert [x["id"] for x in body["leads"]] == [x["leadId"] for x in leads[:20]]
        assert set(body["leads"][0]) >= {"id", "name", "email", "phone", "createdAt"}
        for query, predicate in (("JANE", lambda x: "jane" in x["searchText"]),
                                 ("example.COM", lambda x: "example.com" in x["searchText"]),
                                 ("stone", lambda x: "stone" in x["searchText"]),
                                 ("nobody-at-all", lambda x: False)):
            expected = [x["leadId"] for x in leads if predicate(x)]
            found = c.get("/api/v1/leads", params={"search": query, "limit": 100}).json()
            assert found["total"] == len(expected) and [x["id"] for x in found["leads"]] == expected, query
        page = c.get("/api/v1/leads", params={"search": "example", "limit": 5, "offset": 5}).json()
        assert [x["id"] for x in page["leads"]] == [x["leadId"] for x in leads[5:10]]
        for unknown in ("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "not-a-lead"):
            r = c.delete(f"/api/v1/leads/{unknown}")
            assert r.status_code == 404 and r.json()["code"] == "LEAD_NOT_FOUND"
        r = c.get("/api/v1/leads?limit=101")
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR"


def test_another_project_sees_none_of_it(stack, history, raw):
    other = stack.new_project("enterprise", "Nosy")
    conversation_id = raw["conversations"][0]["conversationId"]
    lead_id = raw["leads"][0]["leadId"]
    with stack.client(other["secretKey"]) as c:
        assert c.get("/api/v1/conversations").json() == {"conversations": [], "total": 0, "nextCursor": None}
        assert c.get("/api/v1/leads").json() == {"leads": [], "total": 0, "nextCursor": None}
        assert c.get("/api/v1/analytics").json()["overview"]["totalMessages"] == 0
        assert c.get("/api/v1/analytics/ratings").json()["summary"]["totalRatings"] == 0
        assert c.get(f"/api/v1/conversations/{conversation_id}").status_code == 404
        assert c.delete(f"/api/v1/conversations/{conversation_id}").status_code == 404
        r = c.delete(f"/api/v1/leads/{lead_id}")
        assert r.status_code == 404 and r.json()["code"] == "LEAD_NOT_FOUND"
    with stack.client(history["project"]["secretKey"]) as c:
        assert c.get(f"/api/v1/conversations/{conversation_id}").status_code == 200


@pytest.mark.parametrize("query", ["period=1d", "period=30", "period=", "period=30D"])
def test_bad_periods_are_400(stack, history, query):
    with stack.client(history["project"]["secretKey"]) as c:
        for path in ("/api/v1/analytics", "/api/v1/analytics/ratings"):
            r = c.get(f"{path}?{query}")
            assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR"
