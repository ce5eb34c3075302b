"""The idle closer closes each idle conversation once, even when two runs overlap."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timedelta, timezone

import boto3
import time_machine

from botplot_dev.lambda_runtime import LambdaContext, load_module
from tests.support.workers import outbox_records


def idle_conversations_due() -> set[str]:
    """Every project's active conversations idle for 30 minutes or more (the byIdle index)."""
    from botplot.db.conversations import IDLE_SHARDS, ByIdle, Conversation

    cutoff = iso_ms(datetime.now(timezone.utc) - timedelta(minutes=30))
    return {entry.conversation_id for shard in range(IDLE_SHARDS)
            for entry in Conversation.by_idle.query(f"idle#{shard}", ByIdle.last_message_at < cutoff)}


def test_idle_conversations_close_once_and_fire_conversation_ended_once(moto_endpoint):
    from botplot.services import chat, projects, widget
    from botplot.services.auth import Principal
    from botplot.services.chat import AnswerRecord

    project, _ = projects.create_project("idle", "enterprise")
    caller = Principal(project.project_id, "enterprise", "public", "idle", None)
    now = datetime.now(timezone.utc)
    idle, handed_off, written = [], None, {}
    for minutes_ago in (45, 50, 90, 31):
        with time_machine.travel(now - timedelta(minutes=minutes_ago), tick=False):
            turn = chat.begin(caller, "hello", None, "v-idle")
            chat.finish(turn, AnswerRecord("hi", grounded=True))
            idle.append(turn.conversation.conversation_id)
            written[idle[-1]] = iso_ms(now - timedelta(minutes=minutes_ago))
    handed_off = idle.pop()  # idle too, but a human took it over: never closed
    with time_machine.travel(now - timedelta(minutes=40), tick=False):
        widget.request_handoff(caller, handed_off, None)
    recent = chat.begin(caller, "still here", None, "v-idle").conversation.conversation_id

    handler = load_module("IdleCloserFunction").handler
    # the closer closes every project's idle conversations, and earlier tests of this session may have
    # left some: each one due now must be closed (and counted) exactly once over the three runs
    due = idle_conversations_due()
    results = []
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    runs = [threading.Thread(target=lambda: results.append(handler({}, LambdaContext("idle")))) for _ in range(3)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()

    ended = [r["dynamodb"]["NewImage"] for r in outbox_records(project.project_id)]
    ended = [e for e in ended if e["event"]["S"] == "conversation.ended"]
    assert sorted(json.loads(e["payload"]["S"])["data"]["conversation_id"] for e in ended) == sorted(idle)
    assert set(idle) <= due
    assert sum(r["closed"] for r in results) == len(due)
    after = datetime.now(timezone.utc) + timedelta(seconds=1)
    for e in ended:  # README "Idle conversations": the event's fields
        data = json.loads(e["payload"]["S"])["data"]
        ended_at = data.pop("ended_at")
        assert data == {"conversation_id": data["conversation_id"], "visitor_id": "v-idle", "message_count": 2,
                        "started_at": written[data["conversation_id"]],
                        "last_message_at": written[data["conversation_id"]], "reason": "idle"}
        assert ended_at.endswith("Z") and before <= datetime.fromisoformat(ended_at.replace("Z", "+00:00")) <= after
    table = boto3.resource("dynamodb").Table(os.environ["BOTPLOT_TABLE_CONVERSATIONS"])
    status = {c: table.get_item(Key={"projectId": project.project_id, "conversationId": c})["Item"]["status"]
              for c in [*idle, handed_off, recent]}
    assert status == {**{c: "closed" for c in idle}, handed_off: "handed_off", recent: "active"}
    totals = boto3.resource("dynamodb").Table(os.environ["BOTPLOT_TABLE_DAILY_STATS"]).get_item(
        Key={"projectId": project.project_id, "day": "all"})["Item"]
    assert (totals["statusActive"], totals["statusClosed"], totals["statusHandedOff"]) == (1, 3, 1)
    # GET /conversations?status=closed lists them (README "Back office": the status filter)
    from botplot.services.backoffice import list_conversations

    listed, total, _ = list_conversations(project.project_id, 100, 0, "closed")
    assert sorted(c.conversation_id for c in listed) == sorted(idle) and total == 3

    # a visitor coming back reopens a closed conversation
    chat.begin(caller, "one more thing", idle[0], "v-idle")
    item = table.get_item(Key={"projectId": project.project_id, "conversationId": idle[0]})["Item"]
    assert item["status"] == "active" and "idleShard" in item


def iso_ms(moment: datetime) -> str:
    """The API's timestamps: ISO 8601 in UTC with milliseconds and a Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_the_idle_threshold_is_thirty_minutes(moto_endpoint):
    """35 minutes without a message closes a conversation; 25 minutes does not (BOTPLOT_IDLE_MINUTES=30)."""
    from botplot.services import chat, projects
    from botplot.services.auth import Principal
    from botplot.services.chat import AnswerRecord

    project, _ = projects.create_project("idle threshold", "enterprise")
    caller = Principal(project.project_id, "enterprise", "public", "idle", None)
    now = datetime.now(timezone.utc)
    started = {}
    for minutes_ago in (35, 25, 45):
        with time_machine.travel(now - timedelta(minutes=minutes_ago), tick=False):
            turn = chat.begin(caller, "hello", None, f"v-{minutes_ago}")
            chat.finish(turn, AnswerRecord("hi", grounded=True))
            started[minutes_ago] = turn.conversation.conversation_id
    result = load_module("IdleCloserFunction").handler({}, LambdaContext("idle"))
    assert result["closed"] == 2  # no other test leaves a conversation idle this long
    table = boto3.resource("dynamodb").Table(os.environ["BOTPLOT_TABLE_CONVERSATIONS"])
    status = {m: table.get_item(Key={"projectId": project.project_id, "conversationId": c},
                                ConsistentRead=True)["Item"]["status"] for m, c in started.items()}
    assert status == {35: "closed", 25: "active", 45: "closed"}
