"""Idempotency-Key on the routes that change state (POST, PATCH), around the route's own handler.

Order: the key is authenticated first (401/403 as for any call); then the Idempotency-Key is
checked (400 INVALID_IDEMPOTENCY_KEY) and claimed; only a call that claimed it is counted against
the quota and run. A replay and the two 409s run nothing and count nothing (their rate-limit
headers show the standing). See :mod:`botplot.services.idempotency` for what is stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import AsyncIterator

import anyio
from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from botplot.errors import ApiError
from botplot.services import auth, idempotency, quota
from botplot.services.auth import Principal
from botplot.services.idempotency import Claim, Stored
from botplot.web.errors import error_response

HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"
METHODS = frozenset({"POST", "PATCH"})
#: a claim outlives its invocation's deadline by this much, so it is never taken from a live call
LEASE_MARGIN_SECONDS = 5.0


def applies(request: Request) -> bool:
    return request.method in METHODS and HEADER in request.headers


def _deadline(request: Request) -> float:
    """When this invocation ends: Mangum's Lambda context, the Web Adapter's header, or (locally) a
    Lambda function's longest run from now."""
    context = request.scope.get("aws.context")
    if context is not None:
        return time.time() + context.get_remaining_time_in_millis() / 1000
    header = request.headers.get("x-amzn-lambda-context")
    if header:
        try:
            return float(json.loads(header)["deadline"]) / 1000
        except (ValueError, KeyError, TypeError):
            pass
    return time.time() + idempotency.DEFAULT_LEASE_SECONDS


def _replay(stored: Stored) -> Response:
    return Response(stored.body, status_code=stored.status, media_type=stored.media_type,
                    headers={REPLAYED: "true"})


def _recorded(claim: Claim, response: StreamingResponse) -> AsyncIterator:
    """The streamed body as sent, stored once the stream ends (a client gone mid-answer included:
    the answer so far is saved, so a retry must replay, not answer again)."""
    source = response.body_iterator

    async def body():
        sent: list[bytes] = []
        try:
            async for chunk in source:
                sent.append(chunk if isinstance(chunk, bytes) else chunk.encode(response.charset))
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(idempotency.complete, claim, response.status_code, response.media_type,
                                        b"".join(sent))

    return body()


async def run(request: Request, require_secret: bool, handler: Callable[[], Awaitable[Response]],
              admit: Callable[[Principal], Awaitable[Principal]] | None = None) -> Response:
    """Authenticate, then run the call once per Idempotency-Key; ``handler`` runs the route. ``admit``
    checks what else the route requires of the caller (origin, verified visitor) before anything
    is claimed or counted, and may return the principal with more it learned."""
    principal = await run_in_threadpool(auth.authenticate, request.headers.get("authorization"), require_secret)
    if admit is not None:
        principal = await admit(principal)
    request.state.principal = principal  # the route's key dependency finds it and does not count again
    try:
        key = idempotency.check_key(request.headers[HEADER])
    except ApiError:
        request.state.rate_limit = await run_in_threadpool(quota.consume, principal.project_id, principal.plan)
        raise
    route = getattr(request.scope.get("route"), "path", request.url.path)
    record = idempotency.record_id(principal.project_id, request.method, route, key)
    print_ = idempotency.fingerprint(request.method, request.url.path, request.url.query, await request.body())
    try:
        found = await run_in_threadpool(idempotency.begin, record, print_, _deadline(request) + LEASE_MARGIN_SECONDS)
    except ApiError:
        request.state.rate_limit = await run_in_threadpool(quota.peek, principal.project_id, principal.plan)
        raise
    if isinstance(found, Stored):
        request.state.rate_limit = await run_in_threadpool(quota.peek, principal.project_id, principal.plan)
        return _replay(found)
    claim = found
    try:
        request.state.rate_limit = await run_in_threadpool(quota.consume, principal.project_id, principal.plan)
        response = await handler()
    except ApiError as error:
        if not idempotency.stored_error(error):
            await run_in_threadpool(idempotency.release, claim)
            raise
        response = error_response(error)
    except BaseException:  # validation (FastAPI's), an unexpected failure, a cancelled call: not a result
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(idempotency.release, claim)
        raise
    if isinstance(response, StreamingResponse):
        response.body_iterator = _recorded(claim, response)
    else:
        await run_in_threadpool(idempotency.complete, claim, response.status_code, response.media_type, response.body)
    return response
