"""Answering a turn: stream the responder's tokens, fall back honestly, persist what was said.

``TurnAnswer.tokens()`` is a plain iterator so both routes share it: ``/chat`` joins it, the
stream route forwards each piece as it comes. However it ends — exhausted, failed, or closed
because the client went away — the assistant's message is written exactly once.
"""

from __future__ import annotations

from typing import Iterator

from botplot.llm.context import AnswerInput, Passage
from botplot.llm.responders import FALLBACK, LLMUnavailable, Responder
from botplot.observability import dependency_failed, logger
from botplot.services import chat
from botplot.services.chat import AnswerRecord, Turn


class TurnAnswer:
    def __init__(self, turn: Turn, responder: Responder, passages: list[Passage],
                 confidence: float | None = None, citations: list[dict] | None = None):
        self.turn = turn
        self.responder = responder
        self.passages = passages
        self.confidence = confidence
        self.citations = citations or []
        self.failed = False
        self.message = None  # the persisted assistant message

    @property
    def grounded(self) -> bool:
        return bool(self.passages)

    def _input(self) -> AnswerInput:
        principal = self.turn.principal
        return AnswerInput(
            question=self.turn.user_message.content,
            project_name=principal.project_name,
            instructions=principal.instructions,
            passages=self.passages,
            history=self.turn.history,
        )

    def tokens(self) -> Iterator[str]:
        """The answer's pieces. A model failure before the first piece yields the fallback text;
        one after it raises ``LLMUnavailable`` for the stream route to report."""
        pieces: list[str] = []
        try:
            for piece in self.responder.stream(self._input()):
                pieces.append(piece)
                yield piece
        except LLMUnavailable:
            self.failed = True
            dependency_failed("ModelFailures", "the model failed; the visitor got the fallback answer"
                              if not pieces else "the model failed mid-answer; the answer was cut short")
            if pieces:
                raise
            pieces = [FALLBACK]
            yield FALLBACK
        finally:
            self._persist("".join(pieces))

    def _persist(self, text: str) -> None:
        if self.message is not None:
            return
        if not text.strip():
            text = FALLBACK
            self.failed = True
        try:
            self.message = chat.finish(self.turn, AnswerRecord(
                text=text,
                grounded=self.grounded and not self.failed,
                confidence=self.confidence,
                chunk_ids=[p.chunk_id for p in self.passages],
                page_urls=sorted({p.url for p in self.passages if p.url}),
                citations=self.citations,
            ))
        except Exception:
            logger.exception("assistant message not saved")
            raise

    @property
    def sources(self) -> int:
        """How many sources (pages or Q&A pairs) the answer cites: always ``len(citations)``.
        Several passages of one page count once, as they are cited once."""
        return len(self.citations)
