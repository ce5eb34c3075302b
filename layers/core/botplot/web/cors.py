"""CORS for the public chat routes, by each project's ``allowed_origins``.

- **Preflights** (``OPTIONS`` with ``Access-Control-Request-Method``) carry no ``Authorization``
  header — browsers never send one on a preflight — so no project is known yet: the answer names
  the requesting origin (with ``Vary: Origin``), lists the methods and headers the routes take, and
  grants nothing else. The actual request is then checked (``403 ORIGIN_NOT_ALLOWED`` before any
  side effect or quota count, see ``web/deps.py``).
- **Answers** to a project that lists origins name the request's origin only when it is allowed
  (the exact origin, never the wildcard pattern), with ``Vary: Origin``; a refused origin gets no
  ``Access-Control-Allow-Origin``, so its page cannot read even the 403. A project with an empty
  list, and answers given before the key is known (401, 404, 405, 413), keep ``*`` as before.
- Without an ``Origin`` header (servers, tools) no CORS header is sent.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botplot.services import origins

ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"
MAX_AGE = "600"


class ProjectCORSMiddleware:
    def __init__(self, app: ASGIApp, expose_headers: list[str]):
        self.app = app
        self.expose = ", ".join(expose_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self._answer_headers(scope, origin)]}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _answer_headers(self, scope: Scope, origin: str) -> list[tuple[bytes, bytes]]:
        allowed = (scope.get("state") or {}).get("cors_origins")
        if not allowed:  # any origin: the project lists none, or no project is known yet
            return [(b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", self.expose.encode())]
        if not origins.allows(allowed, origin):
            return [(b"vary", b"Origin")]
        return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin"),
                (b"access-control-expose-headers", self.expose.encode())]

    async def _preflight(self, origin: str, send: Send) -> None:
        body = b"OK"
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin"),
            (b"access-control-allow-methods", ALLOW_METHODS.encode()),
            (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
            (b"access-control-max-age", MAX_AGE.encode()),
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        ]})
        await send({"type": "http.response.body", "body": body})
