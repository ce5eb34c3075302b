"""Offline answers read like the page: code and lists keep their lines, images say nothing, and
the cut at the word budget falls between sentences or blocks, never inside code, and never right
after a sentence announcing what follows."""

from __future__ import annotations

import re

from botplot.knowledge.chunking import chunk_page
from botplot.knowledge.extract import extract_html
from botplot.llm.context import AnswerInput, Passage
from botplot.llm.responders import ExtractiveResponder

DOCS = """<html><head><title>Reading orders — Acme</title></head><body><main>
<h1>Reading orders</h1>
<p>Business customers read their orders over HTTPS with a token from their account page.</p>
<figure><img src="flow.png" alt="Sequence diagram of the token exchange">
<figcaption>Figure 1: the token exchange between client and server.</figcaption></figure>
<p>Send the token as a bearer token and read the JSON list of orders:</p>
<pre><code>import json
import urllib.request

request = urllib.request.Request("https://api.acme.example/orders",
                                 headers={"Authorization": "Bearer TOKEN"})
with urllib.request.urlopen(request) as response:
    orders = json.load(response)
print(len(orders), "orders")
</code></pre>
<h2>What an order holds</h2>
<ul><li>An id that never changes.</li><li>A status: paid, shipped or returned.</li><li>The items it contains.</li></ul>
<p>Orders older than seven years are archived and no longer listed. Archived orders can be requested from
support. Support answers within two business days, and usually sooner when the order number is given. The
archive keeps invoices as PDF files for the whole retention period required by law in each country.</p>
<p>Items can be returned within thirty days of delivery, in their original packaging and with the receipt.
Refunds go back to the card that paid for the order, usually within five business days of the parcel
reaching our warehouse. Items bought in a sale are refunded at the price that was paid. Gift cards cannot be
returned or exchanged, and neither can opened software or personalised items.</p>
</main></body></html>"""


def _answer(question: str) -> str:
    page = extract_html(DOCS, "https://acme.example/orders")
    chunks = chunk_page(page.title, page.blocks)
    passages = [Passage(f"c{c.ordinal}", "s1", "https://acme.example/orders", page.title, c.heading, c.content, 1.0)
                for c in chunks]
    return ExtractiveResponder().compose(AnswerInput(question, "Acme", None, passages))


def test_a_code_block_is_quoted_whole_with_its_line_breaks():
    answer = _answer("How do I send the bearer token with urllib to read orders?")
    assert "```\nimport json\nimport urllib.request\n\nrequest = urllib.request.Request(" in answer
    assert 'with urllib.request.urlopen(request) as response:\n    orders = json.load(response)\n' \
           'print(len(orders), "orders")\n```' in answer


def test_image_alt_text_and_captions_never_reach_the_answer():
    page = extract_html(DOCS, "https://acme.example/orders")
    assert "Sequence diagram" not in page.text and "Figure 1" not in page.text
    assert "Figure 1" not in _answer("How does the token exchange between client and server work?")


def test_list_items_keep_their_own_lines():
    answer = _answer("What status can an order have, and what does it contain?")
    assert "• An id that never changes.\n• A status: paid, shipped or returned.\n• The items it contains." in answer


def test_the_cut_falls_between_sentences_within_the_word_budget():
    answer = _answer("Where are archived orders and their invoices kept?")
    quoted = answer.split("”:", 1)[1].strip()
    code = "".join(re.findall(r"```.*?```", quoted, re.S))
    prose_words, code_words = len(quoted.split()) - len(code.split()), len(code.split())
    assert prose_words + ExtractiveResponder.code_word_cost * code_words <= ExtractiveResponder.budget_words
    assert not ("Business customers" in quoted and "thirty days" in quoted)  # longer than the budget: cut
    assert quoted.count("```") % 2 == 0  # never inside a code block
    assert re.search(r"[.!?:]$", quoted), quoted  # ends where a sentence or block ends
    assert "archive keeps invoices" in quoted


def _compose(question: str, content: str) -> str:
    passage = Passage("c0", "s1", "https://acme.example/cli", "Command line — Acme", "Exports", content, 1.0)
    return ExtractiveResponder().compose(AnswerInput(question, "Acme", None, [passage]))


EXPORT_INTRO = ("The exporter writes every order of the chosen period to a file. Exports run on our servers, so "
                "a large export does not slow your own machine down. Each export is kept for thirty days and can "
                "be downloaded again from the account page during that time. Exports of more than a million orders "
                "are split into several files of at most one million orders each, numbered in order. "
                "To export orders to CSV from the command line, run the exporter like this:")
