"""Reading conversations and messages, scoped to the caller's project."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from botplot import ids
from botplot.db.conversations import IDLE_SHARDS, Conversation, Message
from botplot.errors import not_found


def load(project_id: str, conversation_id: str, visitor_id: str | None = None) -> Conversation:
    """The project's conversation, or 404 (also for another project's id or a malformed one).

    With ``visitor_id`` (a verified visitor: the project requires identity) it must be that
    visitor's conversation; anyone else's is unknown to the caller, 404 alike.
    """
    if not isinstance(conversation_id, str) or not ids.is_uuid(conversation_id):
        raise not_found("Conversation", "CONVERSATION_NOT_FOUND")
    try:
        conversation = Conversation.get(project_id, conversation_id)
    except DoesNotExist:
        raise not_found("Conversation", "CONVERSATION_NOT_FOUND") from None
    if visitor_id is not None and conversation.visitor_id != visitor_id:
        raise not_found("Conversation", "CONVERSATION_NOT_FOUND")
    return conversation


def recent_messages(conversation_id: str, limit: int = 20) -> list[Message]:
    """The last ``limit`` messages, oldest first."""
    newest_first = Message.query(conversation_id, scan_index_forward=False, limit=limit)
    return list(reversed(list(newest_first)))


def all_messages(conversation_id: str) -> list[Message]:
    return list(Message.query(conversation_id, scan_index_forward=True))


def status_key(project_id: str, status: str) -> str:
    return f"{project_id}#{status}"


def visitor_key(project_id: str, visitor_id: str | None, conversation_id: str) -> str:
    """Anonymous conversations (no ``visitorId``) count as one visitor each."""
    who = f"v:{visitor_id}" if visitor_id else f"c:{conversation_id}"
    return f"{project_id}#{who}"


def idle_shard(conversation_id: str) -> str:
    return f"idle#{int(conversation_id[-4:], 16) % IDLE_SHARDS}"
