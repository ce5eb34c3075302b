"""Heading-aware chunks of a few hundred tokens, each knowing its page, title and heading path.

Sections are the text under one heading path. A section that fits is one chunk; a long one is
split at block, then sentence boundaries (a long code block between lines, each piece fenced, so
no chunk starts or ends inside code), and each continuation repeats the previous chunk's last
sentence (a little overlap; none after code) so a fact cut in two stays findable. Short sibling sections are merged
(their headings kept inline) so that no chunk is a lone heading with a line of text. How large a
chunk is depends on the embedder that reads it (:func:`sizes_for`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from botplot.knowledge import tokens
from botplot.knowledge.document import Block


@dataclass(frozen=True)
class Sizes:
    """A chunk's sizes in cl100k tokens: the size a chunk is filled to, its maximum, the size under
    which a short section is merged with the next, and the overlap repeated after a split."""

    target: int
    maximum: int
    minimum: int
    overlap: int

    @property
    def version(self) -> str:
        """Part of what a resync compares: a page chunked with other sizes counts as changed."""
        return f"{self.target}/{self.maximum}/{self.minimum}/{self.overlap}"


#: for an embedder that reads a whole chunk (OpenAI's 8,191 tokens), and for BM25 alone
WHOLE = Sizes(target=320, maximum=400, minimum=120, overlap=50)
#: for an embedder with a short window: MiniLM reads 256 word pieces, title and heading path
#: included, about 1.3 per cl100k token. Chunks of 320/400 left 21 % of the benchmark corpora's
#: word pieces unembedded (the tail of two chunks in three); these, 3 %, and the right page came
#: first more often on the question sets nobody tuned on (README, sixth ranking round).
SHORT_WINDOW = Sizes(target=220, maximum=280, minimum=82, overlap=34)


def sizes_for(window: int | None) -> Sizes:
    """The sizes for an embedder reading ``window`` tokens (``None``: no embedder)."""
    return SHORT_WINDOW if window is not None and window < 512 else WHOLE


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


@dataclass
class Chunk:
    ordinal: int
    heading: str  # "Installation > Linux"
    content: str
    token_count: int

    def chunk_id(self, source_id: str, url: str) -> str:
        """Content-addressed: unchanged text keeps its id, so re-indexing is idempotent."""
        digest = hashlib.sha256(f"{source_id}\n{url}\n{self.ordinal}\n{self.content}".encode()).hexdigest()
        return digest[:32]


@dataclass
class _Section:
    path: list[str]
    parts: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.parts)


def _sections(blocks: list[Block], title: str) -> list[_Section]:
    stack: list[tuple[int, str]] = []
    sections: list[_Section] = [_Section([], [])]
    for block in blocks:
        if block.kind == "heading":
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            stack.append((block.level, block.text))
            path = [text for _, text in stack]
            if path and path[0] == title:
                path = path[1:]  # the page title is recorded separately
            sections.append(_Section(path, []))
        elif block.kind == "code":  # fenced, so answers and prompts can keep it whole and apart
            sections[-1].parts.append(f"```\n{block.text}\n```")
        else:
            sections[-1].parts.append(block.text)
    return [s for s in sections if s.parts]


def _split_long(text: str, sizes: Sizes) -> list[str]:
    """Pieces of at most ``sizes.maximum``: sentences, then hard token windows for run-on text."""
    pieces: list[str] = []
    for sentence in _SENTENCE.split(text):
        if tokens.count(sentence) <= sizes.maximum:
            pieces.append(sentence)
            continue
        ids = tokens.encoding().encode(sentence, disallowed_special=())
        for start in range(0, len(ids), sizes.target):
            pieces.append(tokens.encoding().decode(ids[start:start + sizes.target]))
    return pieces


def _split_code(block: str, sizes: Sizes) -> list[str]:
    """A fenced code block too long for one chunk, as fenced blocks of whole lines (a line longer
    than a chunk is cut like run-on text), so that every chunk opens and closes its own code."""
    pieces: list[str] = []
    current: list[str] = []
    for line in block.removeprefix("```\n").removesuffix("\n```").split("\n"):
        for part in [line] if tokens.count(line) <= sizes.target else _split_long(line, sizes):
            if current and tokens.count("\n".join([*current, part])) > sizes.target:
                pieces.append("\n".join(current))
                current = []
            current.append(part)
    if current:
        pieces.append("\n".join(current))
    return [f"```\n{piece}\n```" for piece in pieces]


def _tail(text: str, sizes: Sizes) -> str:
    """The last sentence(s) of a chunk, up to ``sizes.overlap``, to start the next one with."""
    sentences = _SENTENCE.split(text)
    tail: list[str] = []
    for sentence in reversed(sentences):
        if tokens.count(" ".join([sentence, *tail])) > sizes.overlap:
            break
        tail.insert(0, sentence)
    return " ".join(tail)


def _pack(section: _Section, sizes: Sizes) -> list[str]:
    units: list[str] = []
    for part in section.parts:
        if tokens.count(part) <= sizes.maximum:
            units.append(part)
        else:
            units.extend(_split_code(part, sizes) if part.startswith("```") else _split_long(part, sizes))
    chunks: list[str] = []
    current: list[str] = []
    for unit in units:
        candidate = "\n".join([*current, unit])
        if current and tokens.count(candidate) > sizes.target:
            chunks.append("\n".join(current))
            overlap = "" if current[-1].startswith("```") else _tail(current[-1], sizes)  # no fence-less code
            current = [overlap, unit] if overlap and overlap != unit else [unit]
            if tokens.count("\n".join(current)) > sizes.maximum:
                current = [unit]
        else:
            current.append(unit)
    if current:
        chunks.append("\n".join(current))
    return chunks


def chunk_page(title: str, blocks: list[Block], sizes: Sizes = WHOLE) -> list[Chunk]:
    sections = _sections(blocks, title)
    merged: list[_Section] = []
    for section in sections:
        previous = merged[-1] if merged else None
        if (previous is not None and tokens.count(previous.text) < sizes.minimum
                and tokens.count(previous.text) + tokens.count(section.text) <= sizes.target
                and section.path[:len(previous.path) - 1] == previous.path[:-1]):  # a sibling or a child
            # keep the merged section's own heading visible in the text
            label = section.path[-1] if section.path and section.path != previous.path else None
            previous.parts.extend(([label] if label else []) + section.parts)
            continue
        merged.append(_Section(list(section.path), list(section.parts)))
    out: list[Chunk] = []
    for section in merged:
        for text in _pack(section, sizes):
            text = text.strip()
            if text:
                out.append(Chunk(len(out), " > ".join(section.path), text, tokens.count(text)))
    return out


def index_text(title: str, heading: str, content: str) -> str:
    """What is embedded and matched: the chunk with its page title and heading path in front."""
    context = " > ".join(p for p in (title, heading) if p)
    return f"{context}\n\n{content}" if context else content
