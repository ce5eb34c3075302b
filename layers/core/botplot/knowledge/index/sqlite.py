"""The embedded chunk index for the local stack and tests: SQLite FTS5 for BM25, numpy for vectors.

Same contract as OpenSearch: BM25 over title, heading path and content with field weights, cosine
similarity over unit vectors of the same embedding model, and the same hybrid normalisation. One
file, shared by every function of the local stack (they run in one process); WAL lets readers
proceed while the crawl worker writes.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np

from botplot.knowledge.index.base import (
    CANDIDATES,
    FIELD_WEIGHTS,
    ChunkPosition,
    ChunkRecord,
    Hit,
    combine,
    identifier_terms,
    identifiers_field,
    query_terms,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, project_id TEXT NOT NULL, source_id TEXT NOT NULL, url TEXT,
    title TEXT NOT NULL, heading TEXT NOT NULL, content TEXT NOT NULL, token_count INTEGER NOT NULL,
    ordinal INTEGER NOT NULL, is_qa INTEGER NOT NULL, embedding BLOB, embedding_model TEXT
);
DROP INDEX IF EXISTS chunks_by_source;
CREATE INDEX IF NOT EXISTS chunks_in_order ON chunks(project_id, source_id, url, ordinal, chunk_id);
"""
_TEXT_INDEX = """CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, heading, content, identifiers, chunk_id UNINDEXED, project_id UNINDEXED,
    tokenize = 'porter unicode61 remove_diacritics 2'
)"""
_TEXT_FIELDS = ("title", "heading", "content", "identifiers")
_COLUMNS = "chunk_id, project_id, source_id, url, title, heading, content, token_count, ordinal, is_qa"
_TEXT_COLUMNS = "title, heading, content, identifiers, chunk_id, project_id"
_LAYOUT = 2  # PRAGMA user_version: text rows keyed by their chunk's rowid (see _migrate)
# A chunk's text row is the one under its rowid: deleted through the primary key, not by a scan.
_DELETE_TEXT = "DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks WHERE "


def _record(row) -> ChunkRecord:
    return ChunkRecord(chunk_id=row[0], project_id=row[1], source_id=row[2], url=row[3], title=row[4],
                       heading=row[5], content=row[6], token_count=row[7], ordinal=row[8], is_qa=bool(row[9]))


