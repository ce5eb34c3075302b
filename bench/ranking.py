"""Ranking only, fast: `python -m bench.ranking [corpus ...] [--failures] [--full | --answers]`.

The same questions and scores as ``bench.retrieval`` without the crawl: each corpus's pages are
read from its files, extracted, chunked and indexed as the pipeline does, with every vector kept in
``BOTPLOT_BENCH_CACHE`` between runs (one file per model and MiniLM runtime), so a change to
ranking, chunking or tokenising is measured in seconds and only new chunk texts are embedded. ``--failures`` prints,
for each question of the *dev* sets whose page is not ranked first, what came first and where the
expected page was (never used for the held-out sets: their figures only are printed). ``--full``
adds the LangChain baselines (vectors cached too) and the offline answers; ``--answers`` the offline
answers alone (containment of the fact, off-topic questions declined), for work on the answers.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from bench.retrieval import METHODS as ALL_METHODS
from bench.retrieval import hits, page_ranking
from bench.support import scratch

PREFIX = "http://corpus.test/"


def setup() -> None:
    os.environ.update({"BOTPLOT_INDEX": "sqlite", "BOTPLOT_EMBEDDER": "minilm"})
    fresh_index()


def fresh_index() -> None:
    """An empty index file for the next corpus. FTS5's BM25 counts a term's documents over the whole
    table, every project's, so corpora sharing one file scored each other's words: a corpus's
    figures changed with the corpora indexed before it (which the command line chose). Alone in
    its index, a corpus scores as a site alone on its index does."""
    from botplot.config import reload_settings
    from botplot.knowledge.index import default_index

    os.environ["BOTPLOT_INDEX_PATH"] = str(scratch() / "index.sqlite")
    reload_settings()
    default_index.cache_clear()


class CachedEmbedder:
    """The process's embedder, with every text's vector kept on disk (``bench.retrieval``'s cache)."""

    def __init__(self, embedder):
        self.inner, self.model, self.calls = embedder, embedder.model, 0

    def embed(self, texts: list[str]) -> list[list[float]]:
        from bench.retrieval import cached_embeddings

        self.calls += 1
        return cached_embeddings(self.inner, texts)


def index_corpus(root: Path, project_id: str) -> int:
    """Every page of ``root`` (as the crawler extracts it) chunked, embedded and indexed."""
    from botplot.knowledge import embeddings
    from botplot.knowledge.chunking import chunk_page, sizes_for
    from botplot.knowledge.extract import extract_html
    from botplot.knowledge.index import default_index
    from botplot.knowledge.indexing import embed, records

    sizes = sizes_for(embeddings.window())  # as a crawl with the bench's embedder (MiniLM) chunks
    chunk_records = []
    for path in sorted(root.rglob("*.html")):
        rel = str(path.relative_to(root))
        page = extract_html(path.read_text(errors="replace"), PREFIX + rel)
        if page.noindex or not page.text.strip():
            continue
        chunk_records += records(project_id, "source-" + hashlib.sha1(rel.encode()).hexdigest()[:8], PREFIX + rel,
                                 page.title, chunk_page(page.title, page.blocks, sizes))
    embed(chunk_records)
    default_index().upsert(chunk_records)
    return len(chunk_records)


def score_corpus(name: str, project_id: str, items: list[dict], show_failures: bool, root: Path | None = None,
                 off_topic: list[str] | None = None, baselines: bool = True) -> dict:
    """hit@1/hit@5/MRR of BM25, vectors, hybrid and BotPlot's retrieval; given ``root``, the offline
    answers (containment of the fact, ``off_topic`` declined) and, with ``baselines``, the LangChain
    baselines too."""
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.index import default_index
    from botplot.knowledge.retrieval import ranked_pages

    index, embedder = default_index(), default_embedder()
    vectors = embedder.embed([item["q"] for item in items])
    expected = [item["page"] for item in items]
    page_of = lambda url: url.removeprefix(PREFIX)  # noqa: E731
    scores = {}
    for mode in ("bm25", "vector", "hybrid"):
        scores[f"chunks: {mode}"] = hits([[page_of(u) for u in page_ranking(
            [h.chunk.url for h in index.search(project_id, item["q"], vector, embedder.model, k=30, mode=mode)])]
            for item, vector in zip(items, vectors)], expected)
    rankings = []
    for item, vector in zip(items, vectors):
        pages = ranked_pages(project_id, item["q"], vector, embedder.model)
        rankings.append([page_of(group[0].chunk.url) for _, group in pages if group[0].chunk.url])
        if show_failures and rankings[-1][:1] != [item["page"]]:
            where = rankings[-1].index(item["page"]) + 1 if item["page"] in rankings[-1] else None
            print(f"  [{name}] {item['q']!r}\n      expected {item['page']} (rank {where}); got "
                  + ", ".join(f"{page_of(g[0].chunk.url)} {s:.3f} [{g[0].chunk.heading[:40]}]"
                              for s, g in pages[:3]))
    scores["BotPlot retrieval"] = hits(rankings, expected)
    result = {"scores": scores, "questions": len(items)}
    if root is not None:
        from bench.retrieval import answers, langchain_rankings

        if baselines:
            scores["LangChain (BM25+MiniLM RRF)"] = hits(langchain_rankings(root, items, embedder, False), expected)
            scores["LangChain, heading-aware"] = hits(langchain_rankings(root, items, embedder, True), expected)
        # the answers' sentences are embedded for real: caching every one would rewrite the cache file per answer
        result["answers"] = answers(project_id, items, off_topic or [], embedder.inner)
    return result


def print_table(results: dict[str, dict]) -> None:
    names = list(results)
    print(f"{'method':28s}" + "".join(f"{n + ' (' + str(results[n]['questions']) + ')':>22s}" for n in names)
          + f"{'all':>18s}")
    for method in [m for m in ALL_METHODS if m in results[names[0]]["scores"]]:
        cells = []
        for n in names + ["all"]:
            s = ({k: sum(results[m]["scores"][method][k] for m in names) for k in ("hit@1", "hit@5", "MRR", "n")}
                 if n == "all" else results[n]["scores"][method])
            cells.append(f"{s['hit@1'] / s['n']:.3f}/{s['hit@5'] / s['n']:.3f}/{s['MRR'] / s['n']:.3f}")
        print(f"{method[:27]:28s}" + "".join(f"{c:>22s}" for c in cells[:-1]) + f"{cells[-1]:>18s}")
    if "answers" in results[names[0]]:
        a = {n: results[n]["answers"] for n in names}
        a["all"] = {k: sum(a[n][k] for n in names) for k in ("fact", "n", "declined", "off_topic", "answered", "words")}
        print(f"{'answer contains the fact':28s}" + "".join(f"{a[n]['fact'] / a[n]['n']:>22.0%}" for n in names)
              + f"{a['all']['fact'] / a['all']['n']:>18.0%}")
        print(f"{'  (facts / questions)':28s}" + "".join(f"{str(a[n]['fact']) + '/' + str(a[n]['n']):>22s}" for n in names)
              + f"{str(a['all']['fact']) + '/' + str(a['all']['n']):>18s}")
        print(f"{'mean answer words':28s}" + "".join(f"{a[n]['words'] / max(1, a[n]['answered']):>22.1f}" for n in names)
              + f"{a['all']['words'] / max(1, a['all']['answered']):>18.1f}")
        if a["all"]["off_topic"]:
            print(f"{'off-topic declined':28s}" + "".join(f"{str(a[n]['declined']) + '/' + str(a[n]['off_topic']):>22s}"
                                                      for n in names)
                  + f"{str(a['all']['declined']) + '/' + str(a['all']['off_topic']):>18s}")


def run(names: list[str], show_failures: bool, full: bool = False, answers: bool = False) -> None:
    from bench import corpus as corpora
    from botplot.knowledge import embeddings

    setup()
    real = embeddings.default_embedder()
    cached = CachedEmbedder(real)
    embeddings._default_embedder.cache_clear()
    embeddings._default_embedder = lambda: cached  # every caller (indexing, retrieval) gets the cache
    results: dict[str, dict[str, dict]] = {}
    for corpus in corpora.CORPORA:
        if names and corpus.name not in names:
            continue
        root = corpora.unpack(corpus)
        fresh_index()
        index_corpus(root, corpus.name)
        for label in ("dev", "held-out"):
            if label == "dev" and corpus.held_out or label == "held-out" and not corpus.heldout_questions_path.exists():
                continue
            items = corpora.questions(corpus, root, heldout=label == "held-out")
            results.setdefault(label, {})[corpus.name] = score_corpus(
                f"{label}-{corpus.name}", corpus.name, items, show_failures and label == "dev",
                root if full or answers else None,
                corpora.off_topic(corpus) if (full or answers) and (label == "dev" or corpus.held_out) else [], full)
    for label, by_corpus in results.items():
        print(f"\n{label}: hit@1 / hit@5 / MRR")
        print_table(by_corpus)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    run([a for a in arguments if not a.startswith("--")], "--failures" in arguments, "--full" in arguments,
        "--answers" in arguments)