EXPORT_CODE = "\n".join(["```", "$ acme export orders --format csv --since 2024-01-01 --until 2024-12-31 \\",
                         "    --columns id,status,total,currency,created,shipped,returned \\",
                         "    --output orders-2024.csv --split 1000000 --compress gzip --quiet",
                         "Exported 1,204,331 orders to orders-2024.csv.gz (2 files)", "```"])


def test_a_how_to_answer_quotes_the_sentence_that_introduces_the_code_and_the_whole_code():
    answer = _compose("How do I export orders to CSV from the command line?",
                      f"{EXPORT_INTRO}\n{EXPORT_CODE}\nThe columns option takes any field of an order.")
    assert "To export orders to CSV from the command line, run the exporter like this:\n" + EXPORT_CODE in answer


def test_a_stretch_never_ends_on_a_sentence_that_announces_a_block_too_long_to_follow():
    long_code = "\n".join(["```"] + [f"$ acme export orders --format csv --shard {n} --of 40 --output part-{n}.csv"
                                     for n in range(40)] + ["```"])
    answer = _compose("How long is an export kept, and when is it split into several files?",
                      f"{EXPORT_INTRO}\n{long_code}")
    assert answer.endswith("numbered in order."), answer
    assert "kept for thirty days" in answer and "--shard" not in answer


def test_between_sentences_sharing_the_same_words_the_one_whose_meaning_answers_is_quoted():
    from botplot.knowledge.embeddings import MiniLMEmbedder

    content = ("A returned item is checked at our warehouse on the day it arrives there. "
               "For a returned item, refunds go to the card you paid with within five days.")
    passage = Passage("c0", "s1", "https://acme.example/returns", "Returns — Acme", "Returns", content, 1.0)
    question = AnswerInput("How do I get my money back for a returned item?", "Acme", None, [passage])
    by_words, by_meaning = ExtractiveResponder(), ExtractiveResponder(MiniLMEmbedder())
    by_words.budget_words = by_meaning.budget_words = 15  # one sentence at a time
    assert by_words.compose(question).endswith("the day it arrives there.")  # the words tie: the first wins
    assert by_meaning.compose(question).endswith("refunds go to the card you paid with within five days.")


def test_a_how_to_question_prefers_the_stretch_with_the_code_to_prose_sharing_more_of_its_words():
    content = ("Orders can be exported to CSV from the command line or from the account page, as suits you.\n"
               "Some customers schedule it nightly.\n```\n$ acme export orders --format csv\n```")
    responder = ExtractiveResponder()
    responder.budget_words = 20  # the first sentence alone, or the second with the code
    how = responder.compose(AnswerInput("How do I export orders to CSV from the command line?", "Acme", None,
                                        [Passage("c0", "s1", "https://acme.example/cli", "CLI — Acme", "", content, 1.0)]))
    assert how.endswith("Some customers schedule it nightly.\n```\n$ acme export orders --format csv\n```"), how
    can = responder.compose(AnswerInput("Can orders be exported to CSV from the command line?", "Acme", None,
                                        [Passage("c0", "s1", "https://acme.example/cli", "CLI — Acme", "", content, 1.0)]))
    assert can.endswith("from the account page, as suits you."), can  # not asking how: the words decide


def test_a_list_of_short_names_that_each_resemble_the_question_does_not_outweigh_the_sentence_that_answers():
    from botplot.knowledge.embeddings import MiniLMEmbedder

    # a module index: every entry names the product the question names, so each is close to it in meaning
    index = "\n".join(["a", "acme"] + [f"acme.{module}" for module in
                                       "cli config export orders returns invoices hooks log main prompt replay utils".split()])
    features = ("Acme is free software under the BSD licence.\nAcme runs on Linux, macOS and Windows.\n"
                "It needs Python 3.8 or later; Python 3.12 is tested too.\nTemplates may be written in any language.")
    answer = ExtractiveResponder(MiniLMEmbedder()).compose(AnswerInput(
        "Which Python versions does acme run on?", "Acme", None, [
            Passage("c1", "s1", "https://acme.example/modules", "Module Index — Acme", "Module Index", index, 1.0),
            Passage("c0", "s2", "https://acme.example/", "Acme — Acme", "Features", features, 0.9)]))
    assert answer.startswith("According to “Acme”:") and "It needs Python 3.8 or later" in answer, answer
    assert "acme.cli" not in answer
