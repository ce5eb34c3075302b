"""Retrieval's ranking rules (README "Answers", step 1): candidates gain TITLE_WEIGHT × cos(question,
page title); pages are ranked by their best chunk plus SAME_PAGE_BONUS × their second best.

Embeddings come from the local OpenAI-compatible fake (bag of words: a title made of the question's
words has cosine 1 with it, a title sharing none has cosine 0)."""

from __future__ import annotations

import math
from contextlib import contextmanager

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
def fake_openai():
    from tests.support.fake_openai import FakeOpenAI

    fake = FakeOpenAI()
    yield fake
    fake.close()


@pytest.fixture
def fake_embedder(fake_openai, monkeypatch):
    fake = fake_openai
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
    monkeypatch.undo()
    reload_settings()
    default_embedder.cache_clear()
    retrieval._title_vector.cache_clear()


def test_candidates_gain_title_weight_times_the_titles_cosine(fake_embedder):
    from botplot.knowledge.retrieval import TITLE_WEIGHT, rerank_by_title

    assert TITLE_WEIGHT == 0.5
    question = fake_embedder.embed(["warranty claims"])[0]
    hits = [hit("https://d.test/untitled", 0.65, ""),
            hit("https://d.test/shipping", 0.70, "Shipping options — Acme"),
            hit("https://d.test/warranty", 0.40, "Warranty claims | Acme — Support"),  # site names are not compared
            hit("https://d.test/symbols", 0.60, "???"),  # a title of no words: its vector is zero
            hit("https://d.test/half", 0.10, "Warranty")]
    expected = [("https://d.test/warranty", 0.9),  # 0.40 + 0.5 × 1.0
                ("https://d.test/shipping", 0.7),  # no word in common: cosine 0
                ("https://d.test/untitled", 0.65),  # no title: unchanged
                ("https://d.test/symbols", 0.6),
                ("https://d.test/half", 0.4536)]  # 0.10 + 0.5 × cos 45° (one of the question's two words)
    reranked = rerank_by_title(hits, question, fake_embedder.model)
    assert [(h.chunk.url, round(h.score, 4)) for h in reranked] == expected
    # a cosine: the question vector's length does not matter
    longer = rerank_by_title(hits, [3 * x for x in question], fake_embedder.model)
    assert [(h.chunk.url, round(h.score, 4)) for h in longer] == expected


def test_the_words_of_the_sites_name_are_left_out_of_the_title_compared():
    from botplot.knowledge.retrieval import topic_title

    assert topic_title("cookiecutter package — cookiecutter 1.7.3 documentation") == "package"
    assert topic_title("Cookiecutter: Better Project Templates — cookiecutter 1.7.3 documentation") == (
        "Better Project Templates")
    assert topic_title("The mypy command line — mypy 1.0.1 documentation") == "The command line"
    assert topic_title("Warranty claims | Acme — Support") == "Warranty claims"  # no site word in it
    assert topic_title("Cookiecutter — cookiecutter 1.7.3 documentation") == "Cookiecutter"  # nothing else left
    assert topic_title("Cookiecutter for Acme") == "Cookiecutter for Acme"  # no site name: the title as it is
    assert topic_title("") == ""


def test_a_title_that_only_names_the_product_gains_nothing_from_a_question_naming_it(fake_embedder):
    """Every page of a site shares its name, and questions name the product: "Acme package", the API
    reference, would otherwise be as close to "acme returns" as the returns page is."""
    from botplot.knowledge.retrieval import rerank_by_title

    question = fake_embedder.embed(["acme returns"])[0]
    hits = [hit("https://e.test/api", 0.45, "Acme package — Acme 2.0 documentation"),
            hit("https://e.test/returns", 0.40, "Returns policy — Acme 2.0 documentation")]
    reranked = rerank_by_title(hits, question, fake_embedder.model)
    assert [(h.chunk.url, round(h.score, 4)) for h in reranked] == [
        ("https://e.test/returns", 0.65),  # 0.40 + 0.5 × cos("acme returns", "returns policy") = 0.5
        ("https://e.test/api", 0.45)]  # "package" shares no word: with "Acme" kept it would have had 0.70


