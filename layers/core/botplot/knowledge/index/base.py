"""The chunk index's contract, shared by both backends and checked by one test suite.

Every operation is scoped to a project; a project never sees another project's chunks. Search
combines BM25 (title, heading path, content and the code identifiers' terms, title weighted
highest) with vector similarity: each list's scores are min-max normalised and averaged with
``HYBRID_WEIGHTS``, as OpenSearch's normalization search pipeline does, so both backends rank alike.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Protocol

HYBRID_WEIGHTS = (0.5, 0.5)  # (bm25, vector)
CANDIDATES = 50
FIELD_WEIGHTS = {"title": 3.0, "heading": 2.0, "content": 1.0, "identifiers": 2.0}

_STOP = set(
    "a an and are as at be but by can could did do does for from had has have how i if in into is it its me "
    "my no not of on or our so than that the their them then there these they this to too us was we were what "
    "when where which who whom why will with would you your".split()
)


def query_terms(text: str) -> list[str]:
    """The words a BM25 query keeps: lower-cased, without stop words, in order, once each."""
    words = re.findall(r"[\w][\w'.+-]*[\w+]|[\w]", text.lower())
    kept = [w.strip("'.") for w in words if w not in _STOP and len(w) > 1 or w.isdigit()]
    return list(dict.fromkeys(w for w in kept if w))


#: a code identifier: dotted, underscored, ``::``-joined or hyphenated names (``Session.get``,
#: ``max_retries``, ``--fail-under``), camelCase ones, a call's ``()``
_IDENTIFIER = re.compile(r"(?<![\w.-])[-.]*[A-Za-z_]\w*(?:(?:[._]|::|-(?=[a-z]))\w+)*(?:\(\))?")
_CASE_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def identifier_terms(text: str) -> list[str]:
    """The words code identifiers in ``text`` stand for, as both backends' tokenizers see plain words.

    Tokenizers disagree on identifiers: SQLite FTS5 splits ``max_retries`` and ``Session.get`` at
    the punctuation, OpenSearch's standard tokenizer keeps them whole, and neither splits
    ``FileStorage``. So each index keeps, in a field of its own, every identifier's joined form
    (``maxretries``, ``sessionget``: found whatever the punctuation) and a camelCase name's parts
    (``file storage``); a question's identifiers are searched by the same terms. Plain words give
    nothing here: they are matched in the other fields.
    """
    terms = []
    for match in _IDENTIFIER.finditer(text):
        name = match.group(0).strip("-.").removesuffix("()")
        pieces = [p for p in re.split(r"[._:-]+", name) if p]
        parts = [c.lower() for p in pieces for c in _CASE_PARTS.findall(p)]
        if len(pieces) > 1:
            terms.append("".join(pieces).lower())
        if len(parts) > len(pieces):
            terms += parts
    return terms


@dataclass
class ChunkRecord:
    chunk_id: str
    project_id: str
    source_id: str
    content: str
    token_count: int
    title: str = ""
    heading: str = ""
    url: str | None = None
    ordinal: int = 0
    is_qa: bool = False
    embedding: list[float] | None = field(default=None, repr=False)
    embedding_model: str | None = None

    def without_embedding(self) -> "ChunkRecord":
        return replace(self, embedding=None)


def identifiers_field(chunk: ChunkRecord) -> str:
    """What both backends index in a chunk's identifiers field."""
    return " ".join(identifier_terms(f"{chunk.title} {chunk.heading} {chunk.content}"))


@dataclass
class Hit:
    chunk: ChunkRecord
    score: float  # hybrid score in [0, 1] (or the single list's normalised score)
    bm25: float = 0.0  # raw BM25 score (higher is better), 0 when not matched
    similarity: float | None = None  # cosine similarity, when vectors were compared


@dataclass(frozen=True)
class ChunkPosition:
    """Where a chunk sits in a source's list: the list is ordered by ``(url, ordinal, chunk_id)``,
    chunks without a URL (Q&A) first. ``list_source(after=...)`` continues strictly after it, so a
    next page is found from the position alone (a keyset), never by skipping the chunks before it."""

    url: str | None
    ordinal: int
    chunk_id: str

    @classmethod
    def of(cls, chunk: ChunkRecord) -> "ChunkPosition":
        return cls(chunk.url, chunk.ordinal, chunk.chunk_id)

    def encode(self) -> str:
        return json.dumps([self.url, self.ordinal, self.chunk_id], separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> "ChunkPosition":
        """The position :meth:`encode` wrote (``ValueError`` for anything else)."""
        try:
            url, ordinal, chunk_id = json.loads(text)
        except (TypeError, ValueError) as error:
            raise ValueError(f"not a chunk position: {text!r}") from error
        if not (url is None or isinstance(url, str)) or type(ordinal) is not int or not isinstance(chunk_id, str):
            raise ValueError(f"not a chunk position: {text!r}")
        return cls(url, ordinal, chunk_id)


MIN_NORMALISED = 0.001


def normalise(scores: dict[str, float]) -> dict[str, float]:
    """Min-max normalisation as OpenSearch's ``min_max`` technique computes it: the lowest score of
    a list becomes 0.001, not 0, so a chunk found by a list still outranks one the list missed."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high - low < 1e-12:
        return {k: 1.0 for k in scores}
    return {k: max((v - low) / (high - low), MIN_NORMALISED) for k, v in scores.items()}


def combine(bm25: dict[str, float], vector: dict[str, float], mode: str) -> dict[str, float]:
    """Hybrid score per chunk id: weighted mean of min-max-normalised BM25 and vector scores, a chunk
    missing from one list counting 0 there (OpenSearch's ``arithmetic_mean`` does the same)."""
    if mode == "bm25":
        return normalise(bm25)
    if mode == "vector":
        return normalise(vector)
    wb, wv = HYBRID_WEIGHTS if vector else (1.0, 0.0)
    nb, nv = normalise(bm25), normalise(vector)
    return {k: wb * nb.get(k, 0.0) + wv * nv.get(k, 0.0) for k in set(nb) | set(nv)}


class ChunkIndex(Protocol):
    def upsert(self, chunks: list[ChunkRecord]) -> None: ...

    def delete(self, project_id: str, chunk_ids: list[str]) -> None: ...

    def delete_source(self, project_id: str, source_id: str) -> None: ...

    def list_source(self, project_id: str, source_id: str, limit: int, offset: int = 0,
                    after: ChunkPosition | None = None) -> list[ChunkRecord]:
        """Up to ``limit`` of a source's chunks in ``ChunkPosition`` order: those after ``offset``
        others, or those after the position ``after`` (not both), which reads only the page itself
        whatever its depth."""
        ...

    def search(self, project_id: str, text: str, vector: list[float] | None, model: str | None,
               k: int = 10, mode: str = "hybrid") -> list[Hit]: ...
