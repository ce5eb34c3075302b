"""Putting chunks into the index and taking them out, for every kind of source.

Kept apart from the crawl pipeline (:mod:`botplot.knowledge.ingest`) so the knowledge function,
which indexes Q&A pairs and deletes sources but never crawls, does not load the crawler.
"""

from __future__ import annotations

from botplot.db.knowledge import Page, Source
from botplot.knowledge import tokens
from botplot.knowledge.chunking import Chunk, index_text
from botplot.knowledge.embeddings import default_embedder
from botplot.knowledge.index import default_index
from botplot.knowledge.index.base import ChunkRecord


def records(project_id: str, source_id: str, url: str | None, title: str, chunks: list[Chunk],
            is_qa: bool = False) -> list[ChunkRecord]:
    return [ChunkRecord(chunk_id=c.chunk_id(source_id, url or ""), project_id=project_id, source_id=source_id,
                        content=c.content, token_count=c.token_count, title=title, heading=c.heading, url=url,
                        ordinal=c.ordinal, is_qa=is_qa) for c in chunks]


def embed(chunk_records: list[ChunkRecord]) -> int:
    """Embed the records in place; returns the embedder calls made (0 without an embedder)."""
    embedder = default_embedder()
    if embedder is None or not chunk_records:
        return 0
    before = embedder.calls
    vectors = embedder.embed([index_text(r.title, r.heading, r.content) for r in chunk_records])
    for record, vector in zip(chunk_records, vectors):
        record.embedding, record.embedding_model = vector, embedder.model
    return embedder.calls - before


def index_qa(source: Source) -> int:
    """A Q&A pair is one chunk, question and answer together, searchable at once."""
    content = f"Q: {source.question}\nA: {source.answer}"
    chunk_records = records(source.project_id, source.source_id, None, source.question,
                            [Chunk(0, "", content, tokens.count(content))], is_qa=True)
    embed(chunk_records)
    default_index().upsert(chunk_records)
    return len(chunk_records)


def remove_source_content(project_id: str, source_id: str) -> None:
    default_index().delete_source(project_id, source_id)
    with Page.batch_write() as batch:
        for page in Page.query(source_id):
            batch.delete(page)