def test_title_reranking_considers_thirty_candidates(fake_embedder, tmp_path, monkeypatch):
    """The index is asked for CANDIDATES (30) chunks, more than its default (10): a page the search
    ranks low can still win on its title."""
    monkeypatch.setenv("BOTPLOT_INDEX", "sqlite")
    monkeypatch.setenv("BOTPLOT_INDEX_PATH", str(tmp_path / "index.sqlite"))
    from botplot.config import reload_settings
    from botplot.knowledge.index import default_index
    from botplot.knowledge.retrieval import CANDIDATES, MAX_PASSAGES, ranked_pages, retrieve

    reload_settings()
    default_index.cache_clear()
    chunks = [ChunkRecord(f"c{n}", "many", "site", f"Page {n} says something about gifts.", 8, title=f"Page {n}",
                          url=f"https://many.test/{n}") for n in range(CANDIDATES + 5)]  # one crawled site
    for chunk, vector in zip(chunks, fake_embedder.embed([f"{c.title} {c.content}" for c in chunks])):
        chunk.embedding, chunk.embedding_model = vector, fake_embedder.model
    default_index().upsert(chunks)
    question = "gifts"
    pages = ranked_pages("many", question, fake_embedder.embed([question])[0], fake_embedder.model)
    assert len(pages) == CANDIDATES == 30
    # as many pages as are close to the best, MAX_PASSAGES (5) at most, in their order: each cited, though
    # all come from one source
    found = retrieve("many", question)
    best_five = [group[0].chunk.url for _, group in pages[:MAX_PASSAGES]]
    assert [p.url for p in found.passages] == best_five and MAX_PASSAGES == 5
    assert [c["url"].split("#")[0] for c in found.citations] == best_five
    default_index.cache_clear()


@pytest.fixture
def shop_index(fake_embedder, tmp_path, monkeypatch):
    """A project's chunks in the SQLite index, embedded by the fake (bag of words)."""
    monkeypatch.setenv("BOTPLOT_INDEX", "sqlite")
    monkeypatch.setenv("BOTPLOT_INDEX_PATH", str(tmp_path / "index.sqlite"))
    from botplot.config import reload_settings
    from botplot.knowledge.index import default_index

    reload_settings()
    default_index.cache_clear()
    pages = {  # url: (title, chunks)
        "https://shop.test/returns": ("Returns — Shop", [
            "You can return a gift within 30 days. Bring the receipt to any store.",
            "A gift bought abroad can be returned by post within 30 days.",
            "Refunds reach your card within five days."]),
        "https://shop.test/shipping": ("Shipping — Shop", ["We ship a gift abroad to 40 countries."]),
        "https://shop.test/manual.pdf": ("Gift manual", ["Return the gift in its box."]),
        "https://shop.test/careers": ("Careers — Shop", ["Work with us in our stores."]),
    }
    chunks = []
    for url, (title, contents) in pages.items():
        for ordinal, content in enumerate(contents):
            chunks.append(ChunkRecord(f"{url}#{ordinal}", "shop", url.rsplit("/", 1)[1], content, 12, title=title,
                                      url=url, ordinal=ordinal))
    chunks.append(ChunkRecord("qa-1", "shop", "qa-source", "Yes, a gift can be returned within 30 days.", 9,
                              title="Can I return a gift?", is_qa=True))
    vectors = fake_embedder.embed([f"{c.title} {c.content}" for c in chunks])
    for chunk, vector in zip(chunks, vectors):
        chunk.embedding, chunk.embedding_model = vector, fake_embedder.model
    default_index().upsert(chunks)
    yield
    default_index.cache_clear()


