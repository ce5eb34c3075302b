"""What a citation shows and how sure retrieval is (README "Answers", steps 3 and 4): the snippet is
the passage's sentence sharing most words with the question, the link scrolls to it with a
``#:~:text=`` fragment (HTML pages only), and confidence weighs the best chunk's meaning (cosine,
calibrated per model) 0.6 against the share of the question's words it holds 0.4."""

from __future__ import annotations

import pytest

from botplot.knowledge.index.base import ChunkRecord, Hit
from botplot.knowledge.retrieval import confidence, coverage, snippet, text_fragment_url


def _hit(content: str, title: str = "", heading: str = "", similarity: float | None = None) -> Hit:
    return Hit(ChunkRecord("c1", "p", "s", content, 1, title=title, heading=heading, url="https://a.test/x"), 0.5,
               similarity=similarity)


def test_the_link_scrolls_to_the_snippet_by_its_first_and_last_four_words():
    long = "Pass a tuple to give the connect and read timeouts apart."
    assert text_fragment_url("https://a.test/guide#old", long) == (
        "https://a.test/guide#:~:text=Pass%20a%20tuple%20to,and%20read%20timeouts%20apart.")
    # eight words or fewer: all of them; commas and ampersands escaped (a comma separates start and end)
    assert text_fragment_url("https://a.test/returns", "Returns, refunds & exchanges…") == (
        "https://a.test/returns#:~:text=Returns%2C%20refunds%20%26%20exchanges")
    eight = "one two three four five six seven eight"
    assert text_fragment_url("https://a.test/n", eight) == "https://a.test/n#:~:text=" + eight.replace(" ", "%20")
    nine = eight + " nine"
    assert text_fragment_url("https://a.test/n", nine) == (
        "https://a.test/n#:~:text=one%20two%20three%20four,six%20seven%20eight%20nine")


@pytest.mark.parametrize("url, text", [
    ("https://a.test/manual.pdf", "Pass a tuple to give the timeouts apart."),
    ("https://a.test/NOTES.TXT", "Pass a tuple to give the timeouts apart."),
    ("https://a.test/guide", "Timeouts"),  # one word marks nothing useful
    ("https://a.test/guide", "Timeouts…"),
])
def test_no_fragment_where_a_browser_could_not_use_it(url, text):
    assert text_fragment_url(url, text) == url


def test_the_snippet_is_the_sentence_sharing_most_words_with_the_question():
    content = ("Sessions keep cookies. The read timeout is how long the client waits for the server! Ok.\n"
               "Pass a tuple to set timeouts.")
    assert snippet("How do I set the read timeout?", content) == (
        "The read timeout is how long the client waits for the server!")
    # sentences end at . ! ? or a line break; the first of equals wins
    assert snippet("tuple", "Timeouts differ? A tuple sets both\nA tuple again.") == "A tuple sets both"
    assert snippet("cookies", "Tiny") == "Tiny"  # nothing longer than three characters: the whole text


def test_a_long_sentence_is_cut_at_a_word_before_the_limit():
    sentence = "The read timeout " + "is long " * 40 + "really."
    cut = snippet("read timeout", sentence)
    assert len(cut) <= 200 and cut.endswith(" is…") and sentence.startswith(cut[:-1])
    assert snippet("read timeout", sentence, limit=30) == "The read timeout is long is…"
    exactly = "x" * 195 + " read"  # 200 characters: kept whole
    assert snippet("read", exactly) == exactly


def test_coverage_counts_the_question_words_found_in_title_heading_or_text():
    assert coverage("returning gifts", _hit("You can return a gift.")) == 1.0  # stemmed alike
    assert coverage("return boxes abroad", _hit("Any box will do.", title="Returns")) == pytest.approx(2 / 3)
    assert coverage("warranty claims", _hit("Nothing here.", heading="Warranty")) == 0.5
    assert coverage("the and of", _hit("the and of")) == 0.0  # only stop words: nothing to find
    assert coverage("returned boxes", _hit("Return the box.")) == 1.0  # -ed, -es
    # a suffix is taken off only if more than two letters remain: "uses" is "use", not "us"
    assert coverage("uses", _hit("What use is it?")) == 1.0


def test_confidence_weighs_calibrated_meaning_against_the_words_found():
    best = _hit("You can return a gift within 30 days.", similarity=0.40)
    # text-embedding-3-small: 0.15 is unrelated, 0.50 clearly about it; two of the three words found
    assert confidence("return a gift abroad", best, "text-embedding-3-small") == round(
        0.6 * (0.40 - 0.15) / (0.50 - 0.15) + 0.4 * 2 / 3, 4)
    # MiniLM's scale (and any model not calibrated) is 0.15 .. 0.55
    for model in ("all-MiniLM-L6-v2", "some-other-model"):
        assert confidence("return a gift abroad", best, model) == round(0.6 * 0.25 / 0.40 + 0.4 * 2 / 3, 4)
    # the meaning part stays within [0, 1]
    assert confidence("return gift", _hit("return gift", similarity=0.95), "text-embedding-3-small") == 1.0
    assert confidence("return gift", _hit("nothing", similarity=0.05), "text-embedding-3-small") == 0.0
    # without vectors (no embedder, or BM25 only) the words found are all there is
    assert confidence("return gift abroad", _hit("return gift", similarity=None), "all-MiniLM-L6-v2") == 0.6667
    assert confidence("return gift abroad", _hit("return gift", similarity=0.9), None) == 0.6667


def test_fragment_edges():
    assert text_fragment_url("https://a.test/p", "Return policy") == "https://a.test/p#:~:text=Return%20policy"
    assert text_fragment_url("https://a.test/p", "Buy the Model X") == "https://a.test/p#:~:text=Buy%20the%20Model%20X"
    # every character outside letters, digits and -._~ is escaped, slashes too
    assert text_fragment_url("https://a.test/p", "Call the /v1 endpoint") == (
        "https://a.test/p#:~:text=Call%20the%20%2Fv1%20endpoint")
    # the page's own fragment, however many # it holds, gives way to the text fragment
    assert text_fragment_url("https://a.test/p#a#b", "Return policy") == "https://a.test/p#:~:text=Return%20policy"


def test_sentences_of_three_characters_or_fewer_are_not_snippets():
    assert snippet("ab", "Ab. Longer text here.") == "Longer text here."
    assert snippet("abc", "Abc. Longer text here.") == "Abc."
    over = "x" * 196 + " read"  # 201 characters: cut
    assert snippet("read", over) == "x" * 196 + "…"


def test_a_cut_snippet_keeps_every_whole_word_that_fits_and_never_passes_the_limit():
    # the cut is made in the first 199 characters, "…" being the 200th: a word ending at the 198th is kept
    fits = "a" * 190 + " " + "b" * 7 + " ccc dd"
    assert snippet("bbbbbbb", fits) == "a" * 190 + " " + "b" * 7 + "…"
    # a word reaching the 200th character is not, however short
    reaching = "a" * 197 + " bb cc"
    assert snippet("bb", reaching) == "a" * 197 + "…"
    assert len(snippet("bb", reaching + " dd" * 5)) <= 200
