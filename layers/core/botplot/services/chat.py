"""A chat turn: persist the visitor's message, answer it, persist the answer; each write announces
itself (``conversation.started``, ``message.created``) in its own transaction, through the outbox.

DynamoDB requests per turn (warm key cache): a new conversation costs quota, visitor and two
transactions (4); a continued one costs quota, conversation, history and two transactions (5),
plus the visitor update when the visitor's last active day changes. The user's message is written
before any answer is attempted, so a failing model never loses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from botplot import clock, events, ids
from botplot.db.base import condition_failed, connection
from botplot.db.conversations import Conversation, Message
from botplot.db.stats import Visitor
from botplot.errors import not_found
from botplot.events import Event
from botplot.services import conversation_store as store
from botplot.services.auth import Principal
from botplot.services.counters import StatsDelta

MAX_MESSAGE_CHARS = 4000


@dataclass
class Turn:
    principal: Principal
    conversation: Conversation
    is_new: bool
    user_message: Message
    history: list[tuple[str, str]]  # earlier (role, content) pairs, oldest first


@dataclass
class AnswerRecord:
    """What the assistant said and what it was based on."""

    text: str
    grounded: bool
    confidence: float | None = None
    chunk_ids: list[str] = field(default_factory=list)
    page_urls: list[str] = field(default_factory=list)
    citations: list[dict] = field(default_factory=list)


def conversation_started(c: Conversation) -> Event:
    return Event(c.project_id, "conversation.started", {
        "conversation_id": c.conversation_id,
        "visitor_id": c.visitor_id,
        "created_at": clock.iso_ms(clock.parse(c.created_at)),
    })


def message_created(m: Message) -> Event:
    return Event(m.project_id, "message.created", {
        "conversation_id": m.conversation_id,
        "message_id": m.message_id,
        "role": m.role,
        "content": m.content,
        "confidence_score": m.confidence_score,
        "created_at": clock.iso_ms(clock.parse(m.created_at)),
    })


def _visitor_moves(conversation: Conversation, today: str) -> list[tuple[str, int]]:
    """Make today the visitor's last active day; the counter moves that implies (maybe none)."""
    visitor_id = conversation.visitor_key.split("#", 1)[1]
    try:
        result = Visitor._get_connection().update_item(
            conversation.project_id,
            range_key=visitor_id,
            actions=[Visitor.last_seen_day.set(today)],
            condition=Visitor.last_seen_day.does_not_exist() | (Visitor.last_seen_day < today),
            return_values="UPDATED_OLD",
        )
    except UpdateError as error:
        if condition_failed(error):
            return []  # already counted on today
        raise
    previous = (result.get("Attributes") or {}).get("lastSeenDay", {}).get("S")
    return [(today, 1)] + ([(previous, -1)] if previous else [])


def _new_conversation(principal: Principal, message: str, visitor_id: str | None, now_iso: str) -> Conversation:
    conversation_id = ids.uuid7()
    return Conversation(
        project_id=principal.project_id,
        conversation_id=conversation_id,
        visitor_id=visitor_id,
        status="active",
        status_key=store.status_key(principal.project_id, "active"),
        visitor_key=store.visitor_key(principal.project_id, visitor_id, conversation_id),
        idle_shard=store.idle_shard(conversation_id),
        handoff_status="none",
        message_count=1,
        first_message=message[:500],
        created_at=now_iso,
        last_message_at=now_iso,
    )


