"""The one exception type every layer raises for a client-visible failure.

HTTP apps turn it into the reference's error shape ``{"error": "...", "code": "UPPER_SNAKE"}``;
workers log it. Messages are written for the API's users: they say what to change.
"""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        return {"error": self.message, "code": self.code}


def bad_request(message: str, code: str = "VALIDATION_ERROR") -> ApiError:
    return ApiError(400, code, message)


def not_found(what: str, code: str = "NOT_FOUND") -> ApiError:
    return ApiError(404, code, f"{what} not found")


def conflict(message: str, code: str) -> ApiError:
    return ApiError(409, code, message)


INTERNAL = ApiError(500, "INTERNAL_ERROR", "Something went wrong on our end")
