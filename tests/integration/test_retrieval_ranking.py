"""Retrieval's ranking rules (README "Answers", step 1): candidates gain TITLE_WEIGHT × cos(question,
page title); pages are ranked by their best chunk plus SAME_PAGE_BONUS × their second best.

Embeddings come from the local OpenAI-compatible fake (bag of words: a title made of the question's
words has cosine 1 with it, a title sharing none has cosine 0)."""

from __future__ import annotations

import pytest

from botplot.knowledge.index.base import ChunkRecord, Hit


def hit(url: str, score: float, title: str = "", cid: str | None = None) -> Hit:
    return Hit(ChunkRecord(cid or f"{url}#{score}", "p", "s", "text", 1, title=title, url=url), score)


def test_pages_are_ranked_by_their_best_chunk_plus_a_bonus_for_the_second():
    from botplot.knowledge.retrieval import SAME_PAGE_BONUS, rank_pages

    assert SAME_PAGE_BONUS == 0.15
    hits = [hit("https://a.test/many", 0.50), hit("https://a.test/one", 0.90), hit("https://a.test/many", 0.60),
            hit("https://a.test/many", 0.55), hit("https://a.test/many", 0.10), hit("https://a.test/weak", 0.20)]
    ranked = rank_pages(hits)
    assert [group[0].chunk.url for _, group in ranked] == ["https://a.test/one", "https://a.test/many",
                                                          "https://a.test/weak"]
    # best chunk 0.60, plus 0.15 × 0.55: the third and fourth chunks (0.50, 0.10) add nothing
    assert [round(score, 4) for score, _ in ranked] == [0.9, 0.6825, 0.2]
    # a page whose best chunk is weaker can still win with enough further matches
    ranked = rank_pages([hit("https://b.test/x", 0.70), hit("https://b.test/y", 0.62), hit("https://b.test/y", 0.60),
                         hit("https://b.test/y", 0.60)])
    assert [(group[0].chunk.url, round(score, 4)) for score, group in ranked] == [("https://b.test/y", 0.71),
                                                                                  ("https://b.test/x", 0.7)]
    # hits without a URL (Q&A pairs) are each their source's own page
    qa = Hit(ChunkRecord("qa1", "p", "source-1", "q", 1, is_qa=True), 0.4)
    assert [g[0].chunk.chunk_id for _, g in rank_pages([qa, hit("https://c.test/", 0.3)])] == ["qa1",
                                                                                                 "https://c.test/#0.3"]


@pytest.fixture
def fake_embedder(monkeypatch):
    from tests.support.fake_openai import FakeOpenAI

    fake = FakeOpenAI()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-retrieval-ranking")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("BOTPLOT_EMBEDDER", "openai")
    from botplot.config import reload_settings
    from botplot.knowledge import retrieval
    from botplot.knowledge.embeddings import default_embedder

    reload_settings()
    default_embedder.cache_clear()
    retrieval._title_vector.cache_clear()
    yield default_embedder()
    fake.close()
    monkeypatch.undo()
    reload_settings()
    default_embedder.cache_clear()
    retrieval._title_vector.cache_clear()


def test_candidates_gain_title_weight_times_the_titles_cosine(fake_embedder):
    from botplot.knowledge.retrieval import TITLE_WEIGHT, rerank_by_title

    assert TITLE_WEIGHT == 0.5
    question = fake_embedder.embed(["warranty claims"])[0]
    hits = [hit("https://d.test/shipping", 0.70, "Shipping options — Acme"),
            hit("https://d.test/warranty", 0.40, "Warranty claims | Acme"),  # the site name is not compared
            hit("https://d.test/untitled", 0.65, "")]
    reranked = rerank_by_title(hits, question, fake_embedder.model)
    assert [(h.chunk.url, round(h.score, 4)) for h in reranked] == [
        ("https://d.test/warranty", 0.9),  # 0.40 + 0.5 × 1.0
        ("https://d.test/shipping", 0.7),  # no word in common: cosine 0
        ("https://d.test/untitled", 0.65)]  # no title: unchanged