def test_retrieval_quotes_the_best_pages_and_cites_each_once(shop_index):
    from botplot.knowledge.retrieval import GROUNDED_AT, MAX_PASSAGES, RELATIVE_CUTOFF, retrieve

    assert (GROUNDED_AT, MAX_PASSAGES, RELATIVE_CUTOFF) == (0.28, 5, 0.6)
    found = retrieve("shop", "How do I return a gift bought abroad?")
    assert found.grounded and found.confidence == 1.0  # every word of it, in a chunk close in meaning
    # the top page gives its two best chunks, every further page its best one, best page first
    top = found.passages[0].url
    assert [p.url for p in found.passages[:2]] == [top, top] and found.passages[0].score >= found.passages[1].score
    assert len({p.chunk_id for p in found.passages}) == len(found.passages) <= MAX_PASSAGES
    # each passage as its chunk was indexed (a Q&A pair marked so), its score to 4 decimals
    assert [(p.heading, p.is_qa) for p in found.passages] == [("", p.chunk_id == "qa-1") for p in found.passages]
    assert all(p.score == round(p.score, 4) for p in found.passages)
    assert all(p.url != top for p in found.passages[2:])
    assert "https://shop.test/careers" not in {p.url for p in found.passages}  # nothing of the question in it
    # one citation per page used, in the passages' order, each with its snippet and a link scrolling to it
    pages_used = list(dict.fromkeys(p.url or p.source_id for p in found.passages))
    assert [c["url"].split("#")[0] if c["url"] else c["sourceId"] for c in found.citations] == pages_used
    scores = [c["score"] for c in found.citations]
    # a page scores its best chunk plus SAME_PAGE_BONUS (0.15) times its second
    assert scores[0] == round(min(1.0, found.passages[0].score + 0.15 * found.passages[1].score), 4)
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    assert all(s >= RELATIVE_CUTOFF * scores[0] - 1e-4 for s in scores)
    for citation in found.citations:
        page = citation["url"].split("#")[0] if citation["url"] else citation["sourceId"]
        passage = next(p for p in found.passages if (p.url or p.source_id) == page)
        assert citation["title"] == passage.title and citation["snippet"] in passage.content
        if citation["url"] and not citation["url"].split("#")[0].endswith(".pdf"):
            first_word = citation["snippet"].split()[0]
            assert citation["url"].startswith(f"{passage.url}#:~:text={first_word}%20")
    qa = [c for c in found.citations if c["sourceId"] == "qa-source"]
    assert qa and qa[0]["url"] is None  # a Q&A pair has no page to link
    pdf = [c for c in found.citations if c["sourceId"] == "manual.pdf"]
    assert pdf == [] or pdf[0]["url"] == "https://shop.test/manual.pdf"


def test_nothing_relevant_is_not_grounded(shop_index):
    from botplot.knowledge.retrieval import GROUNDED_AT, retrieve

    found = retrieve("shop", "quantum chromodynamics lattice")
    assert (found.passages, found.citations, found.grounded) == ([], [], False)
    assert found.confidence < GROUNDED_AT
    assert retrieve("another-project", "return a gift").confidence == 0.0  # nothing indexed: nothing known


def test_a_short_follow_up_is_searched_with_the_previous_question(shop_index):
    from botplot.knowledge.retrieval import retrieve

    alone = retrieve("shop", "within five days?")
    follow_up = retrieve("shop", "and the refund?", context="How long until refunds reach my card?")
    assert follow_up.grounded and follow_up.passages[0].content == "Refunds reach your card within five days."
    # five words or more stand alone: the context is not added
    long_question = retrieve("shop", "do you ship gifts to other countries abroad?", context="refunds card")
    assert long_question.passages[0].url == "https://shop.test/shipping"
    assert alone.passages[0].content == "Refunds reach your card within five days."


