"""What an answer is built from: the question, retrieved passages and the conversation so far."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk as the answer sees it."""

    chunk_id: str
    source_id: str
    url: str | None
    title: str
    heading: str
    content: str
    score: float
    is_qa: bool = False


@dataclass(frozen=True)
class AnswerInput:
    question: str
    project_name: str
    instructions: str | None
    passages: list[Passage] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)  # (role, content), oldest first
