"""One contract, two backends: the embedded SQLite index and a real OpenSearch node (the session's
``opensearch``: a node started from devkit/opensearch, or ``OPENSEARCH_URL``)."""

from __future__ import annotations

import math
import os
import uuid
from dataclasses import replace

import pytest

from botplot.knowledge.index.base import ChunkPosition, ChunkRecord

def _vector(*weights: float) -> list[float]:
    """A unit vector in a small space whose axes stand for topics (returns, shipping, warranty, other)."""
    norm = math.sqrt(sum(w * w for w in weights))
    return [w / norm for w in weights]


@pytest.fixture(params=["sqlite", "opensearch"])
def index(request, tmp_path):
    if request.param == "sqlite":
        from botplot.knowledge.index.sqlite import SqliteIndex

        return SqliteIndex(str(tmp_path / "index.sqlite"))
    cluster = request.getfixturevalue("opensearch")
    from botplot.knowledge.index.opensearch import OpenSearchIndex

    return OpenSearchIndex(cluster.url, service=os.environ.get("OPENSEARCH_SERVICE", "es"),
                           prefix=f"botplot-test-{uuid.uuid4().hex[:8]}", dimensions=4, engine=cluster.engine)


def chunk(project, source, cid, title, content, vector, url=None, heading="", ordinal=0):
    return ChunkRecord(chunk_id=cid, project_id=project, source_id=source, content=content,
                       token_count=len(content.split()), title=title, heading=heading, url=url or f"https://s/{cid}",
                       ordinal=ordinal, embedding=vector, embedding_model="topic-4")


@pytest.fixture
def corpus(index):
    a, b = "project-a", "project-b"
    index.upsert([
        chunk(a, "s1", "a-returns", "Returns", "Return any item within 30 days for a full refund.", _vector(1, 0, 0, .1)),
        chunk(a, "s1", "a-shipping", "Shipping", "Standard shipping takes 3 to 5 business days.", _vector(0, 1, 0, .1)),
        chunk(a, "s2", "a-warranty", "Warranty", "Appliances carry a two-year warranty against defects.",
              _vector(0, 0, 1, .1)),
        chunk(b, "s9", "b-returns", "Returns", "Project B secret: returns accepted within 90 days.", _vector(1, 0, 0, .1)),
    ])
    return index


def ids(hits):
    return [h.chunk.chunk_id for h in hits]


@pytest.mark.parametrize("mode", ["bm25", "vector", "hybrid"])
def test_search_finds_the_right_chunk_and_never_another_projects(corpus, mode):
    hits = corpus.search("project-a", "how many days to return an item for a refund", _vector(1, 0, 0, 0), "topic-4",
                         k=5, mode=mode)
    assert ids(hits)[0] == "a-returns"
    assert all(h.chunk.project_id == "project-a" for h in hits)
    assert "b-returns" not in ids(hits)
    other = corpus.search("project-b", "returns", _vector(1, 0, 0, 0), "topic-4", k=5, mode=mode)
    assert ids(other) == ["b-returns"]


def test_hybrid_combines_keywords_and_meaning(corpus):
    # the words point at shipping; the vector points at the warranty: both should rank above returns
    hits = corpus.search("project-a", "shipping", _vector(0, 0, 1, 0), "topic-4", k=3, mode="hybrid")
    assert set(ids(hits)[:2]) == {"a-shipping", "a-warranty"}
    assert hits[0].score >= hits[1].score >= hits[-1].score


def test_vectors_of_another_embedding_model_are_not_compared(corpus):
    hits = corpus.search("project-a", "zzz-no-keyword-match", _vector(1, 0, 0, 0), "another-model", k=5, mode="vector")
    assert hits == []


def test_upsert_is_idempotent_and_replaces_content(corpus):
    again = chunk("project-a", "s1", "a-returns", "Returns", "Return any item within 45 days now.", _vector(1, 0, 0, .1))
    corpus.upsert([again])
    corpus.upsert([again])
    listed = corpus.list_source("project-a", "s1", 10, 0)
    assert sorted(c.chunk_id for c in listed) == ["a-returns", "a-shipping"]
    assert next(c for c in listed if c.chunk_id == "a-returns").content == "Return any item within 45 days now."
    assert ids(corpus.search("project-a", "45", None, None, k=5, mode="bm25")) == ["a-returns"]
    assert ids(corpus.search("project-a", "30", None, None, k=5, mode="bm25")) == []


def test_list_source_pages_in_url_then_ordinal_order(index):
    index.upsert([chunk("p", "s", f"c{i}", "T", f"text {i}", _vector(1, 1, 1, 1), url=f"https://s/{i // 3}",
                        ordinal=i % 3) for i in range(7)])
    listed = index.list_source("p", "s", 10, 0)
    assert [(c.url, c.ordinal) for c in listed] == sorted((c.url, c.ordinal) for c in listed)
    assert len(index.list_source("p", "s", 3, 0)) == 3 and len(index.list_source("p", "s", 10, 5)) == 2
    assert index.list_source("other-project", "s", 10, 0) == []