@pytest.fixture
def metrics_on(monkeypatch):
    """Powertools prints each metric as an EMF line on stdout (the suite turns metrics off)."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")


def _emitted(output: str, metric: str) -> list[dict]:
    import json

    return [json.loads(line) for line in output.splitlines() if f'"{metric}"' in line]


def _errors(caplog) -> list[tuple[str, bool]]:
    """(message, traceback logged) of each ERROR line."""
    return [(r.getMessage(), r.exc_info is not None) for r in caplog.records if r.levelname == "ERROR"]


def test_pages_keep_their_search_order_when_the_titles_cannot_be_embedded(shop_index, fake_openai, metrics_on, capfd, caplog):
    """Title reranking embeds each page title: when the model endpoint fails there, the pages are
    ranked by their search scores alone (the answer still comes), and the failure is logged with
    its cause and counted once in ``RetrievalFailures``, the metric the alarm watches."""
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.index import default_index
    from botplot.knowledge.retrieval import CANDIDATES, rank_pages, ranked_pages

    question = "Can I return a gift bought abroad?"
    embedder = default_embedder()
    vector = embedder.embed([question])[0]
    searched = default_index().search("shop", question, vector, embedder.model, k=CANDIDATES)

    def shown(pages):
        return [(round(score, 4), [h.chunk.chunk_id for h in group]) for score, group in pages]

    capfd.readouterr()
    caplog.clear()
    fake_openai.embedding_failures = 3  # each of the embedder's three tries
    failed = ranked_pages("shop", question, vector, embedder.model)
    output = capfd.readouterr().out
    assert shown(failed) == shown(rank_pages(searched)) and len(failed) == len({h.chunk.url or h.chunk.source_id
                                                                                 for h in searched}) > 1
    (metric,) = _emitted(output, "RetrievalFailures")
    assert metric["RetrievalFailures"] in (1.0, [1.0]) and metric["service"] == "botplot"
    assert _errors(caplog) == [("title reranking skipped: embedding the titles failed", True)]
    # the endpoint back, the same question is reranked by its titles: a different order, and no failure
    reranked = ranked_pages("shop", question, vector, embedder.model)
    assert shown(reranked) != shown(failed)
    assert _emitted(capfd.readouterr().out, "RetrievalFailures") == []


def test_without_a_question_vector_pages_are_ranked_by_their_search_scores_and_nothing_failed(shop_index, metrics_on, capfd):
    """BM25 only (no embedder, or the question could not be embedded): no title reranking, and not
    counted as a failure of title reranking."""
    from botplot.knowledge.index import default_index
    from botplot.knowledge.retrieval import CANDIDATES, rank_pages, ranked_pages

    question = "Can I return a gift bought abroad?"
    searched = default_index().search("shop", question, None, None, k=CANDIDATES)
    capfd.readouterr()
    pages = ranked_pages("shop", question, None, None)
    assert [[h.chunk.chunk_id for h in g] for _, g in pages] == [[h.chunk.chunk_id for h in g]
                                                                 for _, g in rank_pages(searched)]
    assert [round(s, 4) for s, _ in pages] == [round(s, 4) for s, _ in rank_pages(searched)]
    assert pages and _emitted(capfd.readouterr().out, "RetrievalFailures") == []
    assert ranked_pages("another-project", question, None, None) == []


def test_the_answer_still_comes_when_the_question_cannot_be_embedded(shop_index, fake_openai, metrics_on, capfd, caplog):
    """The embedding service failing must not stop the answer: BM25 alone finds the passages, the
    confidence is then the share of the question's words found, and the failure is counted."""
    from botplot.knowledge.retrieval import retrieve

    capfd.readouterr()
    caplog.clear()
    fake_openai.embedding_failures = 3
    found = retrieve("shop", "Refunds reach your card within how many days?")
    output = capfd.readouterr().out
    assert found.grounded and found.passages[0].content == "Refunds reach your card within five days."
    assert found.confidence == 0.8333  # refunds, reach, card, within, days found; "many" not
    assert len(_emitted(output, "RetrievalFailures")) == 1
    assert _errors(caplog) == [("query embedding failed; searching with BM25 only", True)]


def test_only_a_question_of_four_words_or_fewer_is_searched_with_the_previous_one(shop_index, fake_openai):
    """The query sent to the model (and to BM25) is the previous question and this one when this one
    has at most four words that count (stop words do not); five or more stand alone."""
    from botplot.knowledge.index.base import query_terms
    from botplot.knowledge.retrieval import retrieve

    previous = "How long until refunds reach my card?"
    for question, searched in (("do you ship gifts to other countries?", f"{previous} do you ship gifts to other countries?"),
                               ("do you ship gifts abroad to other countries?", "do you ship gifts abroad to other countries?"),
                               ("and the refund?", f"{previous} and the refund?")):
        fake_openai.embedding_requests.clear()
        retrieve("shop", question, context=previous)
        assert fake_openai.embedding_requests[0]["input"] == [searched], (question, query_terms(question))
    fake_openai.embedding_requests.clear()
    retrieve("shop", "and the refund?")  # no previous question: the question alone
    assert fake_openai.embedding_requests[0]["input"] == ["and the refund?"]


def test_confidence_weighs_the_meaning_when_the_question_was_embedded(shop_index):
    """"refunds" is in the best chunk (coverage 1), whose meaning is only partly the question's: the
    fake's bag-of-words cosine is 1/3 (one word of the nine in "Returns — Shop Refunds reach your
    card within five days."), so confidence is 0.6 × (1/3 − 0.15) / (0.50 − 0.15) + 0.4 × 1
    (text-embedding-3-small's calibration; README "Answers", step 4), not the coverage alone."""
    from botplot.knowledge.retrieval import retrieve

    found = retrieve("shop", "refunds")
    assert found.passages[0].content == "Refunds reach your card within five days."
    assert found.confidence == round(0.6 * (1 / 3 - 0.15) / (0.50 - 0.15) + 0.4, 4) == 0.7143


