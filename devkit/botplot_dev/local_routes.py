"""What only the local stack serves beside the API: its docs and the demo project's help site.

- ``/docs``: the API reference (Swagger UI) for ``openapi.yaml``, its scripts and styles served
  from the ``swagger-ui-bundle`` package, so the page works offline and loads nothing from a CDN.
- ``/openapi.json`` and ``/openapi.yaml``: the committed OpenAPI document, with this stack as
  its first server so "Try it out" calls it.
- ``/demo-site/``: the small help site the demo project crawls (``demo_site/``).

Everything else goes to the API (:class:`botplot_dev.router.TemplateRouter`) unchanged.
"""

from __future__ import annotations

from functools import lru_cache

import yaml
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from botplot_dev import ROOT
from botplot_dev.demo import SITE_DIR, SITE_PATH

DOCS_ASSETS = "/docs/assets"


@lru_cache(maxsize=1)
def _document() -> dict:
    return yaml.safe_load((ROOT / "openapi.yaml").read_text())


def _docs_page() -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BotPlot API (local stack)</title>
<link rel="stylesheet" href="{DOCS_ASSETS}/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="{DOCS_ASSETS}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{url: "/openapi.json", dom_id: "#docs", deepLinking: true,
  persistAuthorization: true, tryItOutEnabled: false}});
</script></body></html>"""


class LocalRoutes:
    def __init__(self, api: ASGIApp, api_url: str):
        from swagger_ui_bundle import swagger_ui_path

        self.api = api
        self.api_url = api_url
        self.assets = StaticFiles(directory=str(swagger_ui_path))
        self.site = StaticFiles(directory=str(SITE_DIR))

    def document(self) -> dict:
        doc = dict(_document())
        doc["servers"] = [{"url": self.api_url, "description": "this local stack"},
                          *[s for s in doc.get("servers", []) if s.get("description") != "make run"]]
        return doc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path in ("/docs", "/docs/"):
            response = HTMLResponse(_docs_page())
        elif path == "/openapi.json":
            response = JSONResponse(self.document())
        elif path == "/openapi.yaml":
            response = PlainTextResponse(yaml.safe_dump(self.document(), sort_keys=False),
                                         media_type="application/yaml")
        elif path.startswith(DOCS_ASSETS + "/"):
            await self.assets({**scope, "path": path[len(DOCS_ASSETS):], "root_path": ""}, receive, send)
            return
        elif path == SITE_PATH.rstrip("/"):
            response = RedirectResponse(SITE_PATH + "index.html")
        elif path.startswith(SITE_PATH):
            await self.site({**scope, "path": path[len(SITE_PATH) - 1:], "root_path": ""}, receive, send)
            return
        else:
            await self.api(scope, receive, send)
            return
        await response(scope, receive, send)

