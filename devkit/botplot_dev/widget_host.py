"""The local stack's own pages: ``/widget.js`` (the built widget, as the assets CDN serves it in AWS)
and ``/demo``, a page with the widget for the demo project and the snippet to paste.

``/demo`` is served under a strict Content-Security-Policy (scripts, styles and connections only
from this origin, no inline anything), the policy a careful customer's site would have, so using
the demo shows the widget works under one. Every other path goes to the API router.
"""

from __future__ import annotations

import html
import os
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from botplot_dev import ROOT

WIDGET = ROOT / "clients" / "js" / "dist" / "widget.js"

DEMO_CSS = b"""
body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#f6f7f9;color:#1f2328;overflow-wrap:anywhere}
main{max-width:760px;margin:0 auto;padding:32px 20px 120px}
h1{font-size:28px;margin:0 0 8px}
pre{background:#1f2328;color:#e6edf3;padding:14px;border-radius:8px;overflow-x:auto;user-select:all;white-space:pre-wrap}
code{font:14px/1.5 ui-monospace,Menlo,Consolas,monospace}
.key{font-family:ui-monospace,Menlo,Consolas,monospace;background:#e9ecf1;padding:2px 6px;border-radius:4px}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}.key{background:#262c36}}
"""


def demo_page(base_url: str, public_key: str) -> str:
    snippet = f'<script src="{base_url}/widget.js" data-public-key="{public_key}" async></script>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>BotPlot widget demo</title><link rel="stylesheet" href="/demo.css"></head>
<body><main>
<h1>BotPlot widget demo</h1>
<p>The chat button in the corner is the widget for the demo project (public key
<span class="key">{html.escape(public_key)}</span>). Teach the project with
<code>POST /api/v1/knowledge/url</code> or <code>/knowledge/qa</code> (secret key in
<code>.botplot/local.json</code>), then ask it.</p>
<p>To add it to a site, paste this before <code>&lt;/body&gt;</code>:</p>
<pre><code>{html.escape(snippet)}</code></pre>
<p>This page is served with a strict Content-Security-Policy; the widget needs only its own origin
in <code>script-src</code> and <code>connect-src</code>.</p>
</main>
{snippet}
</body></html>
"""


def content_security_policy(assets_base_url: str | None) -> str:
    images = "'self' data:"
    if assets_base_url:  # customer logos
        parts = urlsplit(assets_base_url)
        images += f" {parts.scheme}://{parts.netloc}"
    return (f"default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src {images}; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


async def _send(send: Send, status: int, body: bytes, content_type: str, extra: list[tuple[bytes, bytes]] = ()):
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
               (b"x-content-type-options", b"nosniff"), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class WidgetHost:
    """``/widget.js``, ``/demo`` and ``/demo.css`` in front of ``api``."""

    def __init__(self, api: ASGIApp, base_url: str, public_key: str):
        self.api = api
        self.base_url = base_url
        self.public_key = public_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.api(scope, receive, send)
            return
        path = scope["path"]
        if path == "/widget.js":
            if not WIDGET.exists():
                await _send(send, 404, b"widget.js is not built: cd clients/js && npm ci && npm run build",
                            "text/plain; charset=utf-8")
                return
            # the built file is read on each request so a rebuild shows without a restart
            await _send(send, 200, WIDGET.read_bytes(), "text/javascript; charset=utf-8",
                        [(b"cache-control", b"no-cache"), (b"access-control-allow-origin", b"*")])
        elif path in ("/demo", "/demo/"):
            csp = content_security_policy(os.environ.get("BOTPLOT_ASSETS_BASE_URL"))
            await _send(send, 200, demo_page(self.base_url, self.public_key).encode(), "text/html; charset=utf-8",
                        [(b"content-security-policy", csp.encode()), (b"cache-control", b"no-store")])
        elif path == "/demo.css":
            await _send(send, 200, DEMO_CSS, "text/css; charset=utf-8")
        else:
            await self.api(scope, receive, send)
