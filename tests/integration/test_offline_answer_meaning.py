"""The offline answer's choice of stretch when the embedder behind it fails: the question's words
alone choose, and the visitor still gets an answer (README "Answers", step 3). The embedder is
OpenAI's, served by the local fake, which answers 500 to the embedding requests it is told to fail."""

from __future__ import annotations

import pytest

from botplot.llm.context import AnswerInput, Passage
from botplot.llm.responders import ExtractiveResponder

CONTENT = ("A returned item is checked at our warehouse on the day it arrives there. "
           "For a returned item, refunds go to the card you paid with within five days.")


@pytest.fixture
def openai_embedder(monkeypatch):
    from tests.support.fake_openai import FakeOpenAI

    fake = FakeOpenAI()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-offline-answers")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    from botplot.config import reload_settings
    from botplot.knowledge.embeddings import OpenAIEmbedder

    reload_settings()
    yield fake, OpenAIEmbedder("text-embedding-3-small")
    fake.close()
    monkeypatch.undo()
    reload_settings()


def test_a_failing_embedder_leaves_the_choice_to_the_words(openai_embedder):
    fake, embedder = openai_embedder
    passage = Passage("c0", "s1", "https://acme.example/returns", "Returns — Acme", "Returns", CONTENT, 1.0)
    question = AnswerInput("How do I get my money back for a returned item?", "Acme", None, [passage])
    responder = ExtractiveResponder(embedder)
    responder.budget_words = 15  # one sentence at a time
    fake.embedding_failures = 3  # every attempt of the one embedding call
    assert responder.compose(question) == ("According to “Returns”: A returned item is checked at our warehouse "
                                           "on the day it arrives there.")
    assert len(fake.embedding_requests) == 3  # it was asked, and failed each time