class SqliteIndex:
    def __init__(self, path: str):
        self.path = path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write = threading.Lock()
        self._vectors: dict[tuple[str, str], tuple[int, list[str], np.ndarray]] = {}
        self._version = 0
        with self._write:
            self._db().executescript(_SCHEMA)
            self._migrate()
            self._db().execute(_TEXT_INDEX)

    def _migrate(self) -> None:
        """Rebuild the text index from the chunks when the file predates its current layout: the
        identifiers column, and each text row stored under its chunk's rowid (``user_version`` 2), so
        that replacing or deleting a chunk finds its text row by rowid instead of scanning the whole
        text index for an unindexed ``chunk_id`` (which made writes slower as an index grew). Nothing
        here runs VACUUM, which may renumber the rowids of a table without an INTEGER PRIMARY KEY."""
        db = self._db()
        columns = [r[1] for r in db.execute("PRAGMA table_info(chunks_fts)")]
        layout = db.execute("PRAGMA user_version").fetchone()[0]
        if layout >= _LAYOUT and "identifiers" in columns:
            return
        with db:  # one transaction: the old text index stays until the new one is complete
            db.execute("BEGIN")
            db.execute("DROP TABLE IF EXISTS chunks_fts")
            db.execute(_TEXT_INDEX)
            db.executemany(f"INSERT INTO chunks_fts (rowid, {_TEXT_COLUMNS}) VALUES (?,?,?,?,?,?,?)", [
                (row[0], r.title, r.heading, r.content, identifiers_field(r), r.chunk_id, r.project_id)
                for row in db.execute(f"SELECT rowid, {_COLUMNS} FROM chunks").fetchall() for r in [_record(row[1:])]])
            db.execute(f"PRAGMA user_version = {_LAYOUT}")

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def upsert(self, chunks: list[ChunkRecord]) -> None:
        if not chunks:
            return
        with self._write:
            db = self._db()
            with db:
                db.executemany(_DELETE_TEXT + "chunk_id = ?)", [(c.chunk_id,) for c in chunks])
                db.executemany(f"INSERT OR REPLACE INTO chunks ({_COLUMNS}, embedding, embedding_model) "
                               "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", [
                                   (c.chunk_id, c.project_id, c.source_id, c.url, c.title, c.heading, c.content,
                                    c.token_count, c.ordinal, int(c.is_qa),
                                    None if c.embedding is None else np.asarray(c.embedding, np.float32).tobytes(),
                                    c.embedding_model) for c in chunks])
                db.executemany(f"INSERT INTO chunks_fts (rowid, {_TEXT_COLUMNS}) "
                               "VALUES ((SELECT rowid FROM chunks WHERE chunk_id = ?),?,?,?,?,?,?)", [
                                   (c.chunk_id, c.title, c.heading, c.content, identifiers_field(c), c.chunk_id,
                                    c.project_id) for c in chunks])
            self._version += 1

    def delete(self, project_id: str, chunk_ids: list[str]) -> None:
        if not chunk_ids:
            return
        with self._write:
            db = self._db()
            with db:
                rows = [(cid, project_id) for cid in chunk_ids]
                db.executemany(_DELETE_TEXT + "chunk_id = ? AND project_id = ?)", rows)
                db.executemany("DELETE FROM chunks WHERE chunk_id = ? AND project_id = ?", rows)
            self._version += 1

    def delete_source(self, project_id: str, source_id: str) -> None:
        with self._write:
            db = self._db()
            with db:
                db.execute(_DELETE_TEXT + "project_id = ? AND source_id = ?)", (project_id, source_id))
                db.execute("DELETE FROM chunks WHERE project_id = ? AND source_id = ?", (project_id, source_id))
            self._version += 1

    def list_source(self, project_id: str, source_id: str, limit: int, offset: int = 0,
                    after: ChunkPosition | None = None) -> list[ChunkRecord]:
        """A page in index order (``chunks_in_order`` holds the whole sort key): with ``after``, a
        range scan that starts at the position (SQLite sorts NULL URLs first, as the list does; a row
        value with a NULL compares to nothing, so the URL-less chunks are their own range)."""
        if after is not None and offset:
            raise ValueError("a page starts after an offset or after a position, not both")
        select = f"SELECT {_COLUMNS} FROM chunks WHERE project_id = ? AND source_id = ? AND "
        order = " ORDER BY url, ordinal, chunk_id LIMIT ?"
        db, scope = self._db(), (project_id, source_id)
        if after is None:
            rows = db.execute(select + "1" + order + " OFFSET ?", (*scope, limit, offset)).fetchall()
        elif after.url is not None:
            rows = db.execute(select + "(url, ordinal, chunk_id) > (?, ?, ?)" + order,
                              (*scope, after.url, after.ordinal, after.chunk_id, limit)).fetchall()
        else:
            rows = db.execute(select + "url IS NULL AND (ordinal, chunk_id) > (?, ?)" + order,
                              (*scope, after.ordinal, after.chunk_id, limit)).fetchall()
            if len(rows) < limit:
                rows += db.execute(select + "url IS NOT NULL" + order, (*scope, limit - len(rows))).fetchall()
        return [_record(r) for r in rows]

    def _bm25(self, project_id: str, text: str) -> dict[str, float]:
        terms = list(dict.fromkeys(query_terms(text) + identifier_terms(text)))
        if not terms:
            return {}
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        weights = ", ".join(str(FIELD_WEIGHTS[f]) for f in _TEXT_FIELDS)
        try:
            rows = self._db().execute(
                f"SELECT chunk_id, -bm25(chunks_fts, {weights}, 0, 0) FROM chunks_fts "
                "WHERE chunks_fts MATCH ? AND project_id = ? ORDER BY bm25(chunks_fts, " + weights + ", 0, 0) "
                "LIMIT ?", (match, project_id, CANDIDATES))
            return {chunk_id: score for chunk_id, score in rows}
        except sqlite3.OperationalError:
            return {}

    def _matrix(self, project_id: str, model: str) -> tuple[list[str], np.ndarray]:
        key = (project_id, model)
        cached = self._vectors.get(key)
        if cached and cached[0] == self._version:
            return cached[1], cached[2]
        rows = self._db().execute("SELECT chunk_id, embedding FROM chunks WHERE project_id = ? AND "
                                  "embedding_model = ? AND embedding IS NOT NULL", (project_id, model)).fetchall()
        ids = [r[0] for r in rows]
        matrix = np.vstack([np.frombuffer(r[1], np.float32) for r in rows]) if rows else np.zeros((0, 1), np.float32)
        self._vectors[key] = (self._version, ids, matrix)
        return ids, matrix

    def _similarities(self, project_id: str, vector: list[float] | None, model: str | None) -> dict[str, float]:
        """Cosine similarity of the query to every chunk of the project embedded with ``model``."""
        if vector is None or model is None:
            return {}
        ids, matrix = self._matrix(project_id, model)
        if not ids:
            return {}
        query = np.asarray(vector, np.float32)
        query /= max(float(np.linalg.norm(query)), 1e-12)
        similarities = matrix @ query / np.maximum(np.linalg.norm(matrix, axis=1), 1e-12)
        return dict(zip(ids, similarities.tolist()))

    def search(self, project_id: str, text: str, vector: list[float] | None, model: str | None,
               k: int = 10, mode: str = "hybrid") -> list[Hit]:
        bm25 = self._bm25(project_id, text) if mode != "vector" else {}
        similarity = self._similarities(project_id, vector, model)
        nearest = dict(sorted(similarity.items(), key=lambda kv: -kv[1])[:CANDIDATES]) if mode != "bm25" else {}
        scores = combine(bm25, nearest, mode)
        best = sorted(scores, key=lambda cid: (-scores[cid], cid))[:k]
        if not best:
            return []
        marks = ",".join("?" * len(best))
        rows = {r[0]: r for r in self._db().execute(
            f"SELECT {_COLUMNS} FROM chunks WHERE project_id = ? AND chunk_id IN ({marks})", (project_id, *best))}
        return [Hit(_record(rows[cid]), scores[cid], bm25.get(cid, 0.0), similarity.get(cid))
                for cid in best if cid in rows]
