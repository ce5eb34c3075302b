"""The benchmark corpora and their held-out questions, as the retrieval benchmark relies on them."""

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


def test_every_held_out_fact_is_stated_on_the_page_its_question_names(corpus_root):
    corpus, root = corpus_root
    items = questions(corpus, root, heldout=True)  # raises if a fact is not on its page
    assert len(items) >= 40
    assert all((root / item["page"]).is_file() for item in items)
    assert len({item["q"] for item in items}) == len(items)
    assert len({item["page"] for item in items}) >= 15  # spread over the corpus, not one page


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
