"""One contract, two backends: the embedded SQLite index and a real OpenSearch node (the session's
``opensearch``: a node started from devkit/opensearch, or ``OPENSEARCH_URL``)."""

from __future__ import annotations

import math
import os
import uuid

import pytest

from botplot.knowledge.index.base import ChunkRecord


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


def test_deletes_are_scoped_to_their_project(corpus):
    corpus.delete("project-b", ["a-shipping"])  # another project's id: nothing happens
    assert "a-shipping" in [c.chunk_id for c in corpus.list_source("project-a", "s1", 10, 0)]
    corpus.delete("project-a", ["a-shipping"])
    assert [c.chunk_id for c in corpus.list_source("project-a", "s1", 10, 0)] == ["a-returns"]
    corpus.delete_source("project-a", "s2")
    assert corpus.list_source("project-a", "s2", 10, 0) == []
    assert "a-warranty" not in ids(corpus.search("project-a", "warranty", _vector(0, 0, 1, 0), "topic-4", k=5))
    assert ids(corpus.search("project-b", "returns", None, None, k=5, mode="bm25")) == ["b-returns"]
