"""Offline answers read like the page: code and lists keep their lines, images say nothing, and
the 80-word cut falls between sentences or blocks, never inside code."""

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
    assert len(quoted.split()) <= ExtractiveResponder.budget_words
    assert quoted.count("```") % 2 == 0  # never inside a code block
    assert re.search(r"[.!?:]$", quoted), quoted  # ends where a sentence or block ends
    assert "archive keeps invoices" in quoted
