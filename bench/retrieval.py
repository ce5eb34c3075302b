"""Retrieval quality and ingestion speed on real documentation (Flask 2.2.2 docs, 77 pages).

The corpus is served as a local website and ingested by the real pipeline (crawler, extractor,
heading-aware chunker, MiniLM embeddings offline, embedded index) against moto. Then each of 60
questions is searched and the pages of the results, in rank order, are scored against the page that
answers it: hit@1, hit@5 and MRR, for BM25 alone, vectors alone and hybrid.
"""

from __future__ import annotations

import os
import tempfile
import time

from bench.support import start_moto


def page_ranking(urls: list[str | None]) -> list[str]:
    """Pages in the order their first chunk appears."""
    return list(dict.fromkeys(u for u in urls if u))


def score(rankings: list[list[str]], expected: list[str]) -> dict[str, float]:
    hit1 = sum(r[:1] == [e] for r, e in zip(rankings, expected)) / len(expected)
    hit5 = sum(e in r[:5] for r, e in zip(rankings, expected)) / len(expected)
    mrr = sum(1 / (r.index(e) + 1) if e in r else 0 for r, e in zip(rankings, expected)) / len(expected)
    return {"hit@1": hit1, "hit@5": hit5, "MRR": mrr}


def ingest(site_url: str):
    """Crawl the corpus into a new project; returns (project id, source, seconds, pages, embedding calls)."""
    from botplot.knowledge import ingest as pipeline
    from botplot.knowledge.embeddings import default_embedder
    from botplot.services import knowledge
    from botplot.services.projects import create_project

    project, _ = create_project("retrieval bench", "enterprise")
    source = knowledge.add_url(project.project_id, site_url + "/index.html", "manual")
    embedder = default_embedder()
    calls = embedder.calls if embedder else 0
    started = time.perf_counter()
    result = pipeline.crawl_source(project.project_id, source.source_id, source.crawl_job_id, time_budget=3600)
    elapsed = time.perf_counter() - started
    return project.project_id, source, elapsed, result["pages"], (embedder.calls - calls) if embedder else 0


def answers(project_id: str, items: list[dict]) -> dict[str, float]:
    """The whole answer path offline: retrieval, confidence gate, extractive responder."""
    import json
    from pathlib import Path

    from botplot.knowledge.retrieval import retrieve
    from botplot.llm.context import AnswerInput
    from botplot.llm.responders import NOTHING_KNOWN, ExtractiveResponder

    responder = ExtractiveResponder()

    def answer(question: str) -> str:
        found = retrieve(project_id, question)
        return responder.compose(AnswerInput(question=question, project_name="bench", instructions=None,
                                             passages=found.passages))

    with_fact = sum(item["fact"].lower() in answer(item["q"]).lower() for item in items) / len(items)
    off_topic = json.loads((Path(__file__).parent / "data" / "unanswerable.json").read_text())
    declined = sum(answer(q) == NOTHING_KNOWN for q in off_topic) / len(off_topic)
    answered = sum(answer(item["q"]) != NOTHING_KNOWN for item in items) / len(items)
    print(f"answers (extractive responder, offline): {with_fact:.0%} contain the expected fact; "
          f"{answered:.0%} of answerable questions answered; {declined:.0%} of {len(off_topic)} off-topic "
          "questions declined")
    return {"fact": with_fact, "answered": answered, "declined": declined}


def setup(embedder: str = "minilm") -> dict:
    os.environ.update({"BOTPLOT_INDEX": "sqlite", "BOTPLOT_EMBEDDER": embedder, "BOTPLOT_ALLOW_PRIVATE_TARGETS": "1",
                       "BOTPLOT_INDEX_PATH": os.path.join(tempfile.mkdtemp(), "index.sqlite")})
    start_moto()
    from bench.corpus import SiteServer, questions, unpack

    root = unpack()
    site = SiteServer(root)
    return {"root": root, "site": site, "questions": questions(root)}


def run() -> dict:
    env = setup()
    site, items = env["site"], env["questions"]
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.index import default_index

    project_id, source, seconds, pages, calls = ingest(site.url)
    print(f"ingestion: {pages} pages in {seconds:.1f} s = {pages / seconds:.1f} pages/s, "
          f"{calls} embedding calls ({default_embedder().model if default_embedder() else 'no embedder'})")
    index, embedder = default_index(), default_embedder()
    expected = [item["page"] for item in items]
    vectors = embedder.embed([item["q"] for item in items]) if embedder else [None] * len(items)
    figures = {}
    print(f"retrieval on {len(items)} questions (page of the answer among the results' pages)")
    print(f"  {'method':28s} {'hit@1':>6s} {'hit@5':>6s} {'MRR':>6s}")
    for mode in ("bm25", "vector", "hybrid"):
        rankings = []
        for item, vector in zip(items, vectors):
            hits = index.search(project_id, item["q"], vector, embedder.model if embedder else None, k=30, mode=mode)
            rankings.append([site.page_of(u) for u in page_ranking([h.chunk.url for h in hits])])
        figures[mode] = score(rankings, expected)
        f = figures[mode]
        print(f"  {'chunks: ' + mode:28s} {f['hit@1']:6.2f} {f['hit@5']:6.2f} {f['MRR']:6.2f}")
    from botplot.knowledge.retrieval import rank_pages, rerank_by_title

    rankings = []
    for item, vector in zip(items, vectors):
        hits = index.search(project_id, item["q"], vector, embedder.model if embedder else None, k=30)
        if vector is not None:
            hits = rerank_by_title(hits, vector, embedder.model)
        rankings.append([site.page_of(group[0].chunk.url) for _, group in rank_pages(hits) if group[0].chunk.url])
    f = figures["botplot"] = score(rankings, expected)
    print(f"  {'BotPlot retrieval (reranked)':28s} {f['hit@1']:6.2f} {f['hit@5']:6.2f} {f['MRR']:6.2f}")
    figures["answers"] = answers(project_id, items)
    site.close()
    return figures


if __name__ == "__main__":
    run()
