"""The benchmark corpora and their questions, as the retrieval benchmark relies on them."""

import json
import shutil
import tarfile

import pytest

from bench.corpus import CORPORA, HERE, off_topic, questions, unpack


@pytest.fixture(params=CORPORA, ids=lambda corpus: corpus.name)
def corpus_root(request):
    root = unpack(request.param)
    yield request.param, root
    shutil.rmtree(root.parent)


def question_sets(corpus, root) -> dict[str, list[dict]]:
    """The corpus's question sets: dev (none for a held-out corpus) and held-out (a dev corpus may have
    none yet, as cookiecutter's); ``questions`` raises if a fact is not on its page."""
    sets = {}
    if not corpus.held_out:
        sets["dev"] = questions(corpus, root)
    if corpus.heldout_questions_path.exists():
        sets["held-out"] = questions(corpus, root, heldout=True)
    return sets


def test_every_fact_is_stated_on_the_page_its_question_names(corpus_root):
    corpus, root = corpus_root
    sets = question_sets(corpus, root)
    assert sets
    for label, items in sets.items():
        assert len(items) >= 40
        assert all((root / item["page"]).is_file() for item in items)
        assert len({item["q"] for item in items}) == len(items)
        # spread over the corpus, not one page (Requests' dev set: 11 of its 18 pages)
        assert len({item["page"] for item in items}) >= (15 if label == "held-out" else 10)


def test_a_held_out_corpus_has_only_held_out_questions_and_near_topic_off_topic_ones():
    held_out = [corpus for corpus in CORPORA if corpus.held_out]
    assert held_out
    for corpus in held_out:
        assert corpus.questions_path == corpus.heldout_questions_path
        assert not (HERE / "data" / f"{corpus.name}_questions.json").exists()
        assert len(json.loads(corpus.off_topic_path.read_text())) >= 8
        assert set(json.loads(corpus.off_topic_path.read_text())) <= set(off_topic(corpus))


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda corpus: corpus.name)
def test_a_corpus_tarball_holds_html_pages_and_its_licence_only(corpus):
    with tarfile.open(HERE / "corpus" / corpus.tarball) as archive:
        files = [member.name for member in archive.getmembers() if member.isfile()]
    assert f"{corpus.directory}/COPYRIGHT" in files
    assert all(name.startswith(corpus.directory + "/") for name in files)
    assert all(name.endswith(".html") for name in files if not name.endswith("/COPYRIGHT"))
    assert not any("/_modules/" in name or "/_static/" in name for name in files)

# Sphinx's search page is reached through a form, its indexes and 404 page through no link at all
SPHINX_NAVIGATION = {"search.html", "genindex.html", "py-modindex.html", "404.html"}
# Flask 2.2's docs keep the jQuery pattern page out of every table of contents
ORPHAN_PAGES = {"flask": {"patterns/jquery.html"}}


def test_every_page_of_a_corpus_is_linked_from_its_index_page_as_the_crawler_starts_there(corpus_root):
    """The benchmark crawls from ``index.html`` by following links; a page no link reaches is never
    ingested, so its questions could not be answered (the Exim manual is not Sphinx: its chapters are
    reached only through the table of contents)."""
    from urllib.parse import urldefrag, urljoin

    from bs4 import BeautifulSoup

    corpus, root = corpus_root
    site = "http://corpus/"
    reached, frontier = {"index.html"}, ["index.html"]
    while frontier:
        page = frontier.pop()
        soup = BeautifulSoup((root / page).read_text(errors="replace"), "html.parser")
        for anchor in soup.find_all("a", href=True):
            url = urldefrag(urljoin(site + page, anchor["href"]))[0]
            target = url.removeprefix(site)
            if url.startswith(site) and target not in reached and (root / target).is_file():
                reached.add(target)
                frontier.append(target)
    pages = {str(path.relative_to(root)) for path in root.rglob("*.html")}
    assert pages - reached - SPHINX_NAVIGATION <= ORPHAN_PAGES.get(corpus.name, set())
    asked = {item["page"] for items in question_sets(corpus, root).values() for item in items}
    assert asked <= reached


def test_the_site_server_serves_the_corpus_from_its_own_process_and_stops_when_closed(tmp_path):
    """The crawl benchmarks' website runs outside the crawler's process (its CPU and lock are not
    the crawl's) and does not outlive the benchmark."""
    import os
    import urllib.request

    from bench.corpus import SiteServer

    (tmp_path / "index.html").write_text("<h1>Hello</h1>")
    site = SiteServer(tmp_path)
    try:
        assert site.process.pid != os.getpid()
        with urllib.request.urlopen(f"{site.url}/index.html", timeout=10) as response:
            assert response.read() == b"<h1>Hello</h1>"
    finally:
        site.close()
    assert site.process.returncode == 0
