"""Chat group (public key): ``POST /chat`` and ``POST /chat/stream``.

Runs behind the Lambda Web Adapter in response-stream mode (``run.sh`` starts uvicorn), so
``/chat/stream`` sends each token as the model produces it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator
from starlette.concurrency import run_in_threadpool

from botplot.llm.responders import LLMUnavailable, default_responder
from botplot.services import chat
from botplot.services.answering import TurnAnswer
from botplot.services.auth import Principal
from botplot.web import sse
from botplot.web.app import API_PREFIX, create_app
from botplot.web.deps import public_key

router = APIRouter(prefix=API_PREFIX, tags=["chat"])
Caller = Annotated[Principal, Depends(public_key)]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message: StrictStr = Field(description="The user message to send", examples=["What is your return policy?"])
    conversationId: StrictStr | None = Field(None, description="Continue an existing conversation")
    visitorId: StrictStr | None = Field(None, max_length=200, description="Unique visitor identifier")

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


class ChatResponse(BaseModel):
    response: str
    conversationId: str
    messageId: str
    sources: int
    citations: list[dict] = Field(default_factory=list, description="Sources used, best first (an addition)")


def _start(caller: Principal, body: ChatRequest) -> TurnAnswer:
    turn = chat.begin(caller, body.message, body.conversationId, body.visitorId)
    return TurnAnswer(turn, default_responder(), passages=[])


@router.post("/chat", response_model=ChatResponse)
def send_message(body: ChatRequest, caller: Caller) -> dict:
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
async def stream_message(body: ChatRequest, caller: Caller):
    """Send a message and get a streaming SSE response. Tokens arrive in real-time."""
    answer = await run_in_threadpool(_start, caller, body)
    ids = {"conversationId": answer.turn.conversation.conversation_id}

    async def events():
        try:
            async for piece in sse.pump(answer.tokens()):
                yield sse.event({"type": "token", "content": piece})
        except LLMUnavailable:
            yield sse.event({"type": "error", "error": "The answer was interrupted by a temporary problem; "
                             "please try again", "code": "LLM_UNAVAILABLE", **ids,
                             "messageId": answer.message.message_id if answer.message else None})
            return
        yield sse.event({"type": "done", "messageId": answer.message.message_id, **ids,
                         "sources": answer.sources, "citations": answer.citations})

    return sse.response(events())


@router.get("/healthz", include_in_schema=False)
def health() -> dict:
    """Readiness check for the Lambda Web Adapter (not routed by API Gateway)."""
    return {"ok": True}


app = create_app(router, service="chat", title="BotPlot chat", browser_cors=True)
