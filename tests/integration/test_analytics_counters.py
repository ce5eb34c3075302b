"""The analytics figures (README "Back office": definitions; "Deletes keep the counters honest") on a
small history written through the services with the clock travelled back, read through the API
in-process (the template's router, on moto): every figure is counted by hand below."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import boto3
import pytest
import time_machine


@pytest.fixture(scope="module")
def history(moto_endpoint):
    from starlette.testclient import TestClient

    from botplot.services import chat, widget
    from botplot.services.auth import Principal
    from botplot.services.chat import AnswerRecord
    from botplot.services.projects import create_project
    from botplot_dev.router import TemplateRouter

    project, keys = create_project("analytics", "enterprise")
    caller = Principal(project.project_id, "enterprise", "public", "analytics", None)
    now = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
    if now > datetime.now(timezone.utc):
        now -= timedelta(days=1)  # stay in the past: "today" is then yesterday's figures plus nothing
    two_days_ago = now - timedelta(days=2)

    def turn(moment, question, conversation_id, visitor, grounded=True):
        with time_machine.travel(moment, tick=False):
            t = chat.begin(caller, question, conversation_id, visitor)
            answer = chat.finish(t, AnswerRecord(text="An answer.", grounded=grounded))
        return t.conversation.conversation_id, answer.message_id

    # two days ago: Ann asks twice (one answer is "I don't know": unresolved); Bob asks once, then wants a human
    ann, _ = turn(two_days_ago, "What is your return policy?", None, "v-ann")
    turn(two_days_ago + timedelta(minutes=2), "Where is my order?", ann, "v-ann", grounded=False)
    bob, bob_answer = turn(two_days_ago + timedelta(hours=1), "  what is your RETURN policy!! ", None, "v-bob")
    with time_machine.travel(two_days_ago + timedelta(hours=1, minutes=5), tick=False):
        widget.rate(caller, bob, bob_answer, 1)
        widget.request_handoff(caller, bob, "wants a human")
    # the last day: Ann again, in a new conversation; she rates it and leaves her details
    again, again_answer = turn(now, "How long does shipping take?", None, "v-ann")
    with time_machine.travel(now + timedelta(minutes=1), tick=False):
        widget.rate(caller, again, again_answer, 1)
        widget.rate(caller, again, None, -1)
        widget.capture_lead(caller, again, None, "Ann Lee", "ann@example.com", None)
    with time_machine.travel(now + timedelta(minutes=2), tick=False):
        widget.rate(caller, bob, bob_answer, -1)  # Bob changes his mind: his rating moves to this day
    client = TestClient(TemplateRouter())
    client.headers["Authorization"] = f"Bearer {keys.secret_key}"
    return {"client": client, "project_id": project.project_id, "ann": ann, "bob": bob, "again": again,
            "days": (two_days_ago.date().isoformat(), now.date().isoformat()), "last_write": now + timedelta(minutes=2)}


def totals(project_id: str) -> dict:
    return boto3.resource("dynamodb").Table(os.environ["BOTPLOT_TABLE_DAILY_STATS"]).get_item(
        Key={"projectId": project_id, "day": "all"}, ConsistentRead=True)["Item"]


def by_day(series: list[dict], *fields: str) -> dict:
    return {entry["date"]: tuple(entry[f] for f in fields) for entry in series if any(entry[f] for f in fields)}


def test_figures_count_what_was_written_and_deletes_take_it_back(history):
    client, pid = history["client"], history["project_id"]
    first, last = history["days"]

    figures = client.get("/api/v1/analytics?period=7d").json()
    assert figures["overview"] == {"totalConversations": 3, "totalMessages": 8, "uniqueVisitors": 2,
                                   "avgMessagesPerConversation": 2.7, "leadsCollected": 1,
                                   "resolutionRate": 33.3}  # Ann's first (an unknown answer) and Bob's (a human)
    assert by_day(figures["messagesOverTime"], "messages", "conversations") == {first: (6, 2), last: (2, 1)}
    assert figures["topQuestions"] == [  # case, punctuation and spacing do not split a question
        {"question": "What is your return policy?", "count": 2}, {"question": "How long does shipping take?", "count": 1},
        {"question": "Where is my order?", "count": 1}]
    rated = client.get("/api/v1/analytics/ratings?period=7d").json()
    assert rated["summary"] == {"totalRatings": 3, "positive": 1, "negative": 2, "satisfactionRate": 33.3}
    assert by_day(rated["ratingsTrend"], "positive", "negative") == {last: (1, 2)}  # Bob's re-rating moved days
    assert client.get("/api/v1/conversations?status=active").json()["total"] == 2
    assert client.get("/api/v1/conversations?status=handed_off").json()["total"] == 1
    stored = totals(pid)
    assert (stored["statusActive"], stored["statusHandedOff"], stored["leads"]) == (2, 1, 1)
    assert "expiresAt" not in stored  # the totals are kept as long as the project; day items expire
    day_item = boto3.resource("dynamodb").Table(os.environ["BOTPLOT_TABLE_DAILY_STATS"]).get_item(
        Key={"projectId": pid, "day": last}, ConsistentRead=True)["Item"]
    last_write = history["last_write"].timestamp()
    assert abs(float(day_item["expiresAt"]) - (last_write + 400 * 86400)) < 600  # 400 days after its last change

    assert client.delete(f"/api/v1/conversations/{history['ann']}").json() == {"success": True}
    assert client.delete(f"/api/v1/conversations/{history['bob']}").json() == {"success": True}
    figures = client.get("/api/v1/analytics?period=7d").json()
    assert figures["overview"] == {"totalConversations": 1, "totalMessages": 2, "uniqueVisitors": 1,
                                   "avgMessagesPerConversation": 2.0, "leadsCollected": 1, "resolutionRate": 100.0}
    assert by_day(figures["messagesOverTime"], "messages", "conversations") == {last: (2, 1)}
    assert figures["topQuestions"] == [{"question": "How long does shipping take?", "count": 1}]
    rated = client.get("/api/v1/analytics/ratings?period=7d").json()
    assert rated["summary"] == {"totalRatings": 2, "positive": 1, "negative": 1, "satisfactionRate": 50.0}
    stored = totals(pid)
    assert (stored["statusActive"], stored["statusHandedOff"]) == (1, 0)


def test_question_normalisation():
    from botplot.services.counters import normalize_question, question_key

    assert normalize_question("  What is your  RETURN\tpolicy?! ") == "what is your return policy"
    assert normalize_question("Ｗｈａｔ’s the ＰＲＩＣＥ") == "what s the price"  # full-width forms fold (NFKC)
    assert normalize_question("Straße?") == normalize_question("STRASSE")  # casefold, not lower
    assert question_key("Where is my order?") == question_key("where is my order") != question_key("where is it")


def test_one_delta_counts_every_change_it_holds(moto_endpoint):
    """Deleting a conversation takes back every question its visitor asked, the same one twice included;
    a day whose changes cancel out is skipped without losing the days after it; a question is shown as
    its first 300 characters (README "Back office": topQuestions)."""
    from pynamodb.transactions import TransactWrite

    from botplot import ids
    from botplot.db.base import connection
    from botplot.db.stats import TOTALS_DAY, DailyStats, QuestionStat
    from botplot.services.counters import StatsDelta, question_key

    pid = f"p-{ids.uuid7()}"
    long_question = "  " + "Can I return a gift bought abroad? " * 12  # 420 characters, spaces around
    with TransactWrite(connection=connection()) as tx:
        (StatsDelta(pid).add("2026-11-01", "messages", 1).add("2026-11-01", "messages", -1)  # cancels out
         .add("2026-11-02", "messages", 2).add("2026-11-02", "messages")
         .question("2026-11-02", long_question).question("2026-11-02", long_question.upper())
         .question("2026-11-02", "Where is my order?", 3).question("2026-11-02", "where is my order", -1)
         .status(None, "active").status(None, "active").status(None, "active").status("active", "closed")
         .status("handed_off", "handed_off")).apply(tx)

    assert DailyStats.count(pid, DailyStats.day == "2026-11-01") == 0  # nothing to write for that day
    assert DailyStats.get(pid, "2026-11-02", consistent_read=True).messages == 3
    totals = DailyStats.get(pid, TOTALS_DAY, consistent_read=True)
    assert (totals.status_active, totals.status_closed, totals.status_handed_off) == (2, 1, None)
    asked = QuestionStat.get(f"{pid}#2026-11-02", question_key(long_question), consistent_read=True)
    assert (asked.count, asked.text) == (2, long_question.strip()[:300])
    assert len(asked.text) == 300
    _expires_in_400_days(asked)
    assert QuestionStat.get(f"{pid}#2026-11-02", question_key("Where is my order?"), consistent_read=True).count == 2


def test_one_delta_counts_every_unanswered_question_it_holds(moto_endpoint):
    """Knowledge gaps (README "Knowledge gaps"): the same unanswered question twice in one delta is
    asked twice, once rated down; its wording is kept to 300 characters and its terms space-separated."""
    from pynamodb.transactions import TransactWrite

    from botplot import ids
    from botplot.db.base import connection
    from botplot.db.stats import QuestionStat
    from botplot.services import gaps
    from botplot.services.counters import StatsDelta

    pid = f"p-{ids.uuid7()}"
    question = "  Do you repair bikes bought abroad? " + "Please tell me more. " * 20
    with TransactWrite(connection=connection()) as tx:
        (StatsDelta(pid).gap("2026-11-02", question, at="2026-11-02T10:00:00.000Z")
         .gap("2026-11-02", question, rated_down=True, at="2026-11-02T09:00:00.000Z")).apply(tx)
    terms = gaps.terms(question)
    stored = QuestionStat.get(gaps.partition(pid, "2026-11-02"), gaps.key(terms), consistent_read=True)
    assert (stored.count, stored.rated_down, stored.terms) == (2, 1, " ".join(terms))
    assert stored.text == question.strip()[:300] and len(stored.text) == 300
    assert (stored.last_asked_at, stored.last_text) == ("2026-11-02T10:00:00.000Z", question.strip()[:300])


def test_a_question_keeps_its_key_across_versions():
    """A question's counters are found by its key (README "Back office": topQuestions): a key computed
    differently after a deploy would split one question's counts in two, so it is pinned here."""
    from botplot.services.counters import question_key

    assert question_key("  Where is my ORDER?! ") == "7ef1b7dbfb230768b9387831"  # sha256 of the normalised text, 24 hex