def begin(principal: Principal, message: str, conversation_id: str | None, visitor_id: str | None) -> Turn:
    """Check the conversation, write the user's message with its counters and its events."""
    now = clock.now()
    now_iso, today = clock.iso_ms(now), clock.day(now)
    if conversation_id is not None:
        conversation = store.load(principal.project_id, conversation_id, principal.verified_visitor)
        history = [(m.role, m.content) for m in store.recent_messages(conversation.conversation_id)]
        is_new = False
    else:
        conversation = _new_conversation(principal, message, visitor_id, now_iso)
        history, is_new = [], True

    visitor_moves = []
    if is_new or clock.day(clock.parse(conversation.last_message_at)) != today:
        visitor_moves = _visitor_moves(conversation, today)

    user_message = Message(
        conversation_id=conversation.conversation_id,
        message_id=ids.uuid7(),
        project_id=principal.project_id,
        role="user",
        content=message,
        created_at=now_iso,
    )
    announced = [conversation_started(conversation)] if is_new else []
    announced.append(message_created(user_message))
    for attempt in (1, 2):
        delta = StatsDelta(principal.project_id).add(today, "messages").question(today, message)
        for day, n in visitor_moves:
            delta.add(day, "visitors", n)
        try:
            with TransactWrite(connection=connection()) as tx:
                if is_new:
                    delta.add(today, "conversations").status(None, "active")
                    tx.save(conversation, condition=Conversation.conversation_id.does_not_exist())
                else:
                    tx.update(conversation, actions=_continue_actions(conversation, now_iso, delta),
                              condition=Conversation.status == conversation.status)
                tx.save(user_message)
                delta.apply(tx)
                events.save(tx, *announced)
            break
        except TransactWriteError as error:
            if is_new or attempt == 2 or not condition_failed(error):
                raise
            try:
                conversation.refresh()  # the idle closer changed its status meanwhile: retry once
            except Conversation.DoesNotExist:
                raise not_found("Conversation", "CONVERSATION_NOT_FOUND") from None

    if not is_new:
        conversation.message_count = int(conversation.message_count or 0) + 1
        conversation.last_message_at = now_iso
    return Turn(principal, conversation, is_new, user_message, history)


def _continue_actions(conversation: Conversation, now_iso: str, delta: StatsDelta) -> list:
    actions = [Conversation.message_count.add(1), Conversation.last_message_at.set(now_iso)]
    if conversation.status == "closed":  # a visitor coming back reopens the conversation
        actions += [
            Conversation.status.set("active"),
            Conversation.status_key.set(store.status_key(conversation.project_id, "active")),
            Conversation.idle_shard.set(store.idle_shard(conversation.conversation_id)),
        ]
        delta.status("closed", "active")
    return actions


def finish(turn: Turn, answer: AnswerRecord) -> Message:
    """Write the assistant's message and counters; an ungrounded answer marks the conversation
    unresolved (counted once, on the conversation's creation day)."""
    now = clock.now()
    now_iso, today = clock.iso_ms(now), clock.day(now)
    conversation = turn.conversation
    assistant = Message(
        conversation_id=conversation.conversation_id,
        message_id=ids.uuid7(),
        project_id=conversation.project_id,
        role="assistant",
        content=answer.text,
        created_at=now_iso,
        confidence_score=None if answer.confidence is None else round(answer.confidence, 4),
        chunk_ids=answer.chunk_ids or None,
        page_urls=answer.page_urls or None,
        citations=json.dumps(answer.citations) if answer.citations else None,
        grounded=answer.grounded,
        gap_at=None if answer.grounded else now_iso,  # below the confidence threshold: a knowledge gap
    )
    mark_unresolved = not answer.grounded and not conversation.unresolved
    for attempt in (1, 2):
        delta = StatsDelta(conversation.project_id).add(today, "messages")
        if not answer.grounded:
            delta.gap(today, turn.user_message.content, at=now_iso)
        actions = [Conversation.message_count.add(1), Conversation.last_message_at.set(now_iso)]
        condition = Conversation.conversation_id.exists()  # never resurrect a deleted conversation
        if mark_unresolved:
            actions.append(Conversation.unresolved.set(True))
            condition &= Conversation.unresolved.does_not_exist()
            delta.add(clock.day(clock.parse(conversation.created_at)), "unresolved")
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.update(conversation, actions=actions, condition=condition)
                tx.save(assistant)
                delta.apply(tx)
                events.save(tx, message_created(assistant))
            break
        except TransactWriteError as error:
            if attempt == 2 or not condition_failed(error):
                raise
            try:
                conversation.refresh()
            except Conversation.DoesNotExist:
                return assistant  # deleted while we answered: its messages go with it
            mark_unresolved = not answer.grounded and not conversation.unresolved
    return assistant
