"""The ``cursor`` query parameter every list takes beside ``offset`` (see :mod:`botplot.cursors`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from botplot import cursors
from botplot.errors import bad_request

Cursor = Annotated[str | None, Query(
    min_length=1, max_length=cursors.MAX_LENGTH,
    description="The nextCursor of the previous page: the page after it, whatever its depth (not with offset). "
                "400 INVALID_CURSOR for a cursor of another list, project or filters")]


def after(request: Request, cursor: str | None, project_id: str, listing: str, filters: dict) -> str | None:
    """The position a request's cursor continues from (``None`` without one)."""
    if cursor is None:
        return None
    if "offset" in request.query_params:
        raise bad_request("Give either 'offset' or 'cursor', not both")
    return cursors.read(cursor, project_id, listing, filters)


def next_cursor(project_id: str, listing: str, filters: dict, last: str | None, more: bool) -> str | None:
    """The page after this one, or ``None`` when this one is the last."""
    return cursors.sign(project_id, listing, filters, last) if more and last is not None else None
