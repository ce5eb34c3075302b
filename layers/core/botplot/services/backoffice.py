"""Conversations and leads for the customer's back office: pages, exact totals, cascade deletes.

Lists read the newest items first from a key designed for it (conversation and lead ids are
UUIDv7, so the range key is creation order; the ``byStatus`` index serves the status filter) and
take ``total`` from the counters. ``offset`` pagination reads the skipped items too: DynamoDB has no
positional access, so a page costs ``offset + limit`` item reads. A cursor (``after``: the last id
of the previous page) starts the query just past it, so a page costs ``limit`` reads at any depth.
Each page reads one item more than it returns, to tell whether a next page exists. A lead search
reads the project's leads (a case-insensitive substring match on name and email cannot use a key)
and counts what matched.
"""

from __future__ import annotations

import itertools
import json

from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from botplot import clock, ids
from botplot.db.base import condition_failed, connection
from botplot.db.conversations import Conversation, Message
from botplot.db.leads import Lead
from botplot.db.stats import TOTALS_DAY, DailyStats, QuestionStat, Visitor
from botplot.errors import not_found
from botplot.services import conversation_store as store
from botplot.services.counters import STATUS_FIELDS, StatsDelta

STATUSES = tuple(STATUS_FIELDS)


def _totals(project_id: str) -> DailyStats | None:
    try:
        return DailyStats.get(project_id, TOTALS_DAY, consistent_read=True)
    except DoesNotExist:
        return None


def _status_total(totals: DailyStats | None, status: str | None) -> int:
    if totals is None:
        return 0
    statuses = [status] if status else STATUSES
    return sum(max(0, int(getattr(totals, STATUS_FIELDS[s]) or 0)) for s in statuses)


def _window(pages, offset: int, limit: int) -> tuple[list, bool]:
    """The page, and whether more items follow it."""
    items = list(itertools.islice(pages, offset, offset + limit + 1))
    return items[:limit], len(items) > limit


def list_conversations(project_id: str, limit: int, offset: int, status: str | None,
                       after: str | None = None) -> tuple[list, int, bool]:
    """A page of conversations, newest first, the exact total, and whether there are more."""
    reads = offset + limit + 1
    after_key = Conversation.conversation_id < after if after else None
    if status:
        pages = Conversation.by_status.query(store.status_key(project_id, status), after_key,
                                             scan_index_forward=False, limit=reads, page_size=min(reads, 1000))
    else:
        pages = Conversation.query(project_id, after_key, scan_index_forward=False, limit=reads,
                                   page_size=min(reads, 1000))
    items, more = _window(pages, offset, limit)
    return items, _status_total(_totals(project_id), status), more


def conversation_view(c: Conversation) -> dict:
    return {
        "id": c.conversation_id,
        "visitorId": c.visitor_id,
        "status": c.status,
        "overallRating": None if c.overall_rating is None else int(c.overall_rating),
        "handoffStatus": c.handoff_status,
        "messageCount": int(c.message_count or 0),
        "firstMessage": c.first_message,
        "createdAt": clock.api_time(c.created_at),
        "lastMessageAt": clock.api_time(c.last_message_at),
    }


def message_view(m: Message) -> dict:
    view = {"id": m.message_id, "role": m.role, "content": m.content, "createdAt": clock.api_time(m.created_at)}
    if m.rating is not None:
        view["rating"] = int(m.rating)
    if m.role == "assistant":
        if m.confidence_score is not None:
            view["confidence"] = float(m.confidence_score)
        if m.citations:
            view["citations"] = json.loads(m.citations)
    return view


def get_conversation(project_id: str, conversation_id: str) -> dict:
    conversation = store.load(project_id, conversation_id)
    return {**conversation_view(conversation),
            "messages": [message_view(m) for m in store.all_messages(conversation.conversation_id)]}


def _visitor_after_delete(conversation: Conversation, delta: StatsDelta) -> tuple[Visitor, str | None, str | None]:
    """The visitor's last active day once this conversation is gone, and the counter moves it needs."""
    visitor_id = conversation.visitor_key.split("#", 1)[1]
    try:
        visitor = Visitor.get(conversation.project_id, visitor_id, consistent_read=True)
    except DoesNotExist:
        return Visitor(conversation.project_id, visitor_id), None, None
    remaining = [entry.conversation_id for entry in Conversation.by_visitor.query(conversation.visitor_key)
                 if entry.conversation_id != conversation.conversation_id]
    days = [clock.day(clock.parse(c.last_message_at))
            for c in Conversation.batch_get([(conversation.project_id, cid) for cid in remaining])]
    new_day = max(days) if days else None
    if new_day != visitor.last_seen_day:
        if visitor.last_seen_day:
            delta.add(visitor.last_seen_day, "visitors", -1)
        if new_day:
            delta.add(new_day, "visitors")
    return visitor, visitor.last_seen_day, new_day


