"""Server-sent events as the reference frames them: ``data: {json}`` and a blank line."""

from __future__ import annotations

import json
from typing import AsyncIterator, Iterator

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

_END = object()


def event(payload: dict) -> str:
    return "data: " + json.dumps(payload, separators=(",", ":"), ensure_ascii=False) + "\n\n"


async def pump(source: Iterator[str]) -> AsyncIterator[str]:
    """Forward a blocking iterator's items as they come, each ``next()`` in the thread pool.

    When the client goes away the iterator is closed in a shielded scope, so its own clean-up
    (saving the answer so far) runs to the end.
    """
    try:
        while True:
            item = await run_in_threadpool(next, source, _END)
            if item is _END:
                return
            yield item
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(source.close)


def response(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
