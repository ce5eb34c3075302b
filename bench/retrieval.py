"""Retrieval quality, answers and ingestion on real documentation sets of different shapes.

`python -m bench.retrieval [corpus ...]` (default: every corpus of ``bench.corpus.CORPORA``).

Each corpus is served as a local website and ingested by the real pipeline (crawler, extractor,
heading-aware chunker, offline MiniLM embeddings, embedded index) against moto, with the time of
the first crawl split by stage; then re-synced unchanged and with 10 % of its pages edited. Two
question sets are scored apart: *dev* (written by the engineer who tuned the ranking; failures may
be studied) and *held-out* (written by someone who never saw the ranking code or its output, plus
the corpora with held-out questions only: mypy, Borg, Exim; only their figures are ever looked at). Each
question is searched and the pages of the results, in rank order, are scored against the page that
answers it (hit@1, hit@5, MRR):

- BM25 alone, vectors alone and hybrid, over BotPlot's chunks;
- BotPlot's retrieval (what ``retrieve`` ranks: pages, best first);
- a typical LangChain pipeline on the same pages with the same embedder: BeautifulSoup page text,
  RecursiveCharacterTextSplitter(1000, 200), BM25Retriever + in-memory vectors fused by
  EnsembleRetriever (reciprocal rank fusion);
- the same with heading-aware chunks (HTMLHeaderTextSplitter sections, each chunk prefixed with
  the page title and heading path).

Then the whole offline answer path (retrieval, confidence gate, extractive responder): the share of
answers containing the expected fact, and of off-topic questions declined. Every corpus and the
total over each set's questions are printed in one table.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from bench.support import scratch, start_moto

HERE = Path(__file__).parent
BASELINE_CACHE = Path(os.environ.get("BOTPLOT_BENCH_CACHE", Path.home() / ".cache" / "botplot-bench"))
METHODS = ["chunks: bm25", "chunks: vector", "chunks: hybrid", "BotPlot retrieval", "LangChain (BM25+MiniLM RRF)",
           "LangChain, heading-aware"]


def page_ranking(urls: list[str | None]) -> list[str]:
    """Pages in the order their first chunk appears."""
    return list(dict.fromkeys(u for u in urls if u))


def hits(rankings: list[list[str]], expected: list[str]) -> dict[str, float]:
    """Sums (not means) of hit@1, hit@5 and reciprocal rank, so corpora can be pooled."""
    return {"hit@1": sum(r[:1] == [e] for r, e in zip(rankings, expected)),
            "hit@5": sum(e in r[:5] for r, e in zip(rankings, expected)),
            "MRR": sum(1 / (r.index(e) + 1) if e in r else 0 for r, e in zip(rankings, expected)),
            "n": len(expected)}


def setup() -> None:
    os.environ.update({"BOTPLOT_INDEX": "sqlite", "BOTPLOT_EMBEDDER": "minilm", "BOTPLOT_ALLOW_PRIVATE_TARGETS": "1",
                       "BOTPLOT_INDEX_PATH": str(scratch() / "index.sqlite")})
    start_moto()


class StageTimer:
    """Wall-clock seconds spent in named functions during a crawl (summed over threads)."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def wrapping(self, targets: list[tuple[object, str, str]]):
        originals = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]

        def timed(function, stage):
            def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    self.seconds[stage] += time.perf_counter() - started
            return wrapper

        for (owner, name, stage), (_, _, original) in zip(targets, originals):
            setattr(owner, name, timed(original, stage))
        try:
            yield self
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)


def crawl(project_id: str, source_id: str, timer: StageTimer | None = None) -> tuple[float, dict]:
    from botplot.db.knowledge import Source
    from botplot.knowledge import crawler, ingest
    from botplot.knowledge.index import default_index

    source = Source.get(project_id, source_id)
    targets = [(crawler.Crawler, "crawl", "crawl (fetch + extract)"), (crawler, "extract_html", "extract (in crawl)"),
               (ingest, "chunk_page", "chunk"), (ingest, "embed", "embed"),
               (type(default_index()), "upsert", "index"), (ingest.Page, "save", "page records (DynamoDB)")]
    started = time.perf_counter()
    with (timer or StageTimer()).wrapping(targets):
        ingest.crawl_source(project_id, source_id, source.crawl_job_id, time_budget=3600)
    seconds = time.perf_counter() - started
    return seconds, json.loads(Source.get(project_id, source_id).crawl_report)


