"""The grounded prompt: instructions, numbered passages, recent turns within a token budget."""

from __future__ import annotations

from botplot.knowledge import tokens
from botplot.llm.context import AnswerInput

CONTEXT_BUDGET = 3000
HISTORY_BUDGET = 1200

SYSTEM = """You are the assistant on {name}'s website, answering visitors' questions.
Answer only from the numbered passages below. If they do not contain the answer, say plainly that \
you don't know and suggest contacting the team; never invent facts, prices, links or policies.
Be concise and friendly. Mention the passage numbers you used like [1]."""


def _passages(answer_input: AnswerInput) -> str:
    if not answer_input.passages:
        return "(No passages: nothing in this project's knowledge matches the question.)"
    parts, used = [], 0
    for number, passage in enumerate(answer_input.passages, start=1):
        where = " > ".join(p for p in (passage.title, passage.heading) if p)
        block = f"[{number}] {where}\n{passage.content}".strip()
        size = tokens.count(block)
        if used + size > CONTEXT_BUDGET:
            block = tokens.truncate(block, max(0, CONTEXT_BUDGET - used))
            size = CONTEXT_BUDGET - used
        if size <= 0:
            break
        parts.append(block)
        used += size
    return "\n\n".join(parts)


def _history(answer_input: AnswerInput) -> list[dict]:
    kept, used = [], 0
    for role, content in reversed(answer_input.history):
        size = tokens.count(content) + 4
        if used + size > HISTORY_BUDGET:
            break
        kept.append({"role": role, "content": content})
        used += size
    return list(reversed(kept))


def messages(answer_input: AnswerInput) -> list[dict]:
    system = SYSTEM.format(name=answer_input.project_name)
    if answer_input.instructions:
        system += "\n\nThe site owner's instructions:\n" + answer_input.instructions
    system += "\n\nPassages:\n" + _passages(answer_input)
    return [{"role": "system", "content": system}, *_history(answer_input),
            {"role": "user", "content": answer_input.question}]
