"""One ASGI app that serves every endpoint group at the paths the template gives it.

Like API Gateway, it picks the function by path and method; the request then reaches that
function's own app unchanged, with the same middleware and error handling as in Lambda.
"""

from __future__ import annotations

import json

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from botplot_dev import template as tpl
from botplot_dev.lambda_runtime import load_module, name_logs


async def _json(send: Send, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    extra = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": data})


class TemplateRouter:
    def __init__(self, thread_limit: int = 256):
        self.routes = tpl.routes()
        self.apps: dict[str, ASGIApp] = {r.function: load_module(r.function).app for r in self.routes}
        self.thread_limit = thread_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    # Lambda runs one request per instance; locally many share one process.
                    anyio.to_thread.current_default_thread_limiter().total_tokens = self.thread_limit
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        matches = [r for r in self.routes if r.pattern.match(scope["path"])]
        if not matches:
            await _json(send, 404, {"error": "Route not found", "code": "NOT_FOUND"})
            return
        chosen = next((r for r in matches if r.method in (scope["method"], "ANY")), None)
        if chosen is None:
            allowed = ", ".join(sorted({r.method for r in matches}))
            await _json(send, 405, {"error": "Method not allowed on this route", "code": "METHOD_NOT_ALLOWED"},
                        {"Allow": allowed})
            return
        name_logs(chosen.function)  # this request's context only
        await self.apps[chosen.function](scope, receive, send)
