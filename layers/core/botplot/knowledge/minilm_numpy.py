"""all-MiniLM-L6-v2 run with numpy: the offline embedder's encoder when ONNX Runtime is absent.

``embeddings.MiniLMEmbedder`` tokenizes, groups and pools; this holds the float32 weights and
encodes a group of tokenized texts. Written for a crawl's thousands of chunks on a small machine:

- no padding: a group's texts are packed into one matrix of their real tokens, so the dense
  products (nine tenths of the work) never compute a padded row; attention runs per text, on
  its own length, so it needs no mask;
- the products after attention run on tiles of rows, large enough for the products to run at
  full speed, small enough that the GELU's and layer norms' passes (memory-bound) find their
  rows in the cache;
- constants are folded into the weights once: the attention scale into the query's weights,
  GELU's 1/2 into the output weights; GELU uses the tanh approximation (vectors agree with the
  exact model's to a cosine above 0.9999, which ``tests/unit/test_minilm.py`` checks).
"""

from __future__ import annotations

from pathlib import Path


class NumpyMiniLM:
    """The encoder, float32 throughout."""

    #: rows per tile of the part after attention (its 1,536-wide activations stay in the cache)
    tile_rows = 512
    _heads, _head_size, _hidden = 12, 32, 384

    def __init__(self, weights_path: Path):
        import numpy as np
        from safetensors.numpy import load_file
        from threadpoolctl import threadpool_limits

        self.np = np
        w = load_file(str(weights_path))
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
        # OpenBLAS's own threads spin-wait between the many small products of attention: on a busy
        # 2-core machine that made encoding ~40x slower (and starved every other process). One
        # BLAS thread per group, and groups encoded side by side on the cores instead.
        threadpool_limits(1, user_api="blas")

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

    def encode(self, ids: list[list[int]]):
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
