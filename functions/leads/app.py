"""Leads group (secret key): list with pagination and search, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from botplot.services import backoffice
from botplot.services.auth import Principal
from botplot.web import paging, schemas
from botplot.web.app import API_PREFIX, create_app
from botplot.web.deps import AuthFirstRoute, secret_key
from botplot.web.handlers import mangum_handler

router = APIRouter(prefix=API_PREFIX, tags=["leads"], responses=schemas.COMMON_ERRORS,
                   route_class=AuthFirstRoute)
Caller = Annotated[Principal, Depends(secret_key)]


@router.get("/leads", response_model=schemas.LeadList)
def list_leads(
    caller: Caller,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100, description="Max results (default 20, max 100)")] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000, description="Skip N results")] = 0,
    search: Annotated[str | None, Query(max_length=200, description="Search by name or email")] = None,
    cursor: paging.Cursor = None,
) -> dict:
    """List captured leads, newest first; search matches name or email, case-insensitively. Page with `offset`,
    or with `cursor` (the previous page's `nextCursor`)."""
    filters = {"search": search}
    after = paging.after(request, cursor, caller.project_id, "leads", filters)
    items, total, more = backoffice.list_leads(caller.project_id, limit, offset, search, after)
    return {"leads": [backoffice.lead_view(lead) for lead in items], "total": total,
            "nextCursor": paging.next_cursor(caller.project_id, "leads", filters,
                                             items[-1].lead_id if items else None, more)}


@router.delete("/leads/{id}", response_model=schemas.SuccessResponse)
def delete_lead(id: str, caller: Caller) -> dict:
    """Delete a lead."""
    backoffice.delete_lead(caller.project_id, id)
    return {"success": True}


app = create_app(router, service="leads", title="BotPlot leads")
handler = mangum_handler(app)
