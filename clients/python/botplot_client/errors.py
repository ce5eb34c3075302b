"""Errors: every API error answer (``{"error", "code"}`` with its status) becomes a :class:`BotPlotError`
subclass carrying ``status`` and ``code``; failing to reach the API is a :class:`ConnectionError`."""

from __future__ import annotations

import time

import httpx


class BotPlotError(Exception):
    """An error answer of the API, or a failure to reach it (``status`` 0)."""

    def __init__(self, message: str, status: int, code: str, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status  #: HTTP status; 0 when the API could not be reached or the stream broke
        self.code = code  #: the API's code (RATE_LIMIT_EXCEEDED, ...), NETWORK_ERROR or STREAM_INCOMPLETE
        self.retry_after = retry_after  #: on a 429, seconds until the monthly quota resets

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r})"


class AuthenticationError(BotPlotError):
    """401: the key is missing, unknown or revoked."""


class PermissionDeniedError(BotPlotError):
    """403: e.g. a public key on a management route, or a plan without API access."""


class NotFoundError(BotPlotError):
    """404: unknown route, or an unknown (or another project's) id."""


class ValidationError(BotPlotError):
    """400 (or 413): the request was malformed."""


class RateLimitError(BotPlotError):
    """429: the monthly quota is used up; ``retry_after`` says for how long."""


class ServerError(BotPlotError):
    """5xx."""


class ConnectionError(BotPlotError):  # noqa: A001 - the client's own, a BotPlotError
    """The API could not be reached, or a stream ended before its ``done`` event."""


_BY_STATUS = {400: ValidationError, 401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError,
              413: ValidationError, 429: RateLimitError}


def from_response(response: httpx.Response, body: bytes) -> BotPlotError:
    message, code = f"HTTP {response.status_code}", "INTERNAL_ERROR" if response.status_code >= 500 else "HTTP_ERROR"
    try:
        import json

        data = json.loads(body)
        message = data.get("error") if isinstance(data.get("error"), str) else message
        code = data.get("code") if isinstance(data.get("code"), str) else code
    except (ValueError, AttributeError):
        pass  # not JSON (a proxy's page): keep the status
    retry_after = None
    if response.status_code == 429 and response.headers.get("X-RateLimit-Reset", "").isdigit():
        retry_after = max(0, int(response.headers["X-RateLimit-Reset"]) - int(time.time()))
    kind = _BY_STATUS.get(response.status_code, ServerError if response.status_code >= 500 else BotPlotError)
    return kind(message, response.status_code, code, retry_after)
