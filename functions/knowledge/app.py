"""Knowledge group (secret key): list, add (URL or Q&A), inspect, recrawl and delete sources."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from botplot.errors import ApiError
from botplot.knowledge.index.base import ChunkPosition
from botplot.net import urls
from botplot.services import knowledge
from botplot.services.auth import Principal
from botplot.web import paging, schemas
from botplot.web.app import API_PREFIX, create_app
from botplot.web.deps import AuthFirstRoute, count_call, secret_key, secret_key_uncounted
from botplot.web.handlers import mangum_handler

router = APIRouter(prefix=API_PREFIX, tags=["knowledge"], responses=schemas.COMMON_ERRORS,
                   route_class=AuthFirstRoute)
Caller = Annotated[Principal, Depends(secret_key)]
#: as for every other list; beyond OpenSearch's 10,000-hit window the index pages with search_after
MAX_CHUNK_OFFSET = 100_000


class AddUrl(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: StrictStr = Field(description="The URL to crawl and index", examples=["https://example.com/docs"],
                           json_schema_extra=schemas.documented(pattern=urls.HTTP_URL,
                                                                   maxLength=knowledge.MAX_URL_LENGTH))
    syncFrequency: Literal["manual", "daily", "weekly"] = Field("manual", description='"manual", "daily", or "weekly"')

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return knowledge.validate_url(value)


class AddQa(BaseModel):
    model_config = ConfigDict(extra="ignore")

    question: StrictStr = Field(min_length=1, max_length=1000, description="The question (not blank)",
                                json_schema_extra=schemas.documented(pattern=r"\S"))
    answer: StrictStr = Field(min_length=1, max_length=10000, description="The answer (not blank)",
                              json_schema_extra=schemas.documented(pattern=r"\S"))

    @field_validator("question", "answer")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


@router.get("/knowledge", response_model=schemas.SourceList, response_model_exclude_unset=True)
def list_sources(
    caller: Caller,
    request: Request,
    limit: Annotated[int | None, Query(ge=1, le=100, description="Max results (default: all, as the reference "
                                                                  "lists them; give it, or cursor, to page)")] = None,
    cursor: paging.Cursor = None,
) -> dict:
    """List all knowledge sources for the project, newest first; with `limit` (and then `cursor`, the previous
    page's `nextCursor`) a page at a time."""
    after = paging.after(request, cursor, caller.project_id, "sources", {})
    items, more = knowledge.list_sources(caller.project_id, limit, after)
    return {"sources": [knowledge.view(s) for s in items],
            "nextCursor": paging.next_cursor(caller.project_id, "sources", {},
                                             items[-1].source_id if items else None, more)}


@router.post("/knowledge/url", response_model=schemas.SourceCreated)
def add_url(body: AddUrl, caller: Caller) -> dict:
    """Add a URL source. Triggers async crawl, embedding, and indexing."""
    source = knowledge.add_url(caller.project_id, body.url, body.syncFrequency)
    return {"sourceId": source.source_id, "status": source.status}


@router.post("/knowledge/qa", response_model=schemas.SourceCreated)
def add_qa(body: AddQa, caller: Caller) -> dict:
    """Add a Q&A pair as a knowledge source (indexed before this call returns)."""
    source = knowledge.add_qa(caller.project_id, body.question, body.answer)
    return {"sourceId": source.source_id, "status": source.status}


@router.get("/knowledge/{sourceId}", response_model=schemas.SourceResponse, response_model_exclude_unset=True)
def get_source(sourceId: str, request: Request, caller: Annotated[Principal, Depends(secret_key_uncounted)],
               limit: Annotated[int, Query(ge=1, le=1000, description="Chunks to return (default 500)")] = 500,
               offset: Annotated[int, Query(ge=0, le=MAX_CHUNK_OFFSET, description="Chunks to skip (max 100000)")] = 0,
               cursor: paging.Cursor = None,
               ) -> dict:
    """Get full details of a knowledge source including its chunks and its last crawl's change report.
    While the source is processing, reading it does not count against the monthly quota (poll its
    `progress` freely); once it is ready or failed, it counts like any call. Chunks page with `limit`
    and `offset`, or `cursor` (the previous page's `nextCursor`, bound to this source)."""
    try:
        source = knowledge.get(caller.project_id, sourceId)
        scope = {"sourceId": source.source_id}
        after = paging.after(request, cursor, caller.project_id, "chunks", scope)
    except ApiError:
        count_call(request, caller)
        raise
    count_call(request, caller, counted=source.status != "processing")
    chunks, more = knowledge.chunks(caller.project_id, source.source_id, limit, offset, after)
    return {
        "source": knowledge.view(source, detail=True),
        "chunks": [{"id": c.chunk_id, "content": c.content, "tokenCount": c.token_count, "url": c.url,
                    "title": c.title, "heading": c.heading} for c in chunks],
        "crawlReport": json.loads(source.crawl_report) if source.crawl_report else None,
        "nextCursor": paging.next_cursor(caller.project_id, "chunks", scope,
                                         ChunkPosition.of(chunks[-1]).encode() if chunks else None, more),
    }


@router.post("/knowledge/{sourceId}/recrawl", response_model=schemas.RecrawlResponse)
def recrawl(sourceId: str, caller: Caller) -> dict:
    """Re-crawl a URL source to update its content. A Q&A source cannot be re-crawled: 400 NOT_A_URL_SOURCE."""
    source = knowledge.recrawl(caller.project_id, sourceId)
    return {"success": True, "status": source.status}


@router.delete("/knowledge/{sourceId}", response_model=schemas.SuccessResponse)
def delete_source(sourceId: str, caller: Caller) -> dict:
    """Delete a knowledge source and all its chunks."""
    knowledge.delete(caller.project_id, sourceId)
    return {"success": True}


app = create_app(router, service="knowledge", title="BotPlot knowledge")
handler = mangum_handler(app)