@pytest.fixture
def pages(index):
    """A source of 12 chunks: two without a URL (Q&A), then three pages of URLs, one holding two chunks
    at the same ordinal (the chunk id decides); beside it another source and another project."""
    same = _vector(1, 1, 1, 1)
    index.upsert([replace(chunk("p", "s", f"qa-{i}", "Q", f"answer {i}", same), url=None) for i in (1, 0)] + [
        chunk("p", "s", f"c{i:02}", "T", f"text {i}", same, url=f"https://s/{i // 4}", ordinal=min(i % 4, 2))
        for i in range(10)] + [
        chunk("p", "other-source", "o1", "T", "other", same, url="https://s/0"),
        chunk("q", "s", "q1", "T", "other project", same, url="https://s/0")])
    return index


def walk(index, limit: int) -> list[str]:
    """Every chunk of the source, a page of ``limit`` at a time after the last page's last chunk."""
    seen, after = [], None
    while page := index.list_source("p", "s", limit, after=after):
        assert len(page) <= limit
        seen += [c.chunk_id for c in page]
        after = ChunkPosition.decode(ChunkPosition.of(page[-1]).encode())  # as a cursor carries it
    return seen


def test_pages_after_a_position_walk_the_offset_order(pages):
    everything = pages.list_source("p", "s", 100, 0)
    order = [c.chunk_id for c in everything]
    assert order[:2] == ["qa-0", "qa-1"] and len(order) == 12  # URL-less first, ties by id, nothing else's
    assert order[2:] == sorted(order[2:], key=lambda cid: (f"https://s/{int(cid[1:]) // 4}", min(int(cid[1:]) % 4, 2),
                                                           cid))
    for limit in (1, 2, 5, 12, 13):
        assert walk(pages, limit) == order, limit
    for start in range(12):  # after any chunk: the same page an offset gives
        after = ChunkPosition.of(everything[start])
        assert [c.chunk_id for c in pages.list_source("p", "s", 3, after=after)] == order[start + 1:start + 4]


def test_a_position_outlives_its_chunk(pages):
    """A chunk deleted between two pages (a resync): the next page starts where it stood."""
    everything = pages.list_source("p", "s", 100, 0)
    order = [c.chunk_id for c in everything]
    pages.delete("p", [order[1], order[6]])  # a Q&A chunk, a page's chunk
    assert [c.chunk_id for c in pages.list_source("p", "s", 2, after=ChunkPosition.of(everything[1]))] == order[2:4]
    assert [c.chunk_id for c in pages.list_source("p", "s", 2, after=ChunkPosition.of(everything[6]))] == order[7:9]


def test_an_offset_and_a_position_together_are_refused(pages):
    with pytest.raises(ValueError):
        pages.list_source("p", "s", 2, 1, after=ChunkPosition(None, 0, "qa-0"))


def test_deletes_are_scoped_to_their_project(corpus):
    corpus.delete("project-b", ["a-shipping"])  # another project's id: nothing happens
    assert "a-shipping" in [c.chunk_id for c in corpus.list_source("project-a", "s1", 10, 0)]
    corpus.delete("project-a", ["a-shipping"])
    assert [c.chunk_id for c in corpus.list_source("project-a", "s1", 10, 0)] == ["a-returns"]
    corpus.delete_source("project-a", "s2")
    assert corpus.list_source("project-a", "s2", 10, 0) == []
    assert "a-warranty" not in ids(corpus.search("project-a", "warranty", _vector(0, 0, 1, 0), "topic-4", k=5))
    assert ids(corpus.search("project-b", "returns", None, None, k=5, mode="bm25")) == ["b-returns"]


@pytest.mark.parametrize("question, content", [
    # a dotted name as written (FTS5 splits it, OpenSearch keeps it whole)
    ("What does Session.get return?", "Session.get(url) sends a GET request."),
    # a configuration key against the command-line option spelling it with hyphens (OpenSearch
    # kept ``fail_under`` as one token and split ``--fail-under``)
    ("Where do I set fail_under?", "Pass --fail-under=90 to fail the run below 90 %."),
    # the words of a camelCase name (neither tokenizer splits ``FileStorage``)
    ("How do I save a file storage?", "Uploads arrive as FileStorage instances."),
    # a snake_case name asked in plain words (OpenSearch's english analyzer kept ``max_retries`` whole)
    ("How many max retries are made?", "The adapter takes max_retries=3 by default."),
])
def test_an_identifier_is_found_however_the_question_spells_it(index, question, content):
    index.upsert([
        chunk("p", "s", "named", "API", content, _vector(0, 0, 0, 1)),
        chunk("p", "s", "other", "API", "Sessions keep cookies between requests; objects are cached.",
              _vector(0, 0, 0, 1)),
        chunk("p", "s", "third", "Guide", "A request handler reads headers and writes a response body.",
              _vector(0, 0, 0, 1)),
    ])
    assert ids(index.search("p", question, None, None, k=3, mode="bm25"))[:1] == ["named"]