def test_a_question_whose_found_share_is_exactly_grounded_at_is_answered(shop_index, fake_openai):
    """Grounded from GROUNDED_AT (0.28) on, inclusive: searched by BM25 alone (the question could not be
    embedded), confidence is the share of the question's words found in the best chunk, here 7 of 25;
    the 18 others are each on a page of their own, so every word of the question is documented."""
    from botplot.knowledge.index import default_index
    from botplot.knowledge.index.base import query_terms
    from botplot.knowledge.retrieval import GROUNDED_AT, retrieve

    found_words = "returns refunds reach card within five days"  # the title's and the chunk's words
    elsewhere = "zebra yak walrus vole urchin tapir sloth raven quail panda otter newt moose lemur koala jaguar ibis heron"
    default_index().upsert([ChunkRecord(f"zoo-{word}", "shop", "zoo", f"The {word}.", 2, title=f"{word.title()} — Zoo",
                                        url=f"https://shop.test/zoo/{word}") for word in elsewhere.split()])
    question = f"{found_words} {elsewhere}"
    assert len(query_terms(question)) == 25
    fake_openai.embedding_failures = 3
    found = retrieve("shop", question)
    assert found.passages[0].content == "Refunds reach your card within five days."
    assert found.confidence == GROUNDED_AT == 0.28 and found.grounded


def test_a_question_about_something_the_documents_never_mention_is_not_answered_below_focused_at(shop_index, fake_openai):
    """Near the subject but not in it: "paypal" is in no candidate chunk while the question's other words
    match a page as a real question's do, so under FOCUSED_AT (0.65) nothing is known; a question whose
    every word is documented is answered at the same confidence, and so is one above FOCUSED_AT with
    the unknown word. Searched by BM25 alone, confidence is the share of the question's words in the
    best chunk ("A gift bought abroad can be returned by post within 30 days.", page "Returns")."""
    from botplot.knowledge.retrieval import FOCUSED_AT, GROUNDED_AT, retrieve

    fake_openai.embedding_failures = 9  # three questions, three attempts each
    known = retrieve("shop", "Gift bought abroad: receipt, box?")  # 3 of 5; receipt and box in other chunks
    assert GROUNDED_AT < known.confidence == 0.6 < FOCUSED_AT == 0.65 and known.grounded
    unknown = retrieve("shop", "Gift bought abroad: receipt, PayPal?")
    assert unknown.confidence == 0.6
    assert (unknown.grounded, unknown.passages, unknown.citations) == (False, [], [])
    above = retrieve("shop", "Gift bought abroad returned by post with PayPal?")  # 5 of 6
    assert above.confidence == 0.8333 > FOCUSED_AT and above.grounded  # confident enough: answered all the same


def test_an_undocumented_word_declines_only_if_it_carries_the_questions_meaning(shop_index, fake_embedder):
    """With the question's vector, an undocumented word declines only when the question without it is
    less than CARRIES_MEANING (0.85) alike: "paypal" is one of the fake's 3 words in "Gift by PayPal?"
    (cosine 2/sqrt(6) = 0.82 without it), one of 5 in "Is the box receipt PayPal?" (0.89), which is answered."""
    from botplot.knowledge.retrieval import CARRIES_MEANING, FOCUSED_AT, GROUNDED_AT, retrieve

    short = retrieve("shop", "Gift by PayPal?")
    assert GROUNDED_AT <= short.confidence < FOCUSED_AT and not short.grounded
    long = retrieve("shop", "Is the box receipt PayPal?")
    assert GROUNDED_AT <= long.confidence < FOCUSED_AT and long.grounded
    assert CARRIES_MEANING == 0.85


