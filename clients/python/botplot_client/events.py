"""The events of ``POST /chat/stream`` (server-sent events, which openapi.yaml cannot describe)."""

from __future__ import annotations

from typing import Literal

from typing_extensions import NotRequired, TypedDict

from botplot_client.models import Citation


class TokenEvent(TypedDict):
    type: Literal["token"]
    content: str


class DoneEvent(TypedDict):
    type: Literal["done"]
    messageId: str
    conversationId: str
    sources: int
    citations: list[Citation]


class ErrorEvent(TypedDict):
    """The answer was interrupted after some tokens (e.g. ``LLM_UNAVAILABLE``); what was sent is stored."""

    type: Literal["error"]
    error: str
    code: str
    conversationId: NotRequired[str]
    messageId: NotRequired[str | None]


StreamEvent = TokenEvent | DoneEvent | ErrorEvent