def test_an_index_file_from_before_the_identifiers_field_is_rebuilt_and_searchable(tmp_path):
    """A local stack's SQLite file written by the previous release (no identifiers column) opens,
    keeps its chunks and finds them by identifier."""
    import sqlite3

    from botplot.knowledge.index.sqlite import SqliteIndex

    path = str(tmp_path / "old.sqlite")
    SqliteIndex(path).upsert([chunk("p", "s", "named", "API", "Uploads arrive as FileStorage objects.", None)])
    db = sqlite3.connect(path)
    with db:
        db.execute("DROP TABLE chunks_fts")
        db.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(title, heading, content, chunk_id UNINDEXED, "
                   "project_id UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2')")
        db.execute("INSERT INTO chunks_fts VALUES ('API', '', 'Uploads arrive as FileStorage objects.', 'named', 'p')")
        db.execute("PRAGMA user_version = 0")  # the previous release never set it
    db.close()
    index = SqliteIndex(path)
    assert ids(index.search("p", "file storage", None, None, k=3, mode="bm25")) == ["named"]
    assert ids(index.search("p", "uploads", None, None, k=3, mode="bm25")) == ["named"]


def _text_rows(path) -> tuple[int, int]:
    import sqlite3

    db = sqlite3.connect(path)
    try:
        return (db.execute("SELECT count(*) FROM chunks_fts").fetchone()[0],
                db.execute("SELECT count(*) FROM chunks").fetchone()[0])
    finally:
        db.close()


def test_replaced_and_deleted_chunks_leave_no_text_behind(tmp_path):
    """Each chunk has exactly one text row however often it is re-crawled or deleted: stale rows
    would crowd real candidates out of the BM25 list and grow the file with every resync."""
    from botplot.knowledge.index.sqlite import SqliteIndex

    path = str(tmp_path / "index.sqlite")
    index = SqliteIndex(path)
    for days in (30, 45, 60):
        index.upsert([chunk("p", "s", f"c{i}", "Returns", f"Return item {i} within {days} days.", None)
                      for i in range(5)] + [chunk("p", "t", "other", "Other", "Shipping takes a week.", None)])
    assert _text_rows(path) == (6, 6)
    assert ids(index.search("p", "30 45", None, None, k=10, mode="bm25")) == []
    index.delete("p", ["c0", "c1"])
    index.delete_source("p", "t")
    assert _text_rows(path) == (3, 3)
    assert sorted(ids(index.search("p", "60", None, None, k=10, mode="bm25"))) == ["c2", "c3", "c4"]


def test_an_index_file_whose_text_rows_are_not_keyed_by_chunk_is_rebuilt(tmp_path):
    """A file from before text rows were keyed by their chunk's rowid (user_version 0) is rebuilt on
    open: replacing a chunk then removes its old words, and nothing is lost."""
    import sqlite3

    from botplot.knowledge.index.sqlite import SqliteIndex

    path = str(tmp_path / "old.sqlite")
    SqliteIndex(path).upsert([chunk("p", "s", f"c{i}", "Returns", f"Return item {i} within 30 days.", None)
                              for i in range(3)])
    db = sqlite3.connect(path)
    with db:  # the previous release: text rows under rowids of their own, in another order
        rows = db.execute("SELECT title, heading, content, identifiers, chunk_id, project_id FROM chunks_fts "
                          "ORDER BY chunk_id DESC").fetchall()
        db.execute("DELETE FROM chunks_fts")
        db.executemany("INSERT INTO chunks_fts (rowid, title, heading, content, identifiers, chunk_id, project_id) "
                       "VALUES (?,?,?,?,?,?,?)", [(100 + n, *row) for n, row in enumerate(rows)])
        db.execute("PRAGMA user_version = 0")
    db.close()
    index = SqliteIndex(path)
    assert sorted(ids(index.search("p", "30", None, None, k=10, mode="bm25"))) == ["c0", "c1", "c2"]
    index.upsert([chunk("p", "s", "c1", "Returns", "Return item 1 within 45 days.", None)])
    assert sorted(ids(index.search("p", "30", None, None, k=10, mode="bm25"))) == ["c0", "c2"]
    assert ids(index.search("p", "45", None, None, k=10, mode="bm25")) == ["c1"]
    assert _text_rows(path) == (3, 3)
