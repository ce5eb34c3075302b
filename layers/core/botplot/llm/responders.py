"""Responders stream an answer's tokens: OpenAI-compatible chat models, or extractive offline.

Both yield text pieces as they are produced. ``LLMUnavailable`` means the model failed after one
retry; callers turn it into an honest fallback (never a 500), keeping the user's message.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Iterator, Protocol

from botplot.config import settings
from botplot.llm import openai_client, prompt
from botplot.llm.context import AnswerInput
from botplot.observability import logger

if TYPE_CHECKING:
    from botplot.knowledge.embeddings import Embedder

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
        request = prompt.messages(answer_input)
        for attempt in (1, 2):
            produced = False
            try:
                client = openai_client.get_client()
                response = client.chat.completions.create(
                    model=self.model, messages=request, stream=True, temperature=0.2
                )
                finished = False
                for chunk in response:
                    if not chunk.choices:
                        continue
                    piece = chunk.choices[0].delta.content
                    if piece:
                        produced = True
                        yield piece
                    finished = finished or chunk.choices[0].finish_reason is not None
                if not finished:  # the connection ended before the model said it was done
                    raise ConnectionError("the answer stream ended early")
                return
            except Exception as error:  # API errors, timeouts, and streams cut by the network alike
                logger.warning("chat completion failed", extra={"attempt": attempt, "error_type": type(error).__name__})
                if produced or attempt == 2:
                    raise LLMUnavailable(str(type(error).__name__)) from error


_STOP = set(
    "a an and are as at be by can do does for from has have how i if in is it its me my of on or our "
    "so that the their there this to was we what when where which who why will with you your".split()
)


def _terms(text: str) -> set[str]:
    return {_stem(t) for t in re.findall(r"[a-z0-9_]+", text.lower()) if t not in _STOP}


def _stem(term: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(term) > len(suffix) + 2 and term.endswith(suffix):
            return term[: -len(suffix)]
    return term


_FENCE = re.compile(r"```.*?(?:```|$)", re.S)
#: a question asking how to do something, or which command, option or setting does it
_HOW_TO = re.compile(r"\b(how (do|can|should|would) (i|we|you)|how to|which|what (command|option|setting|variable|function|"
                     r"method|argument|parameter|key|flag))\b", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")


def _units(text: str) -> list[tuple[int, str]]:
    """(block number, unit) in reading order. A fenced code block is one unit, kept verbatim; a
    list item is one; a paragraph is split into sentences. The number tells units of one block
    (joined by a space) from the next block's (joined by a line break)."""
    units: list[tuple[int, str]] = []
    block, position = 0, 0
    for fence in [*_FENCE.finditer(text), None]:
        prose = text[position:fence.start() if fence else len(text)]
        for line in prose.split("\n"):
            if line.strip():
                block += 1
                units.extend((block, p.strip()) for p in _SENTENCE_END.split(line.strip()) if p.strip())
        if fence:
            block += 1
            units.append((block, fence.group(0).strip()))
            position = fence.end()
    return units


def _join(units: list[tuple[int, str]]) -> str:
    out = ""
    for i, (block, unit) in enumerate(units):
        out += unit if i == 0 else (" " if block == units[i - 1][0] else "\n") + unit
    return out