def test_a_delta_takes_back_the_question_and_gap_counters_it_counts_down():
    """Deleting a conversation erases the counters it counted down, whose wording may then be nobody
    else's (README "Deletes keep the counters honest"): the delta lists those, and only those: not a
    counter it raises, nor one whose changes cancel out."""
    from botplot.services import gaps
    from botplot.services.counters import StatsDelta, question_key

    delta = (StatsDelta("p")
             .question("2026-11-02", "Do you ship abroad?")  # counted up
             .question("2026-11-02", "Where is my order?", -1)
             .question("2026-11-03", "Is it free?").question("2026-11-03", "is it free", -1)  # even
             .gap("2026-11-02", "Do you sell helmets?")
             .gap("2026-11-03", "Any discounts?", 2).gap("2026-11-03", "any discounts", -2)
             .gap("2026-11-02", "Can you repair bikes?", -1))
    assert delta.taken_back() == [("p#2026-11-02", question_key("Where is my order?")),
                                  ("p#gaps#2026-11-02", gaps.key(gaps.terms("Can you repair bikes?")))]
    assert StatsDelta("p").question("2026-11-02", "Anything?").gap("2026-11-02", "Anything?").taken_back() == []


def test_an_unanswered_question_whose_changes_cancel_out_writes_nothing_and_the_next_is_counted(moto_endpoint):
    """A gap counted up and down in one delta leaves no item (its wording is nobody's); the gaps after it
    in the same delta are still written, without a time when none was given, not rated down."""
    from pynamodb.transactions import TransactWrite

    from botplot import ids
    from botplot.db.base import connection
    from botplot.db.stats import QuestionStat
    from botplot.services import gaps
    from botplot.services.counters import StatsDelta

    pid = f"p-{ids.uuid7()}"
    with TransactWrite(connection=connection()) as tx:
        (StatsDelta(pid).gap("2026-11-02", "Can you repair bikes?", at="2026-11-02T10:00:00.000Z")
         .gap("2026-11-02", "can you repair bikes", -1)
         .gap("2026-11-02", "Do you sell helmets?")
         # asked twice, both answers rated down; a change of zero asks nothing: neither time nor wording move
         .gap("2026-11-02", "Is there a warranty?", rated_down=True, at="2026-11-02T08:00:00.000Z")
         .gap("2026-11-02", "Is there a WARRANTY?", rated_down=True, at="2026-11-02T09:00:00.000Z")
         .gap("2026-11-02", "warranty??", 0, at="2026-11-02T11:00:00.000Z")).apply(tx)
    partition = gaps.partition(pid, "2026-11-02")
    assert sorted(item.terms for item in QuestionStat.query(partition, consistent_read=True)) == ["helmet sell",
                                                                                                 "warranty"]
    warranty = QuestionStat.get(partition, gaps.key(gaps.terms("warranty")), consistent_read=True)
    assert (warranty.count, warranty.rated_down, warranty.last_asked_at, warranty.last_text) == (
        2, 2, "2026-11-02T09:00:00.000Z", "Is there a WARRANTY?")
    stored = QuestionStat.get(partition, gaps.key(gaps.terms("Do you sell helmets?")), consistent_read=True)
    assert (stored.count, stored.rated_down, stored.last_asked_at, stored.text) == (1, None, None,
                                                                                  "Do you sell helmets?")
    _expires_in_400_days(stored)


def _expires_in_400_days(item) -> None:
    """Question and gap counters expire 400 days after their last change, as day items do."""
    left = item.expires_at - datetime.now(timezone.utc)
    assert timedelta(days=400, minutes=-10) < left <= timedelta(days=400)
