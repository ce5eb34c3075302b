"""Conversations group (secret key): list with pagination and status filter, read, delete; a
visitor's data exported or erased."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from botplot.services import backoffice, visitors
from botplot.services.auth import Principal
from botplot.web import paging, schemas
from botplot.web.app import API_PREFIX, create_app
from botplot.web.deps import AuthFirstRoute, secret_key
from botplot.web.handlers import mangum_handler

router = APIRouter(prefix=API_PREFIX, tags=["conversations"], responses=schemas.COMMON_ERRORS,
                   route_class=AuthFirstRoute)
Caller = Annotated[Principal, Depends(secret_key)]


@router.get("/conversations", response_model=schemas.ConversationList)
def list_conversations(
    caller: Caller,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100, description="Max results (default 20, max 100)")] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000, description="Skip N results")] = 0,
    status: Annotated[Literal["active", "closed", "archived", "handed_off"] | None, Query(
        description='"active", "closed", "archived", or "handed_off"')] = None,
    cursor: paging.Cursor = None,
) -> dict:
    """List conversations with pagination and optional status filter, newest first. Page with `offset`, or with
    `cursor` (the previous page's `nextCursor`), which reads only the page whatever its depth."""
    filters = {"status": status}
    after = paging.after(request, cursor, caller.project_id, "conversations", filters)
    items, total, more = backoffice.list_conversations(caller.project_id, limit, offset, status, after)
    return {"conversations": [backoffice.conversation_view(c) for c in items], "total": total,
            "nextCursor": paging.next_cursor(caller.project_id, "conversations", filters,
                                             items[-1].conversation_id if items else None, more)}


@router.get("/conversations/{id}", response_model=schemas.ConversationResponse, response_model_exclude_unset=True)
def get_conversation(id: str, caller: Caller) -> dict:
    """Get a conversation with all its messages, in order."""
    return {"conversation": backoffice.get_conversation(caller.project_id, id)}


@router.delete("/conversations/{id}", response_model=schemas.SuccessResponse)
def delete_conversation(id: str, caller: Caller) -> dict:
    """Delete a conversation and all its messages (analytics no longer count them)."""
    backoffice.delete_conversation(caller.project_id, id)
    return {"success": True}


VisitorId = Annotated[str, Path(min_length=1, max_length=visitors.MAX_VISITOR_ID,
                                description="The visitorId the chat routes were given (at most 200 characters)")]


@router.get("/visitors/{visitorId}/export", response_model=schemas.VisitorExport, response_model_exclude_unset=True)
def export_visitor(visitorId: VisitorId, caller: Caller) -> dict:
    """Everything stored about one visitor of the key's project, as one JSON document: their
    conversations with every message, their ratings and their leads, oldest first. A visitor
    with none of these is 404 VISITOR_NOT_FOUND."""
    return visitors.export(caller.project_id, visitorId)


@router.delete("/visitors/{visitorId}", response_model=schemas.VisitorErased)
def erase_visitor(visitorId: VisitorId, caller: Caller) -> dict:
    """Erase one visitor: every conversation, message, rating and lead, and every analytics
    counter they moved (conversations, messages, questions, ratings, resolution, unique visitors,
    leads). Answers with what was erased. A visitor with nothing stored (never seen, or already
    erased) is 404 VISITOR_NOT_FOUND."""
    return visitors.erase(caller.project_id, visitorId)


app = create_app(router, service="conversations", title="BotPlot conversations")
handler = mangum_handler(app)
