"""A visitor's data rights: everything stored about one visitor, exported as one document or erased.

A visitor is who the widget or an integrator names with ``visitorId``. Their conversations are
found through the conversations' ``byVisitor`` index and their leads through the leads' one (both
keyed ``projectId`` + visitor), read a page at a time (``PAGE`` items per request, conversations
fetched in batches of the same size), so a visitor with thousands of conversations costs requests
in proportion, never a scan of the project. Ratings live on the messages and conversations they
rate.

Erasure reuses the conversation delete (each conversation in one transaction with every counter it
moved: conversations, messages, questions, ratings, unresolved, status totals) and the lead delete
(the day's and the total's count), then settles the visitor's own counter once: the visitor item
and the unique-visitor count of its last active day. Each step is complete on its own, so a call
that fails midway leaves consistent counters and a repeated call finishes the rest.
"""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from botplot import clock
from botplot.db.base import condition_failed, connection
from botplot.db.conversations import Conversation, Message
from botplot.db.leads import Lead
from botplot.db.leads import visitor_key as lead_visitor_key
from botplot.db.stats import Visitor
from botplot.errors import ApiError, not_found
from botplot.services import backoffice
from botplot.services import conversation_store as store
from botplot.services.counters import StatsDelta

#: items read per request, and conversations fetched per batch
PAGE = 100
MAX_VISITOR_ID = 200


def _unknown() -> ApiError:
    return not_found("Visitor", "VISITOR_NOT_FOUND")


def _conversation_key(project_id: str, visitor_id: str) -> str:
    return store.visitor_key(project_id, visitor_id, "")


def _conversation_ids(project_id: str, visitor_id: str) -> list[str]:
    return [entry.conversation_id for entry in Conversation.by_visitor.query(
        _conversation_key(project_id, visitor_id), page_size=PAGE)]


def _lead_ids(project_id: str, visitor_id: str) -> list[str]:
    return [entry.lead_id for entry in Lead.by_visitor.query(lead_visitor_key(project_id, visitor_id),
                                                               page_size=PAGE)]


def _conversations(project_id: str, conversation_ids: list[str]) -> Iterator[Conversation]:
    """The conversations, oldest first, fetched ``PAGE`` at a time."""
    for start in range(0, len(conversation_ids), PAGE):
        batch = conversation_ids[start:start + PAGE]
        found = {c.conversation_id: c for c in Conversation.batch_get([(project_id, cid) for cid in batch])}
        yield from (found[cid] for cid in batch if cid in found)


def _leads(project_id: str, lead_ids: list[str]) -> Iterator[Lead]:
    for start in range(0, len(lead_ids), PAGE):
        batch = lead_ids[start:start + PAGE]
        found = {lead.lead_id: lead for lead in Lead.batch_get([(project_id, lid) for lid in batch])}
        yield from (found[lid] for lid in batch if lid in found)


def _visitor(project_id: str, visitor_id: str) -> Visitor | None:
    try:
        return Visitor.get(project_id, f"v:{visitor_id}", consistent_read=True)
    except DoesNotExist:
        return None


def _exists(project_id: str, conversation_id: str) -> bool:
    try:
        Conversation.get(project_id, conversation_id, consistent_read=True)
    except DoesNotExist:
        return False
    return True


def _ratings(conversation: Conversation, messages: list[Message]) -> list[dict]:
    out = []
    if conversation.overall_rating is not None:
        out.append({"conversationId": conversation.conversation_id, "messageId": None,
                    "rating": int(conversation.overall_rating),
                    "ratedAt": clock.api_time(conversation.rated_at) if conversation.rated_at else None})
    for m in messages:
        if m.rating is not None:
            out.append({"conversationId": conversation.conversation_id, "messageId": m.message_id,
                        "rating": int(m.rating), "ratedAt": clock.api_time(m.rated_at) if m.rated_at else None})
    return out


def export(project_id: str, visitor_id: str) -> dict:
    """Every conversation (with its messages), rating and lead of the visitor, oldest first."""
    conversation_ids, lead_ids = _conversation_ids(project_id, visitor_id), _lead_ids(project_id, visitor_id)
    visitor = _visitor(project_id, visitor_id)
    if not conversation_ids and not lead_ids and visitor is None:
        raise _unknown()
    conversations, ratings = [], []
    for conversation in _conversations(project_id, conversation_ids):
        messages = list(Message.query(conversation.conversation_id, page_size=PAGE))
        view = backoffice.conversation_view(conversation)
        if conversation.handoff_reason:
            view["handoffReason"] = conversation.handoff_reason
        conversations.append({**view, "messages": [backoffice.message_view(m) for m in messages]})
        ratings += _ratings(conversation, messages)
    return {
        "visitorId": visitor_id,
        "exportedAt": clock.iso(clock.now()),
        "lastActiveDay": visitor.last_seen_day if visitor else None,
        "conversations": conversations,
        "ratings": ratings,
        "leads": [backoffice.lead_view(lead) for lead in _leads(project_id, lead_ids)],
    }


def _settle_visitor(project_id: str, visitor_id: str, visitor: Visitor) -> None:
    """The visitor has no conversation left: remove it and its count on its last active day."""
    day = visitor.last_seen_day
    try:
        with TransactWrite(connection=connection()) as tx:
            unchanged = Visitor.last_seen_day == day if day else Visitor.last_seen_day.does_not_exist()
            tx.delete(visitor, condition=unchanged)
            if day:
                StatsDelta(project_id).add(day, "visitors", -1).apply(tx)
    except TransactWriteError as error:
        if not condition_failed(error):
            raise
        # the visitor wrote again meanwhile: they are active, with a new conversation that counts them


def erase(project_id: str, visitor_id: str) -> dict:
    """Delete every conversation, message, rating and lead of the visitor, taking back every counter
    they moved; returns what was erased."""
    conversation_ids, lead_ids = _conversation_ids(project_id, visitor_id), _lead_ids(project_id, visitor_id)
    visitor = _visitor(project_id, visitor_id)
    if not conversation_ids and not lead_ids and visitor is None:
        raise _unknown()
    erased = {"conversations": 0, "messages": 0, "ratings": 0, "leads": 0}
    for conversation_id in conversation_ids:
        try:
            done = backoffice.delete_conversation(project_id, conversation_id, visitor_counted=False)
        except ApiError:
            continue  # deleted meanwhile (by another call): nothing of it is left to erase
        except TransactWriteError as error:
            if condition_failed(error) and not _exists(project_id, conversation_id):
                continue  # deleted between our read and our delete
            raise
        for name, n in done.items():
            erased[name] += n
    for lead_id in lead_ids:
        try:
            backoffice.delete_lead(project_id, lead_id)
        except ApiError:
            continue  # deleted meanwhile
        erased["leads"] += 1
    if visitor is not None and not _conversation_ids(project_id, visitor_id):
        _settle_visitor(project_id, visitor_id, visitor)
    return {"success": True, "visitorId": visitor_id, "erased": erased}