def ingestion(site, root: Path) -> tuple[str, dict]:
    """First crawl (profiled by stage), unchanged resync, resync with 10 % of the pages edited."""
    from botplot.services import knowledge
    from botplot.services.projects import create_project

    project, _ = create_project("retrieval bench", "enterprise")
    source = knowledge.add_url(project.project_id, site.url + "/index.html", "manual")
    figures = {}
    for label in ("first crawl", "resync, unchanged", "resync, 10% of pages edited"):
        if label.startswith("resync"):
            knowledge.recrawl(project.project_id, source.source_id)
        if "edited" in label:
            pages = sorted(p for p in root.rglob("*.html") if p.name not in ("genindex.html", "search.html"))
            for page in pages[:: 10]:  # an edit inside the main content (Sphinx's role="main" block)
                edit = f"<p>Edited for the benchmark: {page.name} has a new first paragraph.</p>"
                page.write_text(re.sub(r'(<[^>]*role="main"[^>]*>)', lambda m: m.group(1) + edit, page.read_text(),
                                       count=1))
        timer = StageTimer()
        seconds, report = crawl(project.project_id, source.source_id, timer)
        counts = report["counts"]
        crawled = counts["added"] + counts["changed"] + counts["unchanged"]
        figures[label] = {"pages": crawled, "seconds": seconds, "pages_per_second": crawled / seconds,
                          "embedding_calls": report["embeddingCalls"], "chunks_embedded": report["chunksEmbedded"],
                          "changed": counts["changed"], "added": counts["added"], "stages": dict(timer.seconds)}
        print(f"  {label:30s} {crawled:3d} pages in {seconds:5.1f} s = {crawled / seconds:5.1f} pages/s;  "
              f"{report['embeddingCalls']} embedding calls, {report['chunksEmbedded']} chunks embedded "
              f"(added {counts['added']}, changed {counts['changed']}, unchanged {counts['unchanged']})")
        if label == "first crawl":
            print("    where the time goes: " + "; ".join(f"{stage} {s:.1f} s" for stage, s in timer.seconds.items()))
    return project.project_id, figures


def langchain_rankings(root: Path, items: list[dict], embedder, heading_aware: bool) -> list[list[str]]:
    """A typical LangChain pipeline: page text, RecursiveCharacterTextSplitter(1000, 200), BM25 and
    in-memory vectors fused by reciprocal rank (EnsembleRetriever); optionally heading-aware chunks."""
    import warnings

    from bs4 import BeautifulSoup
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_core.vectorstores import InMemoryVectorStore
    from langchain_text_splitters import HTMLHeaderTextSplitter, RecursiveCharacterTextSplitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # langchain-community announces its own sunset on import
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_community.retrievers import BM25Retriever

    class SameEmbedder(Embeddings):
        """BotPlot's embedder, with the baseline's vectors kept between runs (they never change)."""

        def embed_documents(self, texts):
            return cached_embeddings(embedder, texts)

        def embed_query(self, text):
            return embedder.embed([text])[0]

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    headers = HTMLHeaderTextSplitter([("h1", "h1"), ("h2", "h2"), ("h3", "h3")])
    chunks = []
    for path in sorted(root.rglob("*.html")):
        html = path.read_text(errors="replace")
        soup = BeautifulSoup(html, "html.parser")  # what BSHTMLLoader does
        title = soup.title.get_text(strip=True) if soup.title else ""
        source = {"source": str(path.relative_to(root)), "title": title}
        if not heading_aware:
            chunks += splitter.split_documents([Document(page_content=soup.get_text(), metadata=source)])
            continue
        for section in headers.split_text(html):
            path_text = " > ".join([title] + [section.metadata[h] for h in ("h1", "h2", "h3") if h in section.metadata])
            for piece in splitter.split_text(section.page_content):
                chunks.append(Document(page_content=f"{path_text}\n\n{piece}", metadata=source))
    bm25 = BM25Retriever.from_documents(chunks, k=30)
    vectors = InMemoryVectorStore.from_documents(chunks, SameEmbedder()).as_retriever(search_kwargs={"k": 30})
    fused = EnsembleRetriever(retrievers=[bm25, vectors], weights=[0.5, 0.5])
    return [page_ranking([d.metadata["source"] for d in fused.invoke(item["q"])]) for item in items]


_STORED: dict[Path, dict] = {}