def test_the_question_without_its_undocumented_word_exactly_carries_meaning_alike_at_0_85(shop_index, fake_openai):
    """Declined only when the question without its undocumented word is *less* than CARRIES_MEANING
    alike, compared at three decimals: "Gift by PayPal?" without "paypal" is scripted at cosine 0.8496
    from the question, which is 0.850 at three decimals, so the question is answered."""
    from tests.support.fake_openai import embed
    from botplot.knowledge.retrieval import CARRIES_MEANING, FOCUSED_AT, GROUNDED_AT, retrieve

    asked = embed("Gift by PayPal?")
    other = [0.0] * len(asked)
    other[next(i for i, v in enumerate(asked) if v == 0.0)] = 1.0  # a unit vector orthogonal to the question's
    alike = 0.8496
    fake_openai.vectors["gift by"] = [alike * a + math.sqrt(1 - alike ** 2) * o for a, o in zip(asked, other)]
    found = retrieve("shop", "Gift by PayPal?")
    assert GROUNDED_AT <= found.confidence < FOCUSED_AT and round(alike, 3) == CARRIES_MEANING
    assert found.grounded and found.passages
    fake_openai.vectors["gift by"] = [0.8494 * a + math.sqrt(1 - 0.8494 ** 2) * o for a, o in zip(asked, other)]
    assert not retrieve("shop", "Gift by PayPal?").grounded  # 0.849: declined


def test_a_question_at_exactly_focused_at_is_answered_despite_an_undocumented_word(shop_index, fake_openai):
    """The undocumented-word rule applies below FOCUSED_AT (0.65) only: searched by BM25 alone, 13 of
    the question's 20 words are in the best chunk (confidence 0.65), six are on pages of their own and
    "paypal" is nowhere, and the question is answered."""
    from botplot.knowledge.index import default_index
    from botplot.knowledge.index.base import query_terms
    from botplot.knowledge.retrieval import FOCUSED_AT, retrieve

    best = "kettle toaster blender carries year warranty covering motors switches cables lids hinges"
    elsewhere = "zebra yak walrus vole urchin tapir"
    default_index().upsert([ChunkRecord("warranty-0", "shop", "warranty", f"Every {best}.", 12,
                                        title="Warranty — Shop", url="https://shop.test/warranty")]
                           + [ChunkRecord(f"zoo-{word}", "shop", "zoo", f"The {word}.", 2, title=f"{word.title()} — Zoo",
                                          url=f"https://shop.test/zoo/{word}") for word in elsewhere.split()])
    question = f"{best} shop {elsewhere} paypal"
    assert len(query_terms(question)) == 20
    fake_openai.embedding_failures = 3
    found = retrieve("shop", question)
    assert found.passages[0].content == f"Every {best}."
    assert found.confidence == FOCUSED_AT == 0.65 and found.grounded
    fake_openai.embedding_failures = 3
    assert not retrieve("shop", question.replace("hinges ", "")).grounded  # 12 of 19, 0.6316: declined


def test_a_page_scoring_under_six_tenths_of_the_best_is_not_used(shop_index, fake_embedder):
    """RELATIVE_CUTOFF is relative to the best page: "gift return" has two close pages and a third at
    0.54 of the best (left out); "refunds" is answered by one page, the others scoring near zero. A
    citation's score is its page's, at most 1, to four decimals."""
    from botplot.knowledge.retrieval import RELATIVE_CUTOFF, ranked_pages, retrieve

    for question, used in (("gift return", 2), ("refunds", 1), ("gift abroad", 3)):
        pages = ranked_pages("shop", question, fake_embedder.embed([question])[0], fake_embedder.model)
        close = [(s, g[0].chunk.url or g[0].chunk.source_id) for s, g in pages if s >= RELATIVE_CUTOFF * pages[0][0]]
        assert len(close) == used < len(pages)
        found = retrieve("shop", question)
        assert list(dict.fromkeys(p.url or p.source_id for p in found.passages)) == [page for _, page in close]
        assert [c["score"] for c in found.citations] == [round(min(1.0, s), 4) for s, _ in close]
    assert pages[1][0] != round(pages[1][0], 4)  # "gift abroad": a score with more than four decimals
    gift_return = ranked_pages("shop", "gift return", fake_embedder.embed(["gift return"])[0], fake_embedder.model)
    assert gift_return[0][0] > 1 and retrieve("shop", "gift return").citations[0]["score"] == 1.0


@contextmanager
def _another_embedding_model(monkeypatch):
    """The project's embedder switched to another model on another OpenAI endpoint (a fresh fake)."""
    from tests.support.fake_openai import FakeOpenAI

    from botplot.config import reload_settings
    from botplot.knowledge.embeddings import default_embedder

    other = FakeOpenAI(dimensions=64)
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", other.base_url)
        monkeypatch.setenv("BOTPLOT_EMBEDDING_MODEL", "text-embedding-3-large")
        reload_settings()
        default_embedder.cache_clear()
        yield
    finally:
        other.close()


