"""ASGI middleware around every group's app.

- correlates logs with the API Gateway request id (from Mangum's event, Lambda Web Adapter's
  ``x-amzn-request-context`` header, or a fresh id locally);
- refuses bodies over 1 MB before the app reads them;
- adds the rate-limit headers the auth dependency computed to every answer, errors included
  (an unexpected exception is answered here, 500 INTERNAL_ERROR with the traceback logged, because
  Starlette's outermost error middleware would answer it without them);
- emits request count and latency by route and status (EMF);
- behind the Lambda Web Adapter (one long-running app process), hands each request's
  ``X-Amzn-Trace-Id`` to the X-Ray SDK, which reads it from ``_X_AMZN_TRACE_ID``, so that the
  Tracer's AWS-client subsegments join the invocation's trace.
"""

from __future__ import annotations

import json
import os
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botplot.errors import INTERNAL, ApiError
from botplot.observability import logger, metrics, Unit

MAX_BODY_BYTES = 1024 * 1024
_IN_LAMBDA = "AWS_LAMBDA_FUNCTION_NAME" in os.environ


def _request_id(scope: Scope) -> str:
    event = scope.get("aws.event") or {}
    request_id = (event.get("requestContext") or {}).get("requestId")
    if request_id:
        return request_id
    for name, value in scope.get("headers") or ():
        if name == b"x-amzn-request-context":
            try:
                return json.loads(value).get("requestId") or str(uuid.uuid4())
            except ValueError:
                break
    return str(uuid.uuid4())


async def _read_bounded(receive: Receive) -> bytes | None:
    """The whole request body, or ``None`` once it exceeds the limit."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand the app the body read already, then the connection's own messages (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_error(send: Send, error: ApiError) -> None:
    body = json.dumps(error.body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestMiddleware:
    def __init__(self, app: ASGIApp, service: str):
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        # a new request starts with no keys of its own, except those naming the function: the local
        # stack sets them per request, as all functions share its process (in Lambda there are none)
        kept = {k: v for k, v in logger.thread_safe_get_current_keys().items()
                if k.startswith("function_") or k == "cold_start"}
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(**kept, correlation_id=request_id, request_id=request_id)
        scope.setdefault("state", {})
        status_holder = {"status": 500}
        too_large = ApiError(413, "PAYLOAD_TOO_LARGE", "Request body must be at most 1 MB")

        headers = dict(scope.get("headers") or ())
        trace = headers.get(b"x-amzn-trace-id")
        if _IN_LAMBDA and trace:  # the adapter runs one request at a time per process
            os.environ["_X_AMZN_TRACE_ID"] = trace.decode("latin-1")
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            await _send_error(send, too_large)
            self._record(scope, 413, started)
            return
        if length is None and b"transfer-encoding" in headers:
            # A streamed body of unknown size: read it here, bounded, then replay it to the app.
            body = await _read_bounded(receive)
            if body is None:
                await _send_error(send, too_large)
                self._record(scope, 413, started)
                return
            receive = _replay(body, receive)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                rate = scope["state"].get("rate_limit")
                if rate is not None:
                    headers = list(message.get("headers", []))
                    names = {name.lower() for name, _ in headers}
                    for name, value in rate.headers().items():
                        if name.lower().encode() not in names:
                            headers.append((name.encode(), value.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as error:
            if status_holder.get("started"):
                raise  # mid-response: nothing can be answered any more
            logger.exception("unhandled error", extra={"error_type": type(error).__name__})
            await _send_error(send_with_headers, INTERNAL)
        finally:
            self._record(scope, status_holder["status"], started)

    def _record(self, scope: Scope, status: int, started: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        with metrics(service=self.service, route=f"{scope['method']} {route}", status=str(status)) as record:
            record.add_metric(name="Requests", unit=Unit.Count, value=1)
            record.add_metric(name="Latency", unit=Unit.Milliseconds, value=(time.perf_counter() - started) * 1000)
