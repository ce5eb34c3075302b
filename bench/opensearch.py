"""The embedded index and a real OpenSearch node, side by side, on the same corpus and questions.

`python -m bench.opensearch [corpus ...]` (default: flask). Starts a node from devkit/opensearch
(or uses ``OPENSEARCH_URL``; engine ``BOTPLOT_KNN_ENGINE``), then for each backend runs the real
pipeline (crawler, chunker, offline MiniLM embeddings) into it against moto and prints:

- ingestion: the first crawl's pages/second with embedding excluded (the vectors are computed once,
  in the embedded run, and reused: the backends differ in what follows) and the seconds spent
  writing to the index;
- retrieval: hit@1 / hit@5 / MRR of the answer's page for BM25, vectors, hybrid and BotPlot's
  retrieval, and the search latency (p50 / p95 of ``index.search`` in hybrid mode);
- vector encodings on the node: the same chunks re-indexed with fp32, int7 (Lucene's scalar
  quantization, measured) and fp16 (faiss's SQfp16 cannot load here: its effect is reproduced by
  rounding the stored vectors to float16, which is what SQfp16 stores), with the k-NN memory per
  chunk each implies for 1536 dimensions.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid

from bench.retrieval import StageTimer, crawl, hits, page_ranking
from bench.support import scratch, start_moto

MODES = ("bm25", "vector", "hybrid")


def configure(backend: str, url: str | None, engine: str) -> None:
    from botplot.config import reload_settings
    from botplot.knowledge.index import default_index

    os.environ["BOTPLOT_INDEX"] = backend
    if backend == "opensearch":
        os.environ.update({"OPENSEARCH_URL": url, "BOTPLOT_KNN_ENGINE": engine})
    reload_settings()
    default_index.cache_clear()


def measure(site, items, vectors, embedder) -> dict:
    """Ingest the site into the configured index and score the questions against it."""
    from botplot.knowledge.index import default_index
    from botplot.knowledge.retrieval import ranked_pages
    from botplot.services import knowledge
    from botplot.services.projects import create_project

    project, _ = create_project("opensearch bench", "enterprise")
    source = knowledge.add_url(project.project_id, site.url + "/index.html", "manual")
    timer = StageTimer()
    seconds, report = crawl(project.project_id, source.source_id, timer)
    counts = report["counts"]
    pages = counts["added"] + counts["changed"] + counts["unchanged"]
    index, expected = default_index(), [item["page"] for item in items]
    seconds -= timer.seconds.get("embed", 0.0)
    figures = {"project": project.project_id, "pages": pages, "seconds": seconds,
               "index seconds": timer.seconds.get("index", 0.0), "chunks": _count(index, project.project_id, source.source_id)}
    latencies = []
    for mode in MODES:
        rankings = []
        for item, vector in zip(items, vectors):
            started = time.perf_counter()
            found = index.search(project.project_id, item["q"], vector, embedder.model, k=30, mode=mode)
            if mode == "hybrid":
                latencies.append(time.perf_counter() - started)
            rankings.append([site.page_of(u) for u in page_ranking([h.chunk.url for h in found])])
        figures[mode] = hits(rankings, expected)
    figures["BotPlot retrieval"] = hits([[site.page_of(group[0].chunk.url) for _, group in
                                          ranked_pages(project.project_id, item["q"], vector, embedder.model)
                                          if group[0].chunk.url] for item, vector in zip(items, vectors)], expected)
    latencies.sort()
    figures["p50 ms"] = 1000 * statistics.median(latencies)
    figures["p95 ms"] = 1000 * latencies[int(0.95 * (len(latencies) - 1))]
    return figures


def _count(index, project_id: str, source_id: str) -> int:
    total = 0
    while page := index.list_source(project_id, source_id, 1000, total):
        total += len(page)
    return total


def encodings(url: str, engine: str, project_id: str, site, items, vectors, model: str) -> dict:
    """The embedded index's chunks (with their vectors) re-indexed on the node per encoding."""
    import numpy as np

    from botplot.knowledge.index import default_index
    from botplot.knowledge.index.base import ChunkRecord
    from botplot.knowledge.index.opensearch import ENCODINGS, OpenSearchIndex

    configure("sqlite", None, engine)
    rows = default_index()._db().execute(
        "SELECT chunk_id, project_id, source_id, url, title, heading, content, token_count, ordinal, is_qa, "
        "embedding, embedding_model FROM chunks WHERE project_id = ?", (project_id,)).fetchall()
    expected = [item["page"] for item in items]
    variants = [(name, name, False) for name in ENCODINGS[engine]]
    if "fp16" not in ENCODINGS[engine]:
        variants.append(("fp16 (float16-rounded vectors)", "fp32", True))
    results = {}
    for label, encoding, round_to_fp16 in variants:
        index = OpenSearchIndex(url, prefix=f"bench-{uuid.uuid4().hex[:8]}", engine=engine, encoding=encoding)
        chunks = []
        for r in rows:
            vector = np.frombuffer(r[10], np.float32)
            if round_to_fp16:
                vector = vector.astype(np.float16).astype(np.float32)
            chunks.append(ChunkRecord(chunk_id=r[0], project_id=r[1], source_id=r[2], url=r[3], title=r[4],
                                      heading=r[5], content=r[6], token_count=r[7], ordinal=r[8], is_qa=bool(r[9]),
                                      embedding=vector.tolist(), embedding_model=r[11]))
        for start in range(0, len(chunks), 200):
            index.upsert(chunks[start:start + 200])
        results[label] = {}
        for mode in ("vector", "hybrid"):
            results[label][mode] = hits([[site.page_of(u) for u in page_ranking(
                [h.chunk.url for h in index.search(project_id, item["q"], vector, model, k=30, mode=mode)])]
                for item, vector in zip(items, vectors)], expected)
        index.client.indices.delete(index=f"{index.prefix}*")  # the versioned indexes behind the aliases
    return results