def cached_embeddings(embedder, texts: list[str]) -> list[list[float]]:
    """Vectors from ``BASELINE_CACHE`` (one file per model and MiniLM runtime, read once per process),
    embedding only what it lacks.

    The LangChain baseline uses it (its chunks never change, and embedding them again on every run
    would double the benchmark's time), and so does ``bench.ranking``. BotPlot's own crawl in this
    benchmark always embeds for real."""
    import hashlib

    import numpy as np

    # one file per model and MiniLM runtime: int8 vectors are not numpy's (whose file keeps its name)
    runtime = getattr(embedder, "runtime", "numpy")
    path = BASELINE_CACHE / (f"{embedder.model}.npz" if runtime == "numpy" else f"{embedder.model}-{runtime}.npz")
    if path not in _STORED:
        _STORED[path] = dict(np.load(path)) if path.exists() else {}
    stored = _STORED[path]
    keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    missing = list(dict.fromkeys(k for k in keys if k not in stored))
    if missing:
        text_of = dict(zip(keys, texts))
        for key, vector in zip(missing, embedder.embed([text_of[k] for k in missing])):
            stored[key] = np.asarray(vector, np.float32)
        if len(missing) > 1 or not path.exists():  # a lone question is not worth rewriting the file
            import fcntl

            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path.with_suffix(".lock"), "w") as lock:  # another run may be adding its own
                fcntl.flock(lock, fcntl.LOCK_EX)
                if path.exists():
                    on_disk = np.load(path)
                    stored.update({k: on_disk[k] for k in on_disk.files if k not in stored})
                partial = path.with_suffix(f".{os.getpid()}.npz")  # whole or not at all, for a reader
                np.savez(partial, **stored)
                os.replace(partial, path)
    return [stored[k].tolist() for k in keys]


def answers(project_id: str, items: list[dict], off_topic: list[str], embedder=None) -> dict[str, float]:
    """The whole answer path offline: retrieval, confidence gate, extractive responder (whose
    sentences are embedded by ``embedder``, by default the process's, as the chat function does)."""
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.retrieval import retrieve
    from botplot.llm.context import AnswerInput
    from botplot.llm.responders import NOTHING_KNOWN, ExtractiveResponder

    responder = ExtractiveResponder(embedder or default_embedder())

    def answer(question: str) -> str:
        found = retrieve(project_id, question)
        return responder.compose(AnswerInput(question=question, project_name="bench", instructions=None,
                                             passages=found.passages))

    replies = [answer(item["q"]) for item in items]
    return {"fact": sum(item["fact"].lower() in reply.lower() for item, reply in zip(items, replies)),
            "answered": sum(reply != NOTHING_KNOWN for reply in replies), "n": len(items),
            # an answer that only grows to contain more is no better: its length is reported beside it
            "words": sum(len(reply.split()) for reply in replies if reply != NOTHING_KNOWN),
            "declined": sum(answer(q) == NOTHING_KNOWN for q in off_topic), "off_topic": len(off_topic)}


SETS = ("dev", "held-out")


def score_set(site, root: Path, project_id: str, items: list[dict]) -> dict:
    """hit@1/hit@5/MRR of every method on one question set of a crawled corpus."""
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.index import default_index
    from botplot.knowledge.retrieval import ranked_pages

    index, embedder = default_index(), default_embedder()
    expected = [item["page"] for item in items]
    vectors = embedder.embed([item["q"] for item in items])
    scores = {}
    for mode in ("bm25", "vector", "hybrid"):
        scores[f"chunks: {mode}"] = hits([[site.page_of(u) for u in page_ranking(
            [h.chunk.url for h in index.search(project_id, item["q"], vector, embedder.model, k=30, mode=mode)])]
            for item, vector in zip(items, vectors)], expected)
    scores["BotPlot retrieval"] = hits([[site.page_of(group[0].chunk.url) for _, group in
                                         ranked_pages(project_id, item["q"], vector, embedder.model)
                                         if group[0].chunk.url] for item, vector in zip(items, vectors)], expected)
    scores["LangChain (BM25+MiniLM RRF)"] = hits(langchain_rankings(root, items, embedder, False), expected)
    scores["LangChain, heading-aware"] = hits(langchain_rankings(root, items, embedder, True), expected)
    return scores


