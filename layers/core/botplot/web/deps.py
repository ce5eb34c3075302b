"""FastAPI dependencies: authenticate the key, count the call against the quota.

They are async so that the project id they add to the log context reaches the endpoint (which
FastAPI runs in a worker thread with a copy of this context); the blocking lookups run in the
thread pool.
"""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from botplot.observability import logger
from botplot.services import auth, quota
from botplot.services.auth import Principal


def _authorize(request: Request, require_secret: bool) -> Principal:
    principal = auth.authenticate(request.headers.get("authorization"), require_secret)
    request.state.rate_limit = quota.consume(principal.project_id, principal.plan)
    return principal


async def public_key(request: Request) -> Principal:
    """Chat and widget routes: a public key (or the project's secret key)."""
    principal = await run_in_threadpool(_authorize, request, False)
    logger.thread_safe_append_keys(project_id=principal.project_id)
    return principal


async def secret_key(request: Request) -> Principal:
    """Management routes: the project's secret key only."""
    principal = await run_in_threadpool(_authorize, request, True)
    logger.thread_safe_append_keys(project_id=principal.project_id)
    return principal


async def secret_key_uncounted(request: Request) -> Principal:
    """A management route that decides itself whether the call counts (see :func:`count_call`)."""
    principal = await run_in_threadpool(auth.authenticate, request.headers.get("authorization"), True)
    logger.thread_safe_append_keys(project_id=principal.project_id)
    return principal


def count_call(request: Request, principal: Principal, counted: bool = True) -> None:
    """Count the call (or only report the standing in the rate-limit headers)."""
    consume = quota.consume if counted else quota.peek
    request.state.rate_limit = consume(principal.project_id, principal.plan)
