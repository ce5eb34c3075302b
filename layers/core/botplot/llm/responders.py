"""Responders stream an answer's tokens: OpenAI-compatible chat models, or extractive offline.

Both yield text pieces as they are produced. ``LLMUnavailable`` means the model failed after one
retry; callers turn it into an honest fallback (never a 500), keeping the user's message.
"""

from __future__ import annotations

import re
from typing import Iterator, Protocol

from botplot.config import settings
from botplot.llm import openai_client, prompt
from botplot.llm.context import AnswerInput, Passage
from botplot.observability import logger

FALLBACK = (
    "I'm sorry, I can't answer right now because of a temporary problem on our side. "
    "Your message has been saved; please try again in a moment."
)
NOTHING_KNOWN = (
    "I'm sorry, I don't have any information about that yet. "
    "Please contact the team directly and they'll be happy to help."
)


class LLMUnavailable(Exception):
    pass


class Responder(Protocol):
    name: str

    def stream(self, answer_input: AnswerInput) -> Iterator[str]: ...


def words(text: str) -> Iterator[str]:
    """Split text into streaming tokens the way the reference shows them ("To", " get", ...)."""
    yield from re.findall(r"\s*\S+", text)


class OpenAIResponder:
    name = "openai"

    def __init__(self, model: str):
        self.model = model

    def stream(self, answer_input: AnswerInput) -> Iterator[str]:
        from openai import OpenAIError

        request = prompt.messages(answer_input)
        for attempt in (1, 2):
            produced = False
            try:
                client = openai_client.get_client()
                response = client.chat.completions.create(
                    model=self.model, messages=request, stream=True, temperature=0.2
                )
                for chunk in response:
                    if not chunk.choices:
                        continue
                    piece = chunk.choices[0].delta.content
                    if piece:
                        produced = True
                        yield piece
                return
            except OpenAIError as error:
                logger.warning("chat completion failed", extra={"attempt": attempt, "error_type": type(error).__name__})
                if produced or attempt == 2:
                    raise LLMUnavailable(str(type(error).__name__)) from error


_STOP = set(
    "a an and are as at be by can do does for from has have how i if in is it its me my of on or our "
    "so that the their there this to was we what when where which who why will with you your".split()
)


def _terms(text: str) -> set[str]:
    return {_stem(t) for t in re.findall(r"[a-z0-9]+", text.lower()) if t not in _STOP}


def _stem(term: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(term) > len(suffix) + 2 and term.endswith(suffix):
            return term[: -len(suffix)]
    return term


def _sentences(text: str) -> list[str]:
    pieces = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip() for p in pieces if len(p.strip()) > 2]


class ExtractiveResponder:
    """Answers offline with the sentences of the retrieved passages that best match the question.

    It never writes anything that is not in the passages; with none, it says nothing is known.
    """

    name = "extractive"
    max_sentences = 3

    def _qa_answer(self, passage: Passage) -> str:
        _, _, answer = passage.content.partition("\nA: ")
        return answer.strip() or passage.content

    def compose(self, answer_input: AnswerInput) -> str:
        if not answer_input.passages:
            return NOTHING_KNOWN
        best = answer_input.passages[0]
        if best.is_qa:
            return self._qa_answer(best)
        query = _terms(answer_input.question)
        scored: list[tuple[float, int, int, str]] = []
        for rank, passage in enumerate(answer_input.passages[:3]):
            for position, sentence in enumerate(_sentences(passage.content)):
                overlap = len(query & _terms(sentence))
                if overlap:
                    scored.append((overlap / (1 + 0.5 * rank), rank, position, sentence))
        if not scored:
            chosen = _sentences(best.content)[: self.max_sentences]
        else:
            top = sorted(scored, key=lambda s: -s[0])[: self.max_sentences]
            chosen = [s[3] for s in sorted(top, key=lambda s: (s[1], s[2]))]
        text = " ".join(chosen)
        source = best.title or best.url or "our documentation"
        return f"Here is what I found in “{source}”: {text}"

    def stream(self, answer_input: AnswerInput) -> Iterator[str]:
        yield from words(self.compose(answer_input))


def default_responder() -> Responder:
    if openai_client.is_configured():
        return OpenAIResponder(settings().chat_model)
    return ExtractiveResponder()
