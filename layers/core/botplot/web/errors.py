"""Every failure answered in the reference's shape: ``{"error": "...", "code": "UPPER_SNAKE"}``.

FastAPI's own 422 becomes a 400, unknown routes a 404, wrong methods a 405, and anything
unexpected a 500 that says nothing about the internals (the traceback goes to the logs).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from botplot.errors import INTERNAL, ApiError
from botplot.observability import logger


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def _describe(errors: list[dict]) -> ApiError:
    first = errors[0] if errors else {}
    kind = first.get("type", "")
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    if kind == "json_invalid":
        return ApiError(400, "INVALID_JSON", "Request body is not valid JSON")
    if first.get("loc", ())[:1] == ("body",) and not loc and kind not in ("value_error", "assertion_error"):
        return ApiError(
            400,
            "INVALID_BODY",
            "Request body must be a JSON object (send 'Content-Type: application/json')",
        )
    field = ".".join(loc) or "request"
    if kind == "missing":
        return ApiError(400, "VALIDATION_ERROR", f"'{field}' is required")
    message = first.get("msg", "is invalid")
    message = message.removeprefix("Value error, ")
    return ApiError(400, "VALIDATION_ERROR", f"'{field}': {message}" if loc else message)


def _allowed(routes: list, request: Request) -> str:
    """Every method the path answers: Starlette names only those of the first route matching it."""
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


def install(app: FastAPI, router: APIRouter) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(_describe(list(error.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            return error_response(ApiError(404, "NOT_FOUND", "Route not found"))
        if error.status_code == 405:
            return error_response(ApiError(405, "METHOD_NOT_ALLOWED", "Method not allowed on this route",
                                           headers={"Allow": _allowed(router.routes, request)}))
        code = "BAD_REQUEST" if error.status_code < 500 else "INTERNAL_ERROR"
        return error_response(ApiError(error.status_code, code, str(error.detail), headers=error.headers))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"error_type": type(error).__name__})
        return error_response(INTERNAL)