def delete_conversation(project_id: str, conversation_id: str, *, visitor_counted: bool = True) -> dict:
    """Delete a conversation and all its messages, taking back everything they counted; returns
    what was erased (``conversations``, ``messages``, ``ratings``).

    ``visitor_counted=False`` leaves the visitor's last active day to the caller: erasing a whole
    visitor settles it once at the end instead of recomputing it from the remaining conversations
    after each one."""
    conversation = store.load(project_id, conversation_id)
    messages = store.all_messages(conversation.conversation_id)
    delta = StatsDelta(project_id)
    created_day = clock.day(clock.parse(conversation.created_at))
    delta.add(created_day, "conversations", -1).status(conversation.status, None)
    ratings = 0
    if conversation.unresolved:
        delta.add(created_day, "unresolved", -1)
    if conversation.overall_rating is not None and conversation.rated_at:
        delta.add(clock.day(clock.parse(conversation.rated_at)),
                  "positive" if conversation.overall_rating > 0 else "negative", -1)
        ratings += 1
    question = ""
    for m in messages:
        day = clock.day(clock.parse(m.created_at))
        delta.add(day, "messages", -1)
        if m.role == "user":
            delta.question(day, m.content, -1)
            question = m.content
        if m.rating is not None and m.rated_at:
            delta.add(clock.day(clock.parse(m.rated_at)), "positive" if m.rating > 0 else "negative", -1)
            ratings += 1
        if m.gap_at:
            delta.gap(clock.day(clock.parse(m.gap_at)), question, -1, rated_down=m.grounded is not False)
    visitor, old_day, new_day = (_visitor_after_delete(conversation, delta) if visitor_counted
                                 else (None, None, None))
    with TransactWrite(connection=connection()) as tx:
        tx.delete(conversation, condition=Conversation.conversation_id.exists())
        if old_day != new_day:
            unchanged = Visitor.last_seen_day == old_day if old_day else Visitor.last_seen_day.does_not_exist()
            if new_day:
                tx.update(visitor, actions=[Visitor.last_seen_day.set(new_day)], condition=unchanged)
            else:
                tx.delete(visitor, condition=unchanged)
        delta.apply(tx)
    # The conversation and its counts are gone; now its messages (they are unreachable already).
    with Message.batch_write() as batch:
        for m in messages:
            batch.delete(m)
    _forget_unasked(delta)
    return {"conversations": 1, "messages": len(messages), "ratings": ratings}


def _forget_unasked(delta: StatsDelta) -> None:
    """Drop the question and gap counters nobody else asked (count back to 0): their text was
    this conversation's words and must not outlive it."""
    for partition, key in delta.taken_back():
        try:
            QuestionStat(partition, key).delete(condition=QuestionStat.count <= 0)
        except DeleteError as error:
            if not condition_failed(error):
                raise
            # others asked it too: the count and their shared wording stay


def list_leads(project_id: str, limit: int, offset: int, search: str | None,
               after: str | None = None) -> tuple[list, int, bool]:
    """A page of leads, newest first, the exact total, and whether there are more."""
    if not search:
        reads = offset + limit + 1
        pages = Lead.query(project_id, Lead.lead_id < after if after else None, scan_index_forward=False,
                           limit=reads, page_size=min(reads, 1000))
        totals = _totals(project_id)
        items, more = _window(pages, offset, limit)
        return items, max(0, int((totals and totals.leads) or 0)), more
    needle = search.strip().casefold()
    matches = list(Lead.query(project_id, scan_index_forward=False, filter_condition=Lead.search_text.contains(needle)))
    start = offset if after is None else next((i for i, lead in enumerate(matches) if lead.lead_id < after),
                                              len(matches))
    return matches[start:start + limit], len(matches), len(matches) > start + limit


def lead_view(lead: Lead) -> dict:
    return {"id": lead.lead_id, "name": lead.name, "email": lead.email, "phone": lead.phone,
            "conversationId": lead.conversation_id, "visitorId": lead.visitor_id,
            "createdAt": clock.api_time(lead.created_at)}


def delete_lead(project_id: str, lead_id: str) -> None:
    if not ids.is_uuid(lead_id):
        raise not_found("Lead", "LEAD_NOT_FOUND")
    try:
        lead = Lead.get(project_id, lead_id)
    except DoesNotExist:
        raise not_found("Lead", "LEAD_NOT_FOUND") from None
    delta = StatsDelta(project_id).add(clock.day(clock.parse(lead.created_at)), "leads", -1).add(TOTALS_DAY, "leads", -1)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.delete(lead, condition=Lead.lead_id.exists())
            delta.apply(tx)
    except TransactWriteError:
        raise not_found("Lead", "LEAD_NOT_FOUND") from None
