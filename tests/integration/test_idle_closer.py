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


def test_idle_conversations_close_once_and_fire_conversation_ended_once(moto_endpoint):
    from botplot.services import chat, projects, widget
    from botplot.services.auth import Principal
    from botplot.services.chat import AnswerRecord

    project, _ = projects.create_project("idle", "enterprise")
    caller = Principal(project.project_id, "enterprise", "public", "idle", None)
    now = datetime.now(timezone.utc)
    idle, handed_off = [], None
    for minutes_ago in (45, 50, 90, 31):
        with time_machine.travel(now - timedelta(minutes=minutes_ago), tick=False):
            turn = chat.begin(caller, "hello", None, "v-idle")
            chat.finish(turn, AnswerRecord("hi", grounded=True))
            idle.append(turn.conversation.conversation_id)
    handed_off = idle.pop()  # idle too, but a human took it over: never closed
    with time_machine.travel(now - timedelta(minutes=40), tick=False):
        widget.request_handoff(caller, handed_off, None)
    recent = chat.begin(caller, "still here", None, "v-idle").conversation.conversation_id

    handler = load_module("IdleCloserFunction").handler
    results = []
    runs = [threading.Thread(target=lambda: results.append(handler({}, LambdaContext("idle")))) for _ in range(3)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()

    ended = [r["dynamodb"]["NewImage"] for r in outbox_records(project.project_id)]
    ended = [e for e in ended if e["event"]["S"] == "conversation.ended"]
    assert sorted(json.loads(e["payload"]["S"])["data"]["conversation_id"] for e in ended) == sorted(idle)
    assert sum(r["closed"] for r in results) == len(idle)
    table = boto3.resource("dynamodb").Table(os.environ["BOTPLOT_TABLE_CONVERSATIONS"])
    status = {c: table.get_item(Key={"projectId": project.project_id, "conversationId": c})["Item"]["status"]
              for c in [*idle, handed_off, recent]}
    assert status == {**{c: "closed" for c in idle}, handed_off: "handed_off", recent: "active"}
    totals = boto3.resource("dynamodb").Table(os.environ["BOTPLOT_TABLE_DAILY_STATS"]).get_item(
        Key={"projectId": project.project_id, "day": "all"})["Item"]
    assert (totals["statusActive"], totals["statusClosed"], totals["statusHandedOff"]) == (1, 3, 1)

    # a visitor coming back reopens a closed conversation
    chat.begin(caller, "one more thing", idle[0], "v-idle")
    item = table.get_item(Key={"projectId": project.project_id, "conversationId": idle[0]})["Item"]
    assert item["status"] == "active" and "idleShard" in item


def test_the_idle_threshold_is_thirty_minutes(moto_endpoint):
    """35 minutes without a message closes a conversation; 25 minutes does not (BOTPLOT_IDLE_MINUTES=30)."""
    from botplot.services import chat, projects
    from botplot.services.auth import Principal
    from botplot.services.chat import AnswerRecord

    project, _ = projects.create_project("idle threshold", "enterprise")
    caller = Principal(project.project_id, "enterprise", "public", "idle", None)
    now = datetime.now(timezone.utc)
    started = {}
    for minutes_ago in (35, 25):
        with time_machine.travel(now - timedelta(minutes=minutes_ago), tick=False):
            turn = chat.begin(caller, "hello", None, f"v-{minutes_ago}")
            chat.finish(turn, AnswerRecord("hi", grounded=True))
            started[minutes_ago] = turn.conversation.conversation_id
    result = load_module("IdleCloserFunction").handler({}, LambdaContext("idle"))
    assert result["closed"] >= 1
    table = boto3.resource("dynamodb").Table(os.environ["BOTPLOT_TABLE_CONVERSATIONS"])
    status = {m: table.get_item(Key={"projectId": project.project_id, "conversationId": c},
                                ConsistentRead=True)["Item"]["status"] for m, c in started.items()}
    assert status == {35: "closed", 25: "active"}
