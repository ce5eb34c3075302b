"""The app factory every HTTP function uses, so that errors, limits and headers are the same."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from botplot.config import settings
from botplot.web import errors
from botplot.web.cors import ProjectCORSMiddleware
from botplot.web.middleware import RequestMiddleware

API_PREFIX = "/api/v1"
RATE_HEADERS = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]


def create_app(router: APIRouter, service: str, title: str, browser_cors: bool = False) -> FastAPI:
    """An app for one endpoint group.

    ``browser_cors`` is for the public chat routes an embedded widget calls from other origins
    (each project's ``allowed_origins``, see ``web/cors.py``); the secret-key routes are
    server-side only and send no CORS headers.
    """
    settings()  # read now: a setting refused here (say, a local-only one in Lambda) fails the cold start
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)
    errors.install(app, router)
    app.add_middleware(RequestMiddleware, service=service)
    if browser_cors:
        app.add_middleware(ProjectCORSMiddleware, expose_headers=[*RATE_HEADERS, "Idempotent-Replayed"])
    return app
