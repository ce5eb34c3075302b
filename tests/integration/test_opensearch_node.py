"""What only a real OpenSearch node can show about the OpenSearch index (the session's ``opensearch``
cluster: a node started from devkit/opensearch, or ``OPENSEARCH_URL``). Each test is one finding of
issue 14: a broken query must raise, any embedding dimension must fit, concurrent writers must not
fail, negative inner products must be read back, deep pages must work, and hybrid fusion must score
exactly as the embedded index's ``combine`` does."""

from __future__ import annotations

import math
import multiprocessing
import random
import threading
import uuid

import pytest

from botplot.knowledge.index.base import ChunkRecord, combine
from botplot.knowledge.index.opensearch import PIPELINE, OpenSearchIndex, QueryFailed
from botplot.knowledge.index.sqlite import SqliteIndex


def unit(*weights: float) -> list[float]:
    norm = math.sqrt(sum(w * w for w in weights))
    return [w / norm for w in weights]


def record(cid: str, content: str, vector: list[float] | None, project: str = "p", source: str = "s",
           title: str = "", url: str | None = None, ordinal: int = 0) -> ChunkRecord:
    return ChunkRecord(chunk_id=cid, project_id=project, source_id=source, content=content,
                       token_count=len(content.split()), title=title, url=url or f"https://site/{cid}",
                       ordinal=ordinal, embedding=vector, embedding_model="m" if vector else None)


@pytest.fixture
def make_index(opensearch):
    """A fresh index family per test (its own name prefix), deleted afterwards."""
    made: list[OpenSearchIndex] = []

    def make(**kwargs) -> OpenSearchIndex:
        index = OpenSearchIndex(opensearch.url, prefix=kwargs.pop("prefix", f"botplot-t-{uuid.uuid4().hex[:8]}"),
                                engine=opensearch.engine, **kwargs)
        made.append(index)
        return index

    yield make
    for index in made:  # every version of the family: the names reads use are aliases of them
        index.client.indices.delete(index=f"{index.prefix}*", params={"allow_no_indices": "true"})


def test_a_failed_query_part_raises_instead_of_reading_as_no_hits(make_index):
    index = make_index(dimensions=4)
    index.upsert([record("c1", "return any item within 30 days", unit(1, 0, 0, 0))])
    assert index.search("p", "return", unit(1, 0, 0, 0), "m", mode="hybrid")
    # the pipeline the index uses by default is gone: OpenSearch answers 200 with an error per part
    pipeline = index.client.transport.perform_request("GET", f"/_search/pipeline/{PIPELINE}")[PIPELINE]
    index.client.transport.perform_request("DELETE", f"/_search/pipeline/{PIPELINE}")
    try:
        with pytest.raises(QueryFailed, match="hybrid|pipeline"):
            index.search("p", "return", unit(1, 0, 0, 0), "m", mode="hybrid")
    finally:  # the pipeline is the cluster's: other indexes on this node use it too
        index.client.transport.perform_request("PUT", f"/_search/pipeline/{PIPELINE}", body=pipeline)


def test_any_embedding_dimension_is_indexed_and_searched(make_index):
    """MiniLM's 384, OpenAI's 1536 and 3072 dimensions each get an index of their own; BM25 and
    listing see all of them; a chunk re-embedded with another dimension is not found twice."""
    index = make_index()  # the production default: 1536 for chunks without a vector
    rng = random.Random(7)
    vectors = {dims: unit(*(rng.gauss(0, 1) for _ in range(dims))) for dims in (384, 1536, 3072)}
    index.upsert([record(f"c{dims}", f"shipping note {dims}", vectors[dims]) for dims in vectors]
                 + [record("plain", "shipping without a vector", None)])
    for dims, vector in vectors.items():
        hits = index.search("p", "zzz", vector, "m", k=1, mode="vector")
        assert [h.chunk.chunk_id for h in hits] == [f"c{dims}"]
        assert hits[0].similarity == pytest.approx(1.0, abs=1e-3)
    assert {h.chunk.chunk_id for h in index.search("p", "shipping", None, None, k=10, mode="bm25")} == {
        "c384", "c1536", "c3072", "plain"}
    index.upsert([record("c384", "shipping note re-embedded", vectors[1536])])
    listed = [c.chunk_id for c in index.list_source("p", "s", 10, 0)]
    assert sorted(listed) == ["c1536", "c3072", "c384", "plain"]
    assert index.search("p", "zzz", vectors[384], "m", k=5, mode="vector") == []