def test_title_vectors_are_cached_per_embedding_model(fake_embedder, monkeypatch):
    """After the embedding model changes (another model, other vectors), titles are embedded again by
    it: a title vector of the previous model is never compared with the new model's question."""
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.retrieval import rerank_by_title

    hits = [hit("https://d.test/warranty", 0.40, "Warranty claims")]
    before = rerank_by_title(hits, fake_embedder.embed(["warranty claims"])[0], fake_embedder.model)
    assert round(before[0].score, 4) == 0.9
    with _another_embedding_model(monkeypatch):
        embedder = default_embedder()
        after = rerank_by_title(hits, embedder.embed(["warranty claims"])[0], embedder.model)
        assert embedder.model == "text-embedding-3-large" and round(after[0].score, 4) == 0.9


def test_pages_are_reranked_with_the_current_models_title_vectors(shop_index, fake_embedder, monkeypatch):
    """The same through ranked_pages: after a model change its reranking equals one from an empty cache."""
    from botplot.knowledge import retrieval
    from botplot.knowledge.embeddings import default_embedder

    question = "Can I return a gift bought abroad?"

    def scores():
        embedder = default_embedder()
        pages = retrieval.ranked_pages("shop", question, embedder.embed([question])[0], embedder.model)
        return [(round(s, 4), g[0].chunk.chunk_id) for s, g in pages]

    scores()
    with _another_embedding_model(monkeypatch):
        after_change = scores()
        retrieval._title_vector.cache_clear()
        assert after_change == scores()


def test_a_question_whose_undocumented_word_cannot_be_weighed_is_declined_and_the_failure_counted(
        shop_index, fake_openai, metrics_on, capfd, caplog):
    """Below ``FOCUSED_AT``, a question word in no candidate declines the question if it carries the
    question's meaning; when the model endpoint fails while that is weighed, the question is declined
    (nothing is claimed that could not be checked), and the failure is logged and counted."""
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.retrieval import _off_subject, ranked_pages

    question = "Can I return a gift bought on Neptune?"  # "neptune" is in none of the shop's chunks
    embedder = default_embedder()
    vector = embedder.embed([question])[0]
    pages = ranked_pages("shop", question, vector, embedder.model)
    capfd.readouterr()
    caplog.clear()
    fake_openai.embedding_failures = 3
    assert _off_subject(question, question, vector, pages) is True
    (metric,) = _emitted(capfd.readouterr().out, "RetrievalFailures")
    assert metric["RetrievalFailures"] in (1.0, [1.0])
    assert _errors(caplog) == [("embedding the question without its undocumented words failed", True)]


def test_only_the_undocumented_word_itself_is_taken_out_of_the_question(shop_index, fake_embedder):
    """"road" is in none of the shop's chunks, "abroad" is: the question without its undocumented word
    keeps "abroad" (the fake's cosine 4/sqrt(20) = 0.89, so "road" does not carry the question's
    meaning); cutting "road" out of "abroad" too would leave 3 of 5 words (0.67) and decline it."""
    from botplot.knowledge.retrieval import _off_subject, ranked_pages, unmatched

    question = "Gift bought abroad by road?"
    vector = fake_embedder.embed([question])[0]
    pages = ranked_pages("shop", question, vector, fake_embedder.model)
    assert unmatched(question, [h for _, group in pages for h in group]) == ["road"]
    assert _off_subject(question, question, vector, pages) is False


def test_a_follow_ups_undocumented_word_is_weighed_against_the_question_not_its_context(shop_index, fake_openai):
    """A short follow-up is searched with the previous question in front; whether its undocumented
    word carries its meaning is judged on the question itself (with the context, every question's
    words would weigh less, and far more follow-ups would be declined)."""
    from botplot.knowledge.embeddings import default_embedder
    import re

    from botplot.knowledge.retrieval import CARRIES_MEANING, _off_subject, _unit, ranked_pages, unmatched

    question = "Can I return a gift card that my friend bought for me on Neptune?"
    query = f"How long do refunds take to reach my card after a return is received? {question}"
    embedder = default_embedder()
    asked, searched = embedder.embed([question, query])
    pages = ranked_pages("shop", query, searched, embedder.model)
    missing = unmatched(question, [h for _, group in pages for h in group])
    assert "neptune" in missing
    without = embedder.embed([re.sub("|".join(missing), " ", question, flags=re.I)])[0]

    def alike(a, b):
        return sum(x * y for x, y in zip(_unit(a), _unit(b)))

    # with this embedder the question without its undocumented words is close to the question and far
    # from the query: the two ways of judging disagree here
    assert alike(asked, without) >= CARRIES_MEANING > alike(searched, without)
    assert _off_subject(question, query, searched, pages) is False


