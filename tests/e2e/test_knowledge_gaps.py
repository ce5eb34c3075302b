"""Knowledge gaps over HTTP against the local stack: questions the bot could not answer (or whose
answer was rated down) are grouped by what they ask, counted exactly under concurrency, and leave
the list when a Q&A pair answers them or the rating is taken back."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

HOURS = ["What are your opening hours?", "what are your OPENING hours", "Opening hours?",
         "Your opening hours on Sundays?"]


@pytest.fixture
def shop(stack):
    project = stack.new_project("enterprise", "Gaps shop")
    with stack.client(project["secretKey"]) as c:
        r = c.post("/api/v1/knowledge/qa", json={"question": "What is your return policy?",
                                                  "answer": "Returns are accepted within 30 days of purchase."})
        assert r.status_code == 200 and r.json()["status"] == "ready"
    return project


def ask(stack, project, message, **extra):
    with stack.client(project["publicKey"]) as c:
        r = c.post("/api/v1/chat", json={"message": message, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def gaps(stack, project, **query):
    with stack.client(project["secretKey"]) as c:
        r = c.get("/api/v1/analytics/gaps", params=query)
    assert r.status_code == 200, r.text
    return r.json()


def test_unanswered_questions_are_grouped_counted_and_answered_away(stack, shop):
    replies = [ask(stack, shop, HOURS[0], visitorId="v0")]  # the first wording of the group
    with ThreadPoolExecutor(max_workers=7) as pool:  # then seven visitors at once, in other words
        replies += list(pool.map(lambda i: ask(stack, shop, HOURS[i % 4], visitorId=f"v{i}"), range(1, 8)))
    assert all(r["sources"] == 0 for r in replies)  # the bot knew nothing about opening hours
    ask(stack, shop, "Do you sell gift cards?")
    grounded = ask(stack, shop, "What is your return policy?")
    assert grounded["sources"] >= 1

    report = gaps(stack, shop)
    assert [(g["question"], g["count"], g["ratedDown"]) for g in report["gaps"]] == [
        ("What are your opening hours?", 8, 0), ("Do you sell gift cards?", 1, 0)]
    assert report["totalGroups"] == 2
    hours = report["gaps"][0]
    assert set(hours["examples"]) <= set(HOURS) and hours["examples"][0] == HOURS[0]
    assert "Your opening hours on Sundays?" in hours["examples"]  # merged at read time: another wording
    assert hours["lastAskedAt"].endswith("Z")

    # a grounded answer rated down is a gap too; rated up again, it is not
    with stack.client(shop["publicKey"]) as c:
        rate = {"conversationId": grounded["conversationId"], "messageId": grounded["messageId"]}
        assert c.post("/api/v1/chat/rating", json={**rate, "rating": -1}).status_code == 200
        returns = [g for g in gaps(stack, shop)["gaps"] if g["question"] == "What is your return policy?"]
        assert [(g["count"], g["ratedDown"]) for g in returns] == [(1, 1)]
        assert c.post("/api/v1/chat/rating", json={**rate, "rating": 1}).status_code == 200
    assert [g["question"] for g in gaps(stack, shop)["gaps"]] == ["What are your opening hours?",
                                                                   "Do you sell gift cards?"]

    # the owner answers the suggested question: the group leaves the list
    with stack.client(shop["secretKey"]) as c:
        r = c.post("/api/v1/knowledge/qa", json={"question": hours["question"],
                                                  "answer": "We are open 9am-6pm, Monday to Saturday."})
        assert r.status_code == 200 and r.json()["status"] == "ready"
        pair = r.json()["sourceId"]
    assert [g["question"] for g in gaps(stack, shop)["gaps"]] == ["Do you sell gift cards?"]
    answered = ask(stack, shop, "What are your opening hours?")
    assert answered["sources"] >= 1  # the pair now answers it: no new gap
    assert [g["question"] for g in gaps(stack, shop)["gaps"]] == ["Do you sell gift cards?"]

    # the pair is deleted: the group, still asked in the period, is a gap again
    with stack.client(shop["secretKey"]) as c:
        assert c.delete(f"/api/v1/knowledge/{pair}").status_code == 200
    assert [(g["question"], g["count"]) for g in gaps(stack, shop)["gaps"]] == [
        ("What are your opening hours?", 8), ("Do you sell gift cards?", 1)]


def test_deleting_conversations_takes_their_gaps_back(stack, shop):
    first = ask(stack, shop, "Can I bring my dog to the store?", visitorId="dog-owner")
    ask(stack, shop, "Can I bring my dog into the store?", visitorId="someone-else")
    assert [(g["question"], g["count"]) for g in gaps(stack, shop)["gaps"]] == [
        ("Can I bring my dog to the store?", 2)]
    with stack.client(shop["secretKey"]) as c:
        assert c.delete(f"/api/v1/conversations/{first['conversationId']}").status_code == 200
    assert [g["count"] for g in gaps(stack, shop)["gaps"]] == [1]
    with stack.client(shop["secretKey"]) as c:
        assert c.delete("/api/v1/visitors/someone-else").json()["erased"]["conversations"] == 1
    assert gaps(stack, shop) == {"gaps": [], "totalGroups": 0}


def test_parameters_are_checked(stack, shop):
    with stack.client(shop["secretKey"]) as c:
        for query in ({"period": "1y"}, {"limit": "0"}, {"limit": "51"}):
            r = c.get("/api/v1/analytics/gaps", params=query)
            assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR", query
    assert gaps(stack, shop, period="7d", limit="1") == {"gaps": [], "totalGroups": 0}