def _race(url: str, engine: str, prefix: str, n: int, barrier, results) -> None:
    index = OpenSearchIndex(url, prefix=prefix, dimensions=4, engine=engine)
    barrier.wait(30)
    try:
        index.upsert([record(f"w{n}-{i}", f"writer {n} chunk {i}", unit(1, n, i, 1)) for i in range(5)])
        results.put((n, "ok"))
    except Exception as error:  # reported to the test, which fails on it
        results.put((n, repr(error)))


def test_two_processes_creating_the_index_at_once_both_succeed(opensearch, make_index):
    prefix = f"botplot-race-{uuid.uuid4().hex[:8]}"
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    writers = [context.Process(target=_race, args=(opensearch.url, opensearch.engine, prefix, n, barrier, results))
               for n in (1, 2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(120)
    outcomes = dict(results.get(timeout=5) for _ in writers)
    assert outcomes == {1: "ok", 2: "ok"}
    index = make_index(prefix=prefix, dimensions=4)
    assert len(index.list_source("p", "s", 100, 0)) == 10


def test_reads_while_a_writer_creates_the_index_find_nothing_instead_of_failing(make_index):
    """A chunk page or a chat arriving while the first crawl creates the index must not be a 500:
    until the index's shard starts, OpenSearch answers reads with "all shards failed"."""
    for _ in range(3):
        index = make_index(dimensions=4)
        failures, done = [], threading.Event()

        def read():
            while not done.is_set():
                try:
                    index.list_source("p", "s", 10, 0)
                    index.search("p", "hello", unit(1, 0, 0, 0), "m", mode="hybrid")
                except Exception as error:  # collected for the assertion below
                    failures.append(repr(error))

        reader = threading.Thread(target=read)
        reader.start()
        try:
            index.upsert([record("c1", "hello", unit(1, 0, 0, 0))])
        finally:
            done.set()
            reader.join(30)
        assert failures == []
        assert [h.chunk.chunk_id for h in index.search("p", "hello", unit(1, 0, 0, 0), "m")] == ["c1"]


def test_negative_inner_products_are_read_back_as_negative_similarities(make_index):
    index = make_index(dimensions=2)
    index.upsert([record("same", "a", unit(1, 0)), record("orthogonal", "b", unit(0, 1)),
                  record("opposite", "c", unit(-1, 0)), record("against", "d", unit(-1, 1))])
    hits = index.search("p", "zzz", unit(1, 0), "m", k=4, mode="vector")
    similarity = {h.chunk.chunk_id: h.similarity for h in hits}
    assert similarity == pytest.approx({"same": 1.0, "orthogonal": 0.0, "opposite": -1.0,
                                        "against": -math.sqrt(0.5)}, abs=1e-4)


def test_pages_beyond_ten_thousand_chunks_are_served(make_index, tmp_path):
    from opensearchpy.helpers import bulk

    index = make_index(dimensions=4)
    index.upsert([record("first", "x", None, url="https://site/a")])  # creates the index
    total = 10_012
    rows = [record(f"c{i:05d}", f"chunk {i}", None, url=f"https://site/{i // 7:04d}", ordinal=i % 7)
            for i in range(total)] + [record("no-url", "a Q&A pair", None)]
    rows[-1].url = None
    bulk(index.client, ({"_index": index.index_for(4), "_id": r.chunk_id,
                         "_source": {**r.__dict__, "embedding": None}} for r in rows), refresh="wait_for",
         chunk_size=5000)
    index.delete("p", ["first"])
    embedded = SqliteIndex(str(tmp_path / "index.sqlite"))
    embedded.upsert(rows)
    for offset, limit in ((0, 3), (9_998, 5), (10_000, 1000), (10_010, 10), (20_000, 10)):
        page = [c.chunk_id for c in index.list_source("p", "s", limit, offset)]
        assert page == [c.chunk_id for c in embedded.list_source("p", "s", limit, offset)], (offset, limit)
    assert len(index.list_source("p", "s", 10, 10_010)) == 3
    assert index.list_source("p", "s", 1000, 10_000)[0].url is not None


def _scores(hits) -> dict[str, float]:
    return {h.chunk.chunk_id: h.score for h in hits}


def test_hybrid_fusion_scores_as_the_embedded_index_does(make_index, tmp_path):
    """The normalization pipeline's scores equal ``combine`` applied to the node's own BM25 and
    k-NN lists, chunks missing from one list included (one matches no keyword, one has no vector);
    and both backends rank the same corpus alike."""
    corpus = [
        record("both", "return any item within 30 days for a refund", unit(1, 0, 0, 0), title="Returns"),
        record("words-only", "return shipping labels are printed at the desk", None, title="Labels"),
        record("meaning-only", "money back if you change your mind", unit(0.9, 0.1, 0, 0), title="Guarantee"),
        record("weak", "a return visit to the store", unit(0.1, 0.9, 0, 0), title="Visits"),
        record("far", "warranty covers defects", unit(0, 0, 1, 0), title="Warranty"),
    ]
    index = make_index(dimensions=4)
    index.upsert(corpus)
    query, vector = "return refund", unit(1, 0, 0, 0)
    bm25 = {h.chunk.chunk_id: h.bm25 for h in index.search("p", query, None, None, k=50, mode="bm25")}
    knn = {h.chunk.chunk_id: 1 + h.similarity for h in index.search("p", query, vector, "m", k=50, mode="vector")}
    assert "meaning-only" not in bm25 and "words-only" not in knn
    fused = _scores(index.search("p", query, vector, "m", k=10, mode="hybrid"))
    assert fused == pytest.approx(combine(bm25, knn, "hybrid"), abs=1e-4)
    embedded = SqliteIndex(str(tmp_path / "index.sqlite"))
    embedded.upsert(corpus)
    local = embedded.search("p", query, vector, "m", k=10, mode="hybrid")
    assert [h.chunk.chunk_id for h in local][:3] == sorted(fused, key=lambda c: -fused[c])[:3]


def test_vectors_are_stored_with_the_configured_encoding(make_index, opensearch):
    """The encoding reaches the index mapping (the template's VectorEncoding in AWS) and an
    encoded index still finds the nearest chunk; an encoding the engine lacks is refused upfront."""
    from botplot.knowledge.index.opensearch import ENCODINGS

    encoded = next(e for e in ENCODINGS[opensearch.engine] if e != "fp32")
    index = make_index(dimensions=4, encoding=encoded)
    index.upsert([record("near", "a", unit(1, 0.1, 0, 0)), record("far", "b", unit(0, 0, 1, 0))])
    mapping = index.client.indices.get_mapping(index=index.index_for(4))[index.stored_index(4)]
    method = mapping["mappings"]["properties"]["embedding"]["method"]
    assert method["parameters"]["encoder"] == ENCODINGS[opensearch.engine][encoded]
    assert [h.chunk.chunk_id for h in index.search("p", "zzz", unit(1, 0, 0, 0), "m", k=1, mode="vector")] == ["near"]
    other = "fp16" if opensearch.engine == "lucene" else "int7"
    with pytest.raises(ValueError, match=other):
        OpenSearchIndex(opensearch.url, engine=opensearch.engine, encoding=other)


def _legacy_index(index: OpenSearchIndex, rows: list[ChunkRecord]) -> None:
    """The index as the release before analysis versions created it: a concrete index under the name
    reads use, text analysed by ``english`` (which keeps ``max_retries`` whole), holding ``rows``."""
    from opensearchpy.helpers import bulk

    from botplot.knowledge.index.opensearch import _doc

    english = {"type": "text", "analyzer": "english"}
    index.client.transport.perform_request("PUT", f"/_search/pipeline/{PIPELINE}", body={
        "phase_results_processors": [{"normalization-processor": {
            "normalization": {"technique": "min_max"},
            "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.5, 0.5]}}}}]})
    index.client.indices.create(index=index.index_for(4), body={
        "settings": {"index": {"knn": True, "number_of_shards": 1, "search.default_pipeline": PIPELINE}},
        "mappings": {"properties": {
            "chunk_id": {"type": "keyword"}, "project_id": {"type": "keyword"}, "source_id": {"type": "keyword"},
            "url": {"type": "keyword"}, "title": english, "heading": english, "content": english,
            "identifiers": english, "token_count": {"type": "integer"}, "ordinal": {"type": "integer"},
            "is_qa": {"type": "boolean"}, "embedding_model": {"type": "keyword"},
            "embedding": {"type": "knn_vector", "dimension": 4, "method": {
                "name": "hnsw", "engine": index.engine, "space_type": "innerproduct"}}}}})
    bulk(index.client, ({"_index": index.index_for(4), "_id": r.chunk_id, "_source": _doc(r)} for r in rows),
         refresh="wait_for")


def test_an_index_of_the_previous_analysis_is_migrated_by_the_first_writer_without_losing_a_read(make_index,
                                                                                              opensearch):
    """Deployed over an existing domain, the new release reads the old index as it is; its first
    write copies it into an index analysed the new way and moves the name there in one step, so a
    question in words then finds ``max_retries``, no chunk is lost or doubled, and no read meanwhile
    fails or misses an old chunk."""
    index = make_index(dimensions=4)
    old = [record(f"old{i}", f"the adapter takes max_retries={i} by default", unit(1, 0, 0, i), ordinal=i)
           for i in range(40)]
    _legacy_index(index, old)
    assert len(index.search("p", "max retries", None, None, k=50, mode="bm25")) == 0  # the old analysis
    assert len(index.search("p", "adapter", unit(1, 0, 0, 0), "m", k=50)) == 40

    misses, done = [], threading.Event()

    def read():
        reader = OpenSearchIndex(opensearch.url, prefix=index.prefix, engine=index.engine)  # another process
        while not done.is_set():
            try:
                found = len(reader.list_source("p", "s", 100, 0))
                if found < 40:
                    misses.append(found)
            except Exception as error:  # collected for the assertion below
                misses.append(repr(error))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        index.upsert([record("new", "retries are counted per host", unit(0, 1, 0, 0))])
    finally:
        done.set()
        reader.join(30)
    assert misses == []
    assert next(iter(index.client.indices.get(index=index.index_for(4)))) == index.stored_index(4)
    assert sorted(c.chunk_id for c in index.list_source("p", "s", 100, 0)) == sorted([r.chunk_id for r in old] + ["new"])
    assert len(index.search("p", "max retries", None, None, k=50, mode="bm25")) == 41
    assert [h.chunk.chunk_id for h in index.search("p", "zzz", unit(1, 0, 0, 0), "m", k=1, mode="vector")] == ["old0"]
    index.upsert([record("old1", "rewritten after the migration", unit(0, 0, 1, 0))])  # writes are not blocked
    assert len(index.list_source("p", "s", 100, 0)) == 41


def test_a_migration_cut_short_is_finished_by_the_next_writer(make_index):
    """A writer that died midway left the old index write-blocked and a partial copy: the next
    writer (another process: a new index object) completes the copy and the swap."""
    index = make_index(dimensions=4)
    old = [record(f"old{i}", f"chunk {i} of max_retries", unit(1, 0, 0, i)) for i in range(10)]
    _legacy_index(index, old)
    index._create(index.stored_index(4), 4, alias=None)
    index.client.index(index=index.stored_index(4), id="old3", body=index.client.get(
        index=index.index_for(4), id="old3")["_source"], refresh=True)
    index.client.indices.put_settings(index=index.index_for(4), body={"index": {"blocks": {"write": True}}})
    again = make_index(prefix=index.prefix, dimensions=4)
    again.upsert([record("new", "a chunk written after", unit(0, 1, 0, 0))])
    assert sorted(c.chunk_id for c in again.list_source("p", "s", 100, 0)) == sorted(
        [r.chunk_id for r in old] + ["new"])
    assert len(again.search("p", "max retries", None, None, k=50, mode="bm25")) == 10
