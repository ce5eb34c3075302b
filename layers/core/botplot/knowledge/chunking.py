"""Heading-aware chunks of about 80–280 tokens, each knowing its page, title and heading path.

Sections are the text under one heading path. A section that fits is one chunk; a long one is
split at block, then sentence boundaries (a long code block between lines, each piece fenced, so
no chunk starts or ends inside code), and each continuation repeats the previous chunk's last
sentence (a little overlap; none after code) so a fact cut in two stays findable. Short sibling sections are merged
(their headings kept inline) so that no chunk is a lone heading with a line of text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from botplot.knowledge import tokens
from botplot.knowledge.document import Block

#: Sized for the offline embedder: MiniLM reads 256 word pieces, title and heading path included,
#: and a cl100k token is about 1.3 of them. Chunks of 320/400 tokens left 21 % of the benchmark
#: corpora's word pieces unembedded (the tail of two chunks in three); at 220/280, 3 %. The right
#: page came first more often on both question sets nobody tuned on (README, sixth ranking round),
#: for 30 % more word pieces to embed.
TARGET_TOKENS = 220
MAX_TOKENS = 280
MIN_TOKENS = 82
OVERLAP_TOKENS = 34
#: part of every page's content hash: when the sizes change, the next resync re-chunks (and
#: re-embeds) every page instead of keeping unchanged pages' chunks of the old size
VERSION = "220/280"

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


def _split_long(text: str) -> list[str]:
    """Pieces of at most MAX_TOKENS: sentences, then hard token windows for run-on text."""
    pieces: list[str] = []
    for sentence in _SENTENCE.split(text):
        if tokens.count(sentence) <= MAX_TOKENS:
            pieces.append(sentence)
            continue
        ids = tokens.encoding().encode(sentence, disallowed_special=())
        for start in range(0, len(ids), TARGET_TOKENS):
            pieces.append(tokens.encoding().decode(ids[start:start + TARGET_TOKENS]))
    return pieces


def _split_code(block: str) -> list[str]:
    """A fenced code block too long for one chunk, as fenced blocks of whole lines (a line longer
    than a chunk is cut like run-on text), so that every chunk opens and closes its own code."""
    pieces: list[str] = []
    current: list[str] = []
    for line in block.removeprefix("```\n").removesuffix("\n```").split("\n"):
        for part in [line] if tokens.count(line) <= TARGET_TOKENS else _split_long(line):
            if current and tokens.count("\n".join([*current, part])) > TARGET_TOKENS:
                pieces.append("\n".join(current))
                current = []
            current.append(part)
    if current:
        pieces.append("\n".join(current))
    return [f"```\n{piece}\n```" for piece in pieces]


def _tail(text: str) -> str:
    """The last sentence(s) of a chunk, up to OVERLAP_TOKENS, to start the next one with."""
    sentences = _SENTENCE.split(text)
    tail: list[str] = []
    for sentence in reversed(sentences):
        if tokens.count(" ".join([sentence, *tail])) > OVERLAP_TOKENS:
            break
        tail.insert(0, sentence)
    return " ".join(tail)


def _pack(section: _Section) -> list[str]:
    units: list[str] = []
    for part in section.parts:
        if tokens.count(part) <= MAX_TOKENS:
            units.append(part)
        else:
            units.extend(_split_code(part) if part.startswith("```") else _split_long(part))
    chunks: list[str] = []
    current: list[str] = []
    for unit in units:
        candidate = "\n".join([*current, unit])
        if current and tokens.count(candidate) > TARGET_TOKENS:
            chunks.append("\n".join(current))
            overlap = "" if current[-1].startswith("```") else _tail(current[-1])  # no fence-less code
            current = [overlap, unit] if overlap and overlap != unit else [unit]
            if tokens.count("\n".join(current)) > MAX_TOKENS:
                current = [unit]
        else:
            current.append(unit)
    if current:
        chunks.append("\n".join(current))
    return chunks


def chunk_page(title: str, blocks: list[Block]) -> list[Chunk]:
    sections = _sections(blocks, title)
    merged: list[_Section] = []
    for section in sections:
        previous = merged[-1] if merged else None
        if (previous is not None and tokens.count(previous.text) < MIN_TOKENS
                and tokens.count(previous.text) + tokens.count(section.text) <= TARGET_TOKENS
                and section.path[:len(previous.path) - 1] == previous.path[:-1]):  # a sibling or a child
            # keep the merged section's own heading visible in the text
            label = section.path[-1] if section.path and section.path != previous.path else None
            previous.parts.extend(([label] if label else []) + section.parts)
            continue
        merged.append(_Section(list(section.path), list(section.parts)))
    out: list[Chunk] = []
    for section in merged:
        for text in _pack(section):
            text = text.strip()
            if text:
                out.append(Chunk(len(out), " > ".join(section.path), text, tokens.count(text)))
    return out


def index_text(title: str, heading: str, content: str) -> str:
    """What is embedded and matched: the chunk with its page title and heading path in front."""
    context = " > ".join(p for p in (title, heading) if p)
    return f"{context}\n\n{content}" if context else content
