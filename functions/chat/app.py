"""Chat group (public key): ``/chat``, ``/chat/stream`` and the widget's config, rating, lead and handoff.

Runs behind the Lambda Web Adapter in response-stream mode (``run.sh`` starts uvicorn), so
``/chat/stream`` sends each token as the model produces it.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator
from starlette.concurrency import run_in_threadpool

from botplot.knowledge.retrieval import Retrieval, retrieve
from botplot.llm.responders import LLMUnavailable, default_responder
from botplot.observability import Unit, count, dependency_failed, metrics, tracer
from botplot.services import chat, widget
from botplot.services.answering import TurnAnswer
from botplot.services.auth import Principal
from botplot.web import schemas, sse
from botplot.web.app import API_PREFIX, create_app
from botplot.web.deps import AuthFirstRoute, public_key, visitor_key

#: what the validators below enforce, said in the OpenAPI document too (a JSON Schema pattern
#: matches anywhere in the string: "contains a non-space character")
NOT_BLANK = r"\S"
router = APIRouter(prefix=API_PREFIX, tags=["chat"], responses=schemas.COMMON_ERRORS,
                   route_class=AuthFirstRoute)
Caller = Annotated[Principal, Depends(public_key)]
#: routes that act for a visitor: with require_identity, a public key's visitorId needs its visitorHash
VisitorCaller = Annotated[Principal, Depends(visitor_key)]
#: hex(HMAC-SHA256(identity secret, visitorId)); checked only when the project requires identity
VISITOR_HASH_PATTERN = r"^[0-9A-Fa-f]{64}$"


def visitor_hash_field():
    return Field(None, description="hex(HMAC-SHA256(identity secret, visitorId)), computed by your server; "
                                   "required with visitorId when the project requires identity",
                 json_schema_extra=schemas.documented(pattern=VISITOR_HASH_PATTERN, minLength=64, maxLength=64))


def check_visitor_hash(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(VISITOR_HASH_PATTERN, value):
        raise ValueError("must be 64 hexadecimal characters (hex of HMAC-SHA256)")
    return value


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message: StrictStr = Field(min_length=1, max_length=4000, description="The user message to send (not blank)",
                               examples=["What is your return policy?"],
                               json_schema_extra=schemas.documented(pattern=NOT_BLANK))
    conversationId: StrictStr | None = Field(None, description="Continue an existing conversation")
    visitorId: StrictStr | None = Field(None, max_length=200, description="Unique visitor identifier (not blank)",
                                       json_schema_extra=schemas.documented(pattern=NOT_BLANK))
    visitorHash: StrictStr | None = visitor_hash_field()

    hash_shape = field_validator("visitorHash")(check_visitor_hash)

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        if len(value) > chat.MAX_MESSAGE_CHARS:
            raise ValueError(f"must be at most {chat.MAX_MESSAGE_CHARS} characters")
        return value

    @field_validator("visitorId")
    @classmethod
    def _visitor(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty when given")
        return value


@tracer.capture_method
def _retrieve(caller: Principal, turn: chat.Turn) -> Retrieval:
    previous = next((content for role, content in reversed(turn.history) if role == "user"), None)
    try:
        found = retrieve(caller.project_id, turn.user_message.content, context=previous)
    except Exception:  # an unreachable index must not lose the turn: answer without knowledge
        dependency_failed("RetrievalFailures", "retrieval failed; answering without knowledge")
        return Retrieval()
    count("RetrievalHits", len(found.passages), service="chat", grounded=str(found.grounded).lower())
    return found


def _start(caller: Principal, body: ChatRequest) -> TurnAnswer:
    turn = chat.begin(caller, body.message, body.conversationId, body.visitorId)
    found = _retrieve(caller, turn)
    return TurnAnswer(turn, default_responder(), passages=found.passages, confidence=found.confidence,
                      citations=found.citations)


@router.post("/chat", response_model=schemas.ChatResponse)
def send_message(body: ChatRequest, caller: VisitorCaller) -> dict:
    """Send a message and get a response. Creates a new conversation if no conversationId is provided."""
    answer = _start(caller, body)
    text = "".join(answer.tokens())
    return {
        "response": text,
        "conversationId": answer.turn.conversation.conversation_id,
        "messageId": answer.message.message_id,
        "sources": answer.sources,
        "citations": answer.citations,
    }


@router.post("/chat/stream", response_class=sse.StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "SSE token stream"}})
async def stream_message(body: ChatRequest, caller: VisitorCaller):
    """Send a message and get a streaming SSE response. Tokens arrive in real-time."""
    started = time.perf_counter()
    answer = await run_in_threadpool(_start, caller, body)
    ids = {"conversationId": answer.turn.conversation.conversation_id}

    async def events():
        first = True
        try:
            async for piece in sse.pump(answer.tokens()):
                if first:
                    first = False
                    with metrics(service="chat") as record:
                        record.add_metric(name="TimeToFirstToken", unit=Unit.Milliseconds,
                                          value=(time.perf_counter() - started) * 1000)
                yield sse.event({"type": "token", "content": piece})
        except LLMUnavailable:
            yield sse.event({"type": "error", "error": "The answer was interrupted by a temporary problem; "
                             "please try again", "code": "LLM_UNAVAILABLE", **ids,
                             "messageId": answer.message.message_id if answer.message else None})
            return
        yield sse.event({"type": "done", "messageId": answer.message.message_id, **ids,
                         "sources": answer.sources, "citations": answer.citations})

    return sse.response(events())


#: the HTML5 rule for email inputs (ASCII only, so that Python and the document's ECMA-262 regex agree)
EMAIL = (r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
         r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
#: 7 to 15 digits, an optional leading +, at most two of space ( ) . - between digits
PHONE = r"^\+?[0-9](?:[ ().-]{0,2}[0-9]){6,14}$"
_EMAIL, _PHONE = re.compile(EMAIL), re.compile(PHONE)


class RatingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    conversationId: StrictStr
    messageId: StrictStr | None = Field(None, description="Rate one assistant message; omit to rate the conversation")
    rating: Literal[1, -1] = Field(description="1 (helpful) or -1 (not helpful)")
    visitorId: StrictStr | None = Field(None, max_length=200, description="The conversation's visitor (needed, with "
                                                                         "visitorHash, when the project requires identity)")
    visitorHash: StrictStr | None = visitor_hash_field()

    hash_shape = field_validator("visitorHash")(check_visitor_hash)

    @field_validator("rating", mode="before")
    @classmethod
    def _strict(cls, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be 1 or -1")
        return value


class LeadRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"anyOf": [
        {"required": ["email"], "properties": {"email": {"type": "string"}}},
        {"required": ["phone"], "properties": {"phone": {"type": "string"}}},
    ]})

    conversationId: StrictStr | None = None
    visitorId: StrictStr | None = Field(None, max_length=200)
    name: StrictStr | None = Field(None, max_length=200)
    email: StrictStr | None = Field(None, max_length=254, json_schema_extra=schemas.documented(pattern=EMAIL))
    phone: StrictStr | None = Field(None, max_length=32, json_schema_extra=schemas.documented(pattern=PHONE))
    visitorHash: StrictStr | None = visitor_hash_field()

    hash_shape = field_validator("visitorHash")(check_visitor_hash)

    @field_validator("name", "email", "phone", "visitorId")
    @classmethod
    def _trim(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("is not a valid email address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE.match(value):
            raise ValueError("is not a valid phone number (7 to 15 digits, optional +, spaces, dashes, brackets)")
        return value

    @model_validator(mode="after")
    def _contact(self) -> "LeadRequest":
        if not self.email and not self.phone:
            raise ValueError("An email or a phone number is required")
        return self


class HandoffRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    conversationId: StrictStr
    reason: StrictStr | None = Field(None, max_length=1000)
    visitorId: StrictStr | None = Field(None, max_length=200, description="The conversation's visitor (needed, with "
                                                                         "visitorHash, when the project requires identity)")
    visitorHash: StrictStr | None = visitor_hash_field()

    hash_shape = field_validator("visitorHash")(check_visitor_hash)


@router.post("/chat/rating", response_model=schemas.RatingResponse, response_model_exclude_unset=True)
def rate(body: RatingRequest, caller: VisitorCaller) -> dict:
    """Rate an assistant message (messageId) or the whole conversation: 1 or -1. Fires rating.received."""
    return widget.rate(caller, body.conversationId, body.messageId, body.rating)


@router.post("/chat/lead", response_model=schemas.LeadResponse)
def capture_lead(body: LeadRequest, caller: VisitorCaller) -> dict:
    """Record a visitor's contact details (an email or a phone is required). Fires lead.captured."""
    lead = widget.capture_lead(caller, body.conversationId, body.visitorId, body.name, body.email, body.phone)
    return {"success": True, "leadId": lead.lead_id}


@router.post("/chat/handoff", response_model=schemas.HandoffResponse)
def request_handoff(body: HandoffRequest, caller: VisitorCaller) -> dict:
    """Ask for a human: the conversation becomes handed_off. Fires handoff.requested (once)."""
    conversation = widget.request_handoff(caller, body.conversationId, body.reason)
    return {"success": True, "conversationId": conversation.conversation_id,
            "handoffStatus": conversation.handoff_status, "status": conversation.status}


@router.get("/chat/config", response_model=schemas.WidgetConfig)
def widget_config(caller: Caller) -> dict:
    """What the widget shows: the project's name, branding ("Powered by BotPlot" unless white-label), logo, greeting."""
    return widget.config(caller)


@router.get("/healthz", include_in_schema=False)
def health() -> dict:
    """Readiness check for the Lambda Web Adapter (not routed by API Gateway)."""
    return {"ok": True}


app = create_app(router, service="chat", title="BotPlot chat", browser_cors=True)