def run_corpus(corpus) -> dict:
    """Crawl a corpus once, then score its dev questions (none for a held-out corpus) and its held-out
    ones. Held-out failures are never printed one by one: only their figures."""
    from bench.corpus import SiteServer, off_topic, questions, unpack

    root = unpack(corpus)
    site = SiteServer(root)
    question_sets = {"dev": [] if corpus.held_out else questions(corpus, root)}
    question_sets["held-out"] = (questions(corpus, root, heldout=True)
                                 if corpus.heldout_questions_path.exists() else [])
    print(f"\n--- {corpus.name} ({corpus.shape}): "
          + ", ".join(f"{len(items)} {label} questions" for label, items in question_sets.items()))
    project_id, figures = ingestion(site, root)
    figures["sets"] = {}
    declined = None
    for label, items in question_sets.items():
        if not items:
            continue
        scores = score_set(site, root, project_id, items)
        result = answers(project_id, items, off_topic(corpus) if declined is None else [])
        declined = declined or {k: result[k] for k in ("declined", "off_topic")}
        figures["sets"][label] = {"scores": scores, "answers": result, "questions": len(items)}
        for method in METHODS:
            s = scores[method]
            print(f"  {label:8s} {method:30s} hit@1 {s['hit@1'] / s['n']:.2f}  hit@5 {s['hit@5'] / s['n']:.2f}  "
                  f"MRR {s['MRR'] / s['n']:.2f}")
        print(f"  {label:8s} answers: {result['fact'] / result['n']:.0%} contain the fact")
    figures["off_topic"] = declined
    print(f"  off-topic: {declined['declined']} of {declined['off_topic']} declined")
    site.close()
    return figures


def _cell(parts: list[dict], part: str) -> str:
    return f"{sum(p[part] for p in parts) / sum(p['n'] for p in parts):.0%}" if parts else "-"


def table(results: dict[str, dict]) -> None:
    """One table: for the dev and the held-out questions, every corpus and the total over all of a
    set's questions (pooled), hit@1 / hit@5 / MRR; then answers, off-topic declines and crawl speed."""
    names = list(results)
    print("\nretrieval: page of the answer among the results' pages, hit@1 / hit@5 / MRR "
          "(dev: questions written by the ranking's author; held-out: by someone who never saw it)")
    header = "".join(f"{n:>17s}" for n in names)
    print(f"{'method':40s}{header}{'all':>17s}")
    for label in SETS:
        present = [n for n in names if label in results[n]["sets"]]
        if not present:
            continue
        counts = "".join(f"{results[n]['sets'][label]['questions'] if n in present else '-':>17}" for n in names)
        print(f"{label + ' questions':40s}{counts}{sum(results[n]['sets'][label]['questions'] for n in present):>17d}")
        for method in METHODS:
            cells = []
            for n in names + ["all"]:
                if n == "all":
                    s = {k: sum(results[m]["sets"][label]["scores"][method][k] for m in present)
                         for k in ("hit@1", "hit@5", "MRR", "n")}
                elif n in present:
                    s = results[n]["sets"][label]["scores"][method]
                else:
                    cells.append("-")
                    continue
                cells.append(f"{s['hit@1'] / s['n']:.2f}/{s['hit@5'] / s['n']:.2f}/{s['MRR'] / s['n']:.2f}")
            print(f"{'  ' + method:40s}" + "".join(f"{c:>17s}" for c in cells))
        answers_of = {n: results[n]["sets"][label]["answers"] for n in present}
        fact = [_cell([answers_of[n]], "fact") if n in present else "-" for n in names]
        fact.append(_cell(list(answers_of.values()), "fact"))
        print(f"{'  answer contains the fact':40s}" + "".join(f"{c:>17s}" for c in fact))
    declined = [f"{results[n]['off_topic']['declined']}/{results[n]['off_topic']['off_topic']}" for n in names]
    declined.append(f"{sum(results[n]['off_topic']['declined'] for n in names)}/"
                    f"{sum(results[n]['off_topic']['off_topic'] for n in names)}")
    print(f"{'off-topic declined':40s}" + "".join(f"{c:>17s}" for c in declined))
    speed = [f"{results[n]['first crawl']['pages']} p, {results[n]['first crawl']['pages_per_second']:.1f}/s"
             for n in names]
    pages = sum(results[n]["first crawl"]["pages"] for n in names)
    seconds = sum(results[n]["first crawl"]["seconds"] for n in names)
    speed.append(f"{pages} p, {pages / seconds:.1f}/s")
    print(f"{'first crawl, pages/s':40s}" + "".join(f"{c:>17s}" for c in speed))


def run(names: list[str] | None = None) -> dict:
    from bench.corpus import CORPORA

    unknown = set(names or []) - {c.name for c in CORPORA}
    if unknown:
        raise SystemExit(f"unknown corpus: {', '.join(sorted(unknown))}; known: {', '.join(c.name for c in CORPORA)}")
    setup()
    results = {c.name: run_corpus(c) for c in CORPORA if not names or c.name in names}
    table(results)
    return results


if __name__ == "__main__":
    run(sys.argv[1:])