def test_a_changelog_entry_yields_first_place_to_the_guide_unless_the_question_asks_about_releases(
        fake_embedder, tmp_path, monkeypatch):
    """A changelog names every feature again in the words a question about it uses, one entry a
    chunk: without RELEASE_PENALTY its entry outranks the page that explains the feature. A question
    naming a version or asking what changed, when, keeps the changelog first."""
    monkeypatch.setenv("BOTPLOT_INDEX", "sqlite")
    monkeypatch.setenv("BOTPLOT_INDEX_PATH", str(tmp_path / "index.sqlite"))
    from botplot.config import reload_settings
    from botplot.knowledge import retrieval
    from botplot.knowledge.index import default_index

    reload_settings()
    default_index.cache_clear()
    chunks = [
        ChunkRecord("guide", "shop", "site", "At checkout, tick the box to have your order gift wrapped.", 12,
                    title="Ordering — Shop", heading="Ordering > Options", url="https://shop.test/ordering"),
        ChunkRecord("entry", "shop", "site", "Gift wrapping: any order can be gift wrapped at checkout.", 12,
                    title="Release history — Shop", heading="Release history > 2.1.0 (2024-05-02)",
                    url="https://shop.test/history"),
        # "since" a version: a feature's own page, not a release's
        ChunkRecord("since", "shop", "site", "Ask us to gift wrap an order by post.", 12,
                    title="Gift wrapping by post (2.1.0+) — Shop", heading="Gift wrapping by post (2.1.0+)",
                    url="https://shop.test/post"),
        ChunkRecord("other", "shop", "site", "We wrapped up hiring: no open positions.", 12, title="Careers — Shop",
                    url="https://shop.test/careers"),
    ]
    for chunk, vector in zip(chunks, fake_embedder.embed([f"{c.title} {c.content}" for c in chunks])):
        chunk.embedding, chunk.embedding_model = vector, fake_embedder.model
    default_index().upsert(chunks)

    def first_pages(question: str) -> list[str]:
        vector = fake_embedder.embed([question])[0]
        return [group[0].chunk.chunk_id for _, group in retrieval.ranked_pages("shop", question, vector,
                                                                               fake_embedder.model)]

    question = "Can my order be gift wrapped at checkout?"
    assert retrieval.RELEASE_PENALTY == 0.1
    with monkeypatch.context() as without:
        without.setattr(retrieval, "RELEASE_PENALTY", 0.0)
        assert first_pages(question)[:2] == ["entry", "guide"]
    assert first_pages(question)[:2] == ["guide", "entry"]
    for about_releases in ("Which release added gift wrapping at checkout?", "Can my order be gift wrapped "
                           "at checkout in 2.1?", "When did gift wrapping at checkout change?"):
        assert first_pages(about_releases)[0] == "entry", about_releases
    # BM25 alone (no embedder, or the question could not be embedded): the same rule, on the search's scores
    searched = {h.chunk.chunk_id: h.score for h in default_index().search("shop", question, None, None,
                                                                           k=retrieval.CANDIDATES)}
    ranked = {group[0].chunk.chunk_id: score for score, group in retrieval.ranked_pages("shop", question, None, None)}
    assert {cid: round(score, 4) for cid, score in ranked.items()} == {
        cid: round(score - (0.1 if cid == "entry" else 0.0), 4) for cid, score in searched.items()}
    # a version marked "and later" is no release: the page about the feature keeps its score
    question = "Can I ask for gift wrapping by post?"
    vector = fake_embedder.embed([question])[0]
    searched = retrieval.rerank_by_title(default_index().search("shop", question, vector, fake_embedder.model,
                                                                k=retrieval.CANDIDATES), vector, fake_embedder.model)
    ranked = retrieval.ranked_pages("shop", question, vector, fake_embedder.model)
    assert [(round(score, 4), group[0].chunk.chunk_id) for score, group in ranked][0] == (
        round(searched[0].score, 4), "since")
    default_index.cache_clear()
