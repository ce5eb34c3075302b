"""FastAPI dependencies and the route class that runs them first: authenticate the key, count
the call against the quota, then read the body.

FastAPI reads and parses a route's body before it solves the route's dependencies, so a request
without a key but with a broken body would be told about its body (400) instead of its key (401),
and an unparsable body would go uncounted where an invalid one counts. :class:`AuthFirstRoute`
authenticates before anything else and parses the JSON body itself, so that every body that does
not parse — broken syntax, nesting too deep to decode, integers past Python's 4,300-digit limit,
invalid UTF-8 — is the same ``400 INVALID_JSON``.

The dependencies are async so that the project id they add to the log context reaches the
endpoint (which FastAPI runs in a worker thread with a copy of this context); the blocking lookups
run in the thread pool.
"""

from __future__ import annotations

import dataclasses
import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from botplot.errors import ApiError, bad_request
from botplot.observability import logger
from botplot.services import auth, identity, origins, quota
from botplot.services.auth import Principal
from botplot.web import idempotency

INVALID_JSON = ApiError(400, "INVALID_JSON", "Request body is not valid JSON")
ORIGIN_NOT_ALLOWED = ApiError(403, "ORIGIN_NOT_ALLOWED",
                              "This public key may not be used from this origin (see the project's allowed_origins)")


def _authorize(request: Request, require_secret: bool, defer_count: bool = False) -> Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        principal = auth.authenticate(request.headers.get("authorization"), require_secret)
        _check_origin(request, principal)
        if defer_count and principal.kind == "public" and principal.require_identity:
            request.state.uncounted = principal  # counted once its visitor is verified (verify_visitor)
        else:
            request.state.rate_limit = quota.consume(principal.project_id, principal.plan)
        request.state.principal = principal
    return request.state.principal


def _check_origin(request: Request, principal: Principal) -> None:
    # what the CORS middleware (web/cors.py) answers by, refused or not
    request.state.cors_origins = principal.allowed_origins
    if principal.kind == "public" and not origins.allows(principal.allowed_origins, request.headers.get("origin")):
        raise ORIGIN_NOT_ALLOWED  # a 403: refused before it counts


async def _admit(request: Request, principal: Principal, visitor_route: bool) -> Principal:
    """An Idempotency-Key call's origin and visitor checks (web/idempotency.py authenticates it
    itself), before its key is claimed or the call counted: a 403 or 401 counts nothing."""
    _check_origin(request, principal)
    if visitor_route and principal.kind == "public" and principal.require_identity:
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError):
            body = None  # the route answers it 400
        if isinstance(body, dict):
            visitor = await run_in_threadpool(identity.verify, principal.project_id, body.get("visitorId"),
                                              body.get("visitorHash"))
            principal = dataclasses.replace(principal, verified_visitor=visitor)
    return principal


async def public_key(request: Request) -> Principal:
    """Chat and widget routes: a public key (or the project's secret key)."""
    principal = await run_in_threadpool(_authorize, request, False)
    logger.thread_safe_append_keys(project_id=principal.project_id)
    return principal


async def visitor_key(request: Request) -> Principal:
    """Chat and widget routes that act for a visitor: a public key (or the secret key); when the
    project requires identity, a public-key call's ``visitorId`` must come with its ``visitorHash``
    (checked by :func:`verify_visitor` once the body is parsed; the principal then carries the
    verified visitor)."""
    principal = await run_in_threadpool(_authorize, request, False, True)
    logger.thread_safe_append_keys(project_id=principal.project_id)
    return principal


def verify_visitor(request: Request) -> None:
    """Check the visitor of a call whose count was deferred, then count it.

    A missing or wrong hash is a 401 and, like every 401, does not count. A body that is not a JSON
    object has no visitor to check: the route answers it 400, and that counts.
    """
    principal = getattr(request.state, "uncounted", None)
    if principal is None:  # identity is not required here: counted already
        return
    body = getattr(request, "_json", None)
    request.state.uncounted = None
    if isinstance(body, dict):
        visitor = identity.verify(principal.project_id, body.get("visitorId"), body.get("visitorHash"))
        request.state.principal = dataclasses.replace(principal, verified_visitor=visitor)
    count_call(request, principal)


async def secret_key(request: Request) -> Principal:
    """Management routes: the project's secret key only."""
    principal = await run_in_threadpool(_authorize, request, True)
    logger.thread_safe_append_keys(project_id=principal.project_id)
    return principal


async def secret_key_uncounted(request: Request) -> Principal:
    """A management route that decides itself whether the call counts (see :func:`count_call`)."""
    principal = getattr(request.state, "authenticated", None)
    if principal is None:
        principal = await run_in_threadpool(auth.authenticate, request.headers.get("authorization"), True)
        request.state.authenticated = request.state.uncounted = principal
    logger.thread_safe_append_keys(project_id=principal.project_id)
    return principal


def count_call(request: Request, principal: Principal, counted: bool = True) -> None:
    """Count the call (or only report the standing in the rate-limit headers)."""
    consume = quota.consume if counted else quota.peek
    request.state.rate_limit = consume(principal.project_id, principal.plan)


def _key_dependency(dependant: Dependant) -> Callable | None:
    """The key dependency a route needs, wherever it sits among its dependencies."""
    for sub in dependant.dependencies:
        if sub.call in (public_key, visitor_key, secret_key, secret_key_uncounted):
            return sub.call
        found = _key_dependency(sub)
        if found is not None:
            return found
    return None


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False  # FastAPI's strict content type: such a body is not read as JSON
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


async def _parse_json(request: Request) -> None:
    """Parse the body once, here; FastAPI then uses the parsed value Starlette keeps on the request."""
    body = await request.body()
    if not body or not _is_json(request.headers.get("content-type")):
        return
    try:
        request._json = json.loads(body)  # the attribute Request.json() caches its result in
    except (ValueError, RecursionError):  # syntax, bad UTF-8, >4,300-digit integers; deep nesting
        raise INVALID_JSON from None


def _single_query_values(request: Request) -> None:
    """Every query parameter is a single value; a repeated one is refused, not silently the last."""
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise bad_request(f"'{repeated[0]}' must be given once")


class AuthFirstRoute(APIRoute):
    """A route that authenticates (and counts the call) before it reads the query and the body; a
    POST or PATCH with an ``Idempotency-Key`` runs once per key (:mod:`botplot.web.idempotency`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        key = _key_dependency(self.dependant)
        has_body = self.body_field is not None

        async def run(request: Request) -> Response:
            _single_query_values(request)
            if has_body:
                await _parse_json(request)
            if key is visitor_key:
                await run_in_threadpool(verify_visitor, request)
            return await handler(request)

        async def authenticated_first(request: Request) -> Response:
            if key in (public_key, visitor_key, secret_key) and idempotency.applies(request):
                return await idempotency.run(request, key is secret_key, lambda: run(request),
                                             admit=lambda principal: _admit(request, principal, key is visitor_key))
            if key is not None:
                await key(request)
            try:
                return await run(request)
            except Exception:
                pending = getattr(request.state, "uncounted", None)
                if pending is not None and getattr(request.state, "rate_limit", None) is None:
                    # refused (400) before the count was taken: it counts, like any refused call with a key
                    request.state.uncounted = None
                    await run_in_threadpool(count_call, request, pending)
                raise

        return authenticated_first
