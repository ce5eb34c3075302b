"""How retrieval ranks pages and what the offline responder quotes from them."""

from dataclasses import replace

from botplot.knowledge.index.base import ChunkRecord, Hit
from botplot.knowledge.retrieval import (RELATIVE_CUTOFF, about_a_release, asks_about_releases, choose, rank_pages,
                                        topic_title, unmatched)
from botplot.llm.context import AnswerInput, Passage
from botplot.llm.responders import NOTHING_KNOWN, ExtractiveResponder


def _hit(url: str, score: float, ordinal: int = 0) -> Hit:
    chunk = ChunkRecord(chunk_id=f"{url}#{ordinal}", project_id="p", source_id="s", content="text", token_count=1,
                        title=url, url=url, ordinal=ordinal)
    return Hit(chunk, score)


def test_a_page_with_one_chunk_that_answers_beats_a_long_page_of_near_misses():
    hits = [_hit("https://d.test/changelog", 0.80, n) for n in range(6)] + [_hit("https://d.test/faq", 0.95)]
    ranked = rank_pages(sorted(hits, key=lambda h: -h.score))
    assert [group[0].chunk.url for _, group in ranked] == ["https://d.test/faq", "https://d.test/changelog"]


def test_pages_keep_their_chunks_best_first():
    hits = [_hit("https://d.test/a", 0.9, 1), _hit("https://d.test/b", 0.7), _hit("https://d.test/a", 0.5, 2)]
    ranked = rank_pages(hits)
    assert [h.chunk.ordinal for h in ranked[0][1]] == [1, 2]


def test_a_further_page_scoring_exactly_six_tenths_of_the_best_is_quoted_and_one_just_under_is_not():
    """RELATIVE_CUTOFF is "at least this share of the best page": the tie is inclusive."""
    pages = rank_pages([_hit("https://d.test/best", 1.0), _hit("https://d.test/tie", 0.6),
                        _hit("https://d.test/under", 0.5999)])
    assert RELATIVE_CUTOFF == 0.6 and pages[1][0] == RELATIVE_CUTOFF * pages[0][0]  # an exact tie
    assert [(score, hit.chunk.url) for score, hit in choose(pages)] == [
        (1.0, "https://d.test/best"), (0.6, "https://d.test/tie")]


def _passage(content: str, url: str = "https://d.test/guide", n: int = 0) -> Passage:
    return Passage(chunk_id=f"c{n}", source_id="s", url=url, title="Advanced Usage — Docs", heading="", content=content,
                   score=1.0)


def test_the_answer_may_come_from_the_best_pages_second_passage():
    first = _passage("Sessions persist cookies across requests. They also pool connections to the same host.")
    second = _passage("Proxies are configured per request. To use a SOCKS proxy, install the socks extra and use "
                      "the socks5 scheme in the proxy URL.", n=1)
    other = _passage("A SOCKS proxy is mentioned here too, socks, socks, proxy.", url="https://d.test/changelog", n=2)
    reply = ExtractiveResponder().compose(AnswerInput(question="How do I use a SOCKS proxy?", project_name="Docs",
                                                      instructions=None, passages=[first, second, other]))
    assert "socks5 scheme" in reply
    assert reply.startswith("According to “Advanced Usage”")


def test_nothing_retrieved_is_said_plainly():
    reply = ExtractiveResponder().compose(AnswerInput(question="What is the capital of France?", project_name="Docs",
                                                      instructions=None, passages=[]))
    assert reply == NOTHING_KNOWN


def test_the_retrievers_best_passage_is_quoted_unless_another_covers_clearly_more_of_the_question():
    best = _passage("The read timeout is how long the client waits for the server. Pass a tuple to give the "
                    "connect and read timeouts apart.")
    common = _passage("You can set defaults on a session. Values you set there apply to every request. Set them once. "
                      "A read timeout set on a request wins over the session's.", n=1)
    for passages, quoted in (([best, common], "Pass a tuple"), ([common, best], "wins over the session's")):
        reply = ExtractiveResponder().compose(AnswerInput(question="How do I set the read timeout?", project_name="Docs",
                                                          instructions=None, passages=passages))
        assert quoted in reply, reply