class ExtractiveResponder:
    """Answers offline with the stretch of the passages that covers most of the question.

    The stretch is whole sentences, list items and code blocks in a row of one passage, at most
    ``budget_words`` (a first unit longer than that is taken whole: code is never cut), chosen to
    cover the most of the question's words, rare words counting more. The retriever's best page
    has a head start (``best_page_bonus``, and ``first_passage_bonus`` more for its best passage),
    so another page's passage is quoted only when it clearly covers more: retrieval often ranks the
    broader page first while the next one holds the sentence that answers (the quickstart and the
    API reference). Given an embedder, each unit also counts by how close its meaning is to the
    question's (what it says beyond ``meaning_floor``, times ``meaning_weight``): a page's passages
    share most of the question's words, and the words alone often pick the section's introduction
    over the sentence or code that answers ("nested" blueprints, a "custom command"). A code block
    costs half its words: its tokens are short, and a how-to answer is the sentence that introduces
    the code and the code itself. A stretch of several units never ends on a sentence that
    announces what follows ("…as follows:"): what it announces comes too, or the stretch stops
    before it. A question asking how (or which command, option, setting) gets ``how_to_code_bonus``
    for a stretch holding a code block: the section's prose shares its words, the code is the
    answer (``create_app``, ``{% extends``, ``delay(``). Line breaks between blocks are kept, so
    lists and code read as they do on the page.
    The answer names the page it quotes (which retrieval cites, since it gave the passage), and
    never writes anything that is not in the passages; with none, it says nothing is known.
    """

    name = "extractive"
    budget_words = 120
    #: what a code block's word costs against the budget
    code_word_cost = 0.5
    #: the head start of the retriever's best passage (its meaning and page title matched best):
    #: the weight of a word found in about half the units, so a stretch elsewhere must cover more
    first_passage_bonus = 1.0
    #: the head start of every passage of the retriever's best page over other pages' passages
    best_page_bonus = 2.0
    #: cosine (question, unit) below which a unit's meaning counts for nothing (MiniLM's scale:
    #: unrelated sentences score 0.0-0.3), and what each point above it is worth in rare words
    meaning_floor = 0.3
    meaning_weight = 3.0
    #: a unit's first words embedded for its meaning: they say what it is about (long code blocks
    #: embedded whole cost a sixth more time and chose no better stretch on the benchmark)
    meaning_words = 40
    #: a unit of fewer words counts its meaning in proportion (a 2-word unit half of it): a module
    #: name, a heading or a one-line link is close to any question naming what it names, and a
    #: stretch of twenty of them (a module index, a table of contents) outweighed the sentence
    #: that answers
    meaning_full_words = 4
    #: what a code block in the stretch is worth, in rare words, to a how-to question
    how_to_code_bonus = 3.0

    def __init__(self, embedder: Embedder | None = None):
        self.embedder = embedder

    def compose(self, answer_input: AnswerInput) -> str:
        from botplot.knowledge.retrieval import page_title

        if not answer_input.passages:
            return NOTHING_KNOWN
        best = answer_input.passages[0]
        if best.is_qa:
            _, _, answer = best.content.partition("\nA: ")
            return answer.strip() or best.content
        query = _terms(answer_input.question)
        quotable = [p for p in answer_input.passages if not p.is_qa]
        passages = [_units(p.content) for p in quotable]
        terms = [[_terms(u) & query for _, u in units] for units in passages]
        every = [ts for per_passage in terms for ts in per_passage]
        weight = {t: math.log(1 + len(every) / max(1, sum(t in ts for ts in every))) for t in query}
        meaning = self._meaning(answer_input.question, passages)
        code_bonus = self.how_to_code_bonus if _HOW_TO.search(answer_input.question) else 0.0
        best_score, window, quoted = -1.0, passages[0][:1], best
        for index, (units, unit_terms) in enumerate(zip(passages, terms)):
            head_start = self.first_passage_bonus if index == 0 else 0.0
            if (quotable[index].url or quotable[index].source_id) == (best.url or best.source_id):
                head_start += self.best_page_bonus
            for start in range(len(units)):
                end = self._stretch(units, start)
                # summed in a fixed order: equal stretches must tie exactly, whatever the set's order
                score = sum(weight[t] for t in sorted(set().union(*unit_terms[start:end])))
                score += self.meaning_weight * sum(meaning[index][start:end]) + head_start
                if code_bonus and any(unit.startswith("```") for _, unit in units[start:end]):
                    score += code_bonus
                if score > best_score:
                    best_score, window, quoted = score, units[start:end], quotable[index]
        source = page_title(quoted.title) or quoted.url or "our documentation"
        text = _join(window)
        separator = "\n" if text.startswith(("```", "• ")) or "\n" in text else " "
        return f"According to “{source}”:{separator}{text}"

    def _meaning(self, question: str, passages: list[list[tuple[int, str]]]) -> list[list[float]]:
        """Per unit, how much closer its meaning is to the question's than ``meaning_floor`` (0 for
        most units; all 0 without an embedder, or when it fails: the words alone still choose),
        in proportion for a unit shorter than ``meaning_full_words``.
        Cosines are rounded to 3 decimals so that the same question gets the same answer even if
        the encoder's last bits differ between processes."""
        flat = [unit for units in passages for _, unit in units]
        if self.embedder is None or not flat:
            return [[0.0] * len(units) for units in passages]
        try:
            question_vector, *vectors = self.embedder.embed(
                [question, *(" ".join(unit.split()[:self.meaning_words]) for unit in flat)])
        except Exception as error:  # the answer must not fail because the embedder did
            logger.warning("unit embedding failed; choosing the stretch by words alone",
                           extra={"error_type": type(error).__name__})
            return [[0.0] * len(units) for units in passages]
        norm = math.sqrt(sum(x * x for x in question_vector)) or 1.0
        closeness = iter([max(0.0, round(sum(a * b for a, b in zip(question_vector, v))
                                         / (norm * (math.sqrt(sum(x * x for x in v)) or 1.0))
                                         - self.meaning_floor, 3))
                          * min(1.0, len(unit.split()) / self.meaning_full_words)
                          for v, unit in zip(vectors, flat)])
        return [[next(closeness) for _ in units] for units in passages]

    def _cost(self, unit: str) -> float:
        return len(unit.split()) * (self.code_word_cost if unit.startswith("```") else 1)

    def _stretch(self, units: list[tuple[int, str]], start: int) -> int:
        """The end (exclusive) of the stretch from ``start``: units while they fit the budget (the
        first always does), then what a last unit ending in ":" announces, if it fits half a budget
        more; otherwise that unit is left out (unless it is alone)."""
        cost, end = 0.0, start
        while end < len(units) and (end == start or cost + self._cost(units[end][1]) <= self.budget_words):
            cost += self._cost(units[end][1])
            end += 1
        if end - start > 1 and units[end - 1][1].endswith(":"):
            if end < len(units) and cost + self._cost(units[end][1]) <= 1.5 * self.budget_words:
                return end + 1
            return end - 1
        return end

    def stream(self, answer_input: AnswerInput) -> Iterator[str]:
        yield from words(self.compose(answer_input))


def default_responder() -> Responder:
    if openai_client.is_configured():
        return OpenAIResponder(settings().chat_model)
    from botplot.knowledge.embeddings import default_embedder

    return ExtractiveResponder(default_embedder())