def run(names: list[str]) -> None:
    from bench.corpus import CORPORA, SiteServer, questions, unpack
    from botplot_dev.opensearch_node import HOW_TO_GET_IT, KNN_ENGINE, OpenSearchNode, missing

    url, node = os.environ.get("OPENSEARCH_URL"), None
    if not url and missing():
        print(f"skipped: no OpenSearch node ({missing()}): {HOW_TO_GET_IT}")
        return
    engine = os.environ.get("BOTPLOT_KNN_ENGINE", "faiss") if url else KNN_ENGINE
    if not url:
        node = OpenSearchNode().start()
        url = node.url
        print(f"OpenSearch node {url}: green after {node.start_seconds:.1f} s, k-NN engine {engine}")
    os.environ.update({"BOTPLOT_EMBEDDER": "minilm", "BOTPLOT_ALLOW_PRIVATE_TARGETS": "1",
                       "BOTPLOT_INDEX_PATH": str(scratch() / "index.sqlite")})
    start_moto()
    from botplot.knowledge.embeddings import default_embedder

    embedder = default_embedder()
    embed, known = embedder.embed, {}

    def embed_once(texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        known.update(zip(missing, embed(missing) if missing else []))
        return [known[t] for t in texts]

    embedder.embed = embed_once
    try:
        for corpus in [c for c in CORPORA if c.name in (names or ["flask"])]:
            root = unpack(corpus)
            site, items = SiteServer(root), questions(corpus, root)
            vectors = embedder.embed([item["q"] for item in items])
            print(f"\n--- {corpus.name}: {len(items)} questions", flush=True)
            side = {}
            for backend in ("sqlite", "opensearch"):
                configure(backend, url, engine)
                side[backend] = measure(site, items, vectors, embedder)
                print(f"  {backend}: {side[backend]['pages']} pages, {side[backend]['chunks']} chunks", flush=True)
            print(f"{'':28s}{'embedded (SQLite+numpy)':>26s}{'OpenSearch node':>26s}")
            for label, key in (("crawl w/o embedding, pages/s", None), ("  seconds writing the index", "index seconds")):
                cells = [f"{f['pages'] / f['seconds']:.1f} ({f['pages']} p, {f['chunks']} ch)" if key is None
                         else f"{f[key]:.1f}" for f in side.values()]
                print(f"{label:28s}" + "".join(f"{c:>26s}" for c in cells))
            for method in (*MODES, "BotPlot retrieval"):
                cells = [f"{f[method]['hit@1'] / f[method]['n']:.2f} / {f[method]['hit@5'] / f[method]['n']:.2f} / "
                         f"{f[method]['MRR'] / f[method]['n']:.2f}" for f in side.values()]
                print(f"{method + ', hit@1/@5/MRR':28s}" + "".join(f"{c:>26s}" for c in cells))
            cells = [f"{f['p50 ms']:.1f} / {f['p95 ms']:.1f}" for f in side.values()]
            print(f"{'hybrid search, p50/p95 ms':28s}" + "".join(f"{c:>26s}" for c in cells))
            print(f"\nvector encodings on the node ({engine}), hit@1 / hit@5 (bytes a 1536-dim vector needs):")
            size = {"fp32": 6144, "fp16": 3072, "int7": 1536}
            for label, scores in encodings(url, engine, side["sqlite"]["project"], site, items, vectors,
                                           embedder.model).items():
                cells = "   ".join(f"{mode} {s['hit@1'] / s['n']:.2f} / {s['hit@5'] / s['n']:.2f}"
                                   for mode, s in scores.items())
                print(f"  {label:32s} {cells}   ({size[label.split()[0]]} B)")
            site.close()
    finally:
        if node is not None:
            node.stop()


if __name__ == "__main__":
    run(sys.argv[1:])
