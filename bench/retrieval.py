"""Retrieval quality, answers and ingestion on real documentation (Flask 2.2.2 docs, 77 HTML pages).

The corpus is served as a local website and ingested by the real pipeline (crawler, extractor,
heading-aware chunker, offline MiniLM embeddings, embedded index) against moto; then re-synced
unchanged and with 10 % of its pages edited. Each of 60 questions is searched and the pages of the
results, in rank order, are scored against the page that answers it (hit@1, hit@5, MRR): BM25
alone, vectors alone, hybrid, BotPlot's full retrieval (hybrid reranked by page title, ranked by
page), and a typical LangChain pipeline on the same pages with the same embedder
(RecursiveCharacterTextSplitter with its defaults, InMemoryVectorStore).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from bench.support import start_moto

HERE = Path(__file__).parent


def page_ranking(urls: list[str | None]) -> list[str]:
    """Pages in the order their first chunk appears."""
    return list(dict.fromkeys(u for u in urls if u))


def score(rankings: list[list[str]], expected: list[str]) -> dict[str, float]:
    hit1 = sum(r[:1] == [e] for r, e in zip(rankings, expected)) / len(expected)
    hit5 = sum(e in r[:5] for r, e in zip(rankings, expected)) / len(expected)
    mrr = sum(1 / (r.index(e) + 1) if e in r else 0 for r, e in zip(rankings, expected)) / len(expected)
    return {"hit@1": hit1, "hit@5": hit5, "MRR": mrr}


def setup(embedder: str = "minilm") -> dict:
    os.environ.update({"BOTPLOT_INDEX": "sqlite", "BOTPLOT_EMBEDDER": embedder, "BOTPLOT_ALLOW_PRIVATE_TARGETS": "1",
                       "BOTPLOT_INDEX_PATH": os.path.join(tempfile.mkdtemp(), "index.sqlite")})
    start_moto()
    from bench.corpus import SiteServer, questions, unpack

    root = unpack()
    return {"root": root, "site": SiteServer(root), "questions": questions(root)}


def crawl(project_id: str, source_id: str) -> tuple[float, dict]:
    from botplot.db.knowledge import Source
    from botplot.knowledge import ingest

    source = Source.get(project_id, source_id)
    started = time.perf_counter()
    ingest.crawl_source(project_id, source_id, source.crawl_job_id, time_budget=3600)
    seconds = time.perf_counter() - started
    return seconds, json.loads(Source.get(project_id, source_id).crawl_report)


def ingestion(site, root: Path) -> tuple[str, dict]:
    """First crawl, unchanged resync, resync with 10 % of the pages edited."""
    from botplot.services import knowledge
    from botplot.services.projects import create_project

    project, _ = create_project("retrieval bench", "enterprise")
    source = knowledge.add_url(project.project_id, site.url + "/index.html", "manual")
    figures = {}
    print("ingestion (pages/second over the whole crawl; embedding calls are batched requests)")
    for label in ("first crawl", "resync, unchanged", "resync, 10% of pages edited"):
        if label.startswith("resync"):
            knowledge.recrawl(project.project_id, source.source_id)
        if "edited" in label:
            pages = sorted(p for p in root.rglob("*.html") if p.name not in ("genindex.html", "search.html"))
            for page in pages[:: 10]:  # an edit inside the main content (Sphinx's role="main" block)
                text = page.read_text()
                edit = f'role="main"><p>Edited for the benchmark: {page.name} has a new first paragraph.</p>'
                page.write_text(text.replace('role="main">', edit, 1))
        seconds, report = crawl(project.project_id, source.source_id)
        counts = report["counts"]
        crawled = counts["added"] + counts["changed"] + counts["unchanged"]
        figures[label] = {"pages": crawled, "seconds": seconds, "pages_per_second": crawled / seconds,
                          "embedding_calls": report["embeddingCalls"], "chunks_embedded": report["chunksEmbedded"],
                          "changed": counts["changed"], "added": counts["added"]}
        print(f"  {label:30s} {crawled:3d} pages in {seconds:5.1f} s = {crawled / seconds:5.1f} pages/s;  "
              f"{report['embeddingCalls']} embedding calls, {report['chunksEmbedded']} chunks embedded "
              f"(added {counts['added']}, changed {counts['changed']}, unchanged {counts['unchanged']})")
    return project.project_id, figures


def langchain_rankings(root: Path, site, items: list[dict], embedder) -> list[list[str]]:
    """A typical LangChain pipeline: page text, RecursiveCharacterTextSplitter(), in-memory vectors."""
    from bs4 import BeautifulSoup
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_core.vectorstores import InMemoryVectorStore
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    class SameEmbedder(Embeddings):
        def embed_documents(self, texts):
            return embedder.embed(texts)

        def embed_query(self, text):
            return embedder.embed([text])[0]

    documents = []
    for path in sorted(root.rglob("*.html")):
        soup = BeautifulSoup(path.read_text(), "html.parser")  # what BSHTMLLoader does
        title = soup.title.get_text() if soup.title else ""
        documents.append(Document(page_content=soup.get_text(), metadata={"source": str(path.relative_to(root)),
                                                                          "title": title}))
    chunks = RecursiveCharacterTextSplitter().split_documents(documents)
    store = InMemoryVectorStore.from_documents(chunks, SameEmbedder())
    return [page_ranking([d.metadata["source"] for d in store.similarity_search(item["q"], k=30)]) for item in items]


def answers(project_id: str, items: list[dict]) -> dict[str, float]:
    """The whole answer path offline: retrieval, confidence gate, extractive responder."""
    from botplot.knowledge.retrieval import retrieve
    from botplot.llm.context import AnswerInput
    from botplot.llm.responders import NOTHING_KNOWN, ExtractiveResponder

    responder = ExtractiveResponder()

    def answer(question: str) -> str:
        found = retrieve(project_id, question)
        return responder.compose(AnswerInput(question=question, project_name="bench", instructions=None,
                                             passages=found.passages))

    with_fact = sum(item["fact"].lower() in answer(item["q"]).lower() for item in items) / len(items)
    off_topic = json.loads((HERE / "data" / "unanswerable.json").read_text())
    declined = sum(answer(q) == NOTHING_KNOWN for q in off_topic) / len(off_topic)
    answered = sum(answer(item["q"]) != NOTHING_KNOWN for item in items) / len(items)
    print(f"answers (extractive responder, offline): {with_fact:.0%} contain the expected fact; "
          f"{answered:.0%} of answerable questions answered; {declined:.0%} of {len(off_topic)} off-topic "
          "questions declined")
    return {"fact": with_fact, "answered": answered, "declined": declined}


def run() -> dict:
    env = setup()
    site, items, root = env["site"], env["questions"], env["root"]
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.index import default_index
    from botplot.knowledge.retrieval import rank_pages, rerank_by_title

    project_id, figures = ingestion(site, root)
    index, embedder = default_index(), default_embedder()
    expected = [item["page"] for item in items]
    vectors = embedder.embed([item["q"] for item in items])
    print(f"retrieval on {len(items)} questions (page of the answer among the results' pages, best first)")
    print(f"  {'method':34s} {'hit@1':>6s} {'hit@5':>6s} {'MRR':>6s}")

    def show(label: str, rankings: list[list[str]]) -> None:
        f = figures[label] = score(rankings, expected)
        print(f"  {label:34s} {f['hit@1']:6.2f} {f['hit@5']:6.2f} {f['MRR']:6.2f}")

    for mode in ("bm25", "vector", "hybrid"):
        show(f"chunks: {mode}", [[site.page_of(u) for u in page_ranking(
            [h.chunk.url for h in index.search(project_id, item["q"], vector, embedder.model, k=30, mode=mode)])]
            for item, vector in zip(items, vectors)])
    rankings = []
    for item, vector in zip(items, vectors):
        hits = rerank_by_title(index.search(project_id, item["q"], vector, embedder.model, k=30), vector,
                               embedder.model)
        rankings.append([site.page_of(group[0].chunk.url) for _, group in rank_pages(hits) if group[0].chunk.url])
    show("BotPlot retrieval (reranked)", rankings)
    show("LangChain baseline (same embedder)", langchain_rankings(root, site, items, embedder))
    figures["answers"] = answers(project_id, items)
    site.close()
    return figures


if __name__ == "__main__":
    run()