def test_another_pages_passage_is_quoted_under_its_own_title_only_when_it_clearly_covers_more():
    broad = _passage("Sessions persist cookies across requests and pool connections to the same host.")
    also = _passage("A session's headers are sent with every request it makes.", n=1)
    answering = Passage(chunk_id="c2", source_id="s", url="https://d.test/api", title="Developer Interface — Docs",
                        heading="", content="To mount a custom transport adapter for one host, call "
                        "Session.mount with the host's URL prefix and the adapter instance.", score=0.9)
    near_miss = replace(answering, content="A transport adapter can be written for any protocol.")

    def reply(*passages):
        return ExtractiveResponder().compose(AnswerInput(question="How do I mount a custom transport adapter for "
                                                         "one host?", project_name="Docs", instructions=None,
                                                         passages=list(passages)))

    assert reply(broad, also, answering) == ("According to “Developer Interface”: To mount a custom transport "
                                             "adapter for one host, call Session.mount with the host's URL prefix "
                                             "and the adapter instance.")
    # a passage of another page sharing little more than the best page does is not preferred to it
    assert reply(broad, also, near_miss).startswith("According to “Advanced Usage”")


def _about(content: str) -> Hit:
    return Hit(ChunkRecord(chunk_id="c", project_id="p", source_id="s", content=content, token_count=1,
                           title="Guide", url="https://d.test/", ordinal=0), 1.0)


def test_a_question_word_in_no_candidate_is_unmatched_in_any_inflection_or_spelling():
    assert unmatched("What is zulu?", [_about("alpha beta")]) == ["zulu"]  # after every known word
    assert unmatched("What is Flask's session?", [_about("flask session")]) == []  # a possessive
    assert unmatched("What is the U.S.'s shipping policy?", [_about("U.S. shipping")]) == ["policy"]


def test_a_code_identifier_is_matched_part_by_part_when_every_part_is_documented():
    assert unmatched("What is Response.elapsed?", [_about("response elapsed time")]) == []
    assert unmatched("What is Response.foo?", [_about("response elapsed time")]) == ["response.foo"]
    assert unmatched("What is io.zulu?", [_about("io zulu")]) == []  # two-letter parts count
    # a one-letter part is no part: "a" matches any word starting with it, so it proves nothing
    assert unmatched("What is a.zulu?", [_about("apple zulu")]) == ["a.zulu"]


def test_a_topic_title_leaves_out_every_word_of_the_site_name_after_the_first_separator():
    assert topic_title("Flask Tutorial — Guide — Flask") == "Tutorial"
    assert topic_title("Flask — Flask") == "Flask"  # nothing left: the title stays whole


def _headed(heading: str) -> Hit:
    return Hit(ChunkRecord(chunk_id="c", project_id="p", source_id="s", content="text", token_count=1,
                           title="Page — Docs 2.0 documentation", heading=heading, url="https://d.test/page"), 1.0)


def test_a_release_is_a_heading_that_starts_with_a_version_or_names_one_beside_a_word_about_releases():
    releases = ["Changes > Version 2.2.2", "Release History > 2.28.0 (2022-06-09)", "History > 1.7.1 (2019-04-21)",
                "Changelog > v2.1", "Changes > 3.0.0rc1", "Python-Markdown 3.4 Release Notes", "Major changes in 5.0",
                "What's new in 2.0", "Change history for coverage.py > Version 6.4.4 — 2022-08-16"]
    assert [h for h in releases if not about_a_release(_headed(h))] == []
    # a version in a heading is often no release: a protocol, a section number, a feature's "since"
    others = ["OAuth 2.0", "TLS 1.3 > Setup", "HTTP/1.1", "Python 3.8 support", "Table 3.1",
              "3. Tutorial > 3.1. Using Python as a Calculator", "User Config (0.7.0+)", "Hooks (0.7+)",
              "Installing 127.0.0.1 as the host", ""]
    assert [h for h in others if about_a_release(_headed(h))] == []  # nor the title's "Docs 2.0"


def test_a_question_about_releases_names_a_version_or_asks_what_changed_when():
    asking = ["Does it run on 3.4?", "Which release added footnotes?", "When did the JSON report change?",
              "What's new in v2?", "What are the breaking changes?", "How do I migrate from the old API?",
              "Was Python 2 support dropped?", "Is the -x option deprecated?"]
    assert [q for q in asking if not asks_about_releases(q)] == []
    assert [q for q in ["How do I upload a multipart-encoded file?", "Can a view return a dict?",
                        "What does the v flag do?"] if asks_about_releases(q)] == []
