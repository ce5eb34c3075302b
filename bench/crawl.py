"""A site's first crawl, stage by stage, today's pipeline against an earlier revision's.

`python -m bench crawl` (or `python -m bench.crawl [corpus] [--repeat N] [--used]`; default flask, once;
``--repeat 0`` only the interleaved stages; ``--used`` today's embedder only in the runtime a crawl
uses, not the others beside it).

First the stages that changed, interleaved in one process so that the machine's load weighs on
both alike: the corpus's pages extracted by the baseline's extractor and by today's, page by page
alternately, and the crawl's chunk texts embedded by the baseline's MiniLM embedder and by
today's (each runtime where ONNX Runtime is installed: numpy, ONNX float32, ONNX int8; the one a
crawl uses is marked), 32 texts at a time alternately; CPU seconds of each, and their ratio.

Then whole first crawls: the corpus is served as a local website and crawled by the real worker code (``crawl_source``:
crawler, extractor, chunker, offline MiniLM embedder, embedded SQLite index, page records in moto)
for a new source of a new project: a first crawl, where every chunk is embedded. The same run
crawls it with the code of ``BOTPLOT_BENCH_BASELINE`` (a git revision, by default the one before
the crawl was made faster) and with the working tree, alternately, each in a fresh interpreter, and
prints pages/s and the seconds of every stage for both, and their ratios. Stages are summed over
the threads that ran them (four fetchers; embedding side by side with the crawl where the pipeline
does that), so they can add up to more than the wall time. "encoder blocked (GIL)" is the time the
encoder's calls were off the CPU without waiting for a core (from the threads' schedstat): taking
the GIL back from the crawl's Python threads.

The machine's load average is printed with the figures: on a shared machine absolute times move
with it, the ratios (measured minutes apart) much less.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import time
from contextlib import contextmanager
from pathlib import Path

from bench.support import scratch

ROOT = Path(__file__).resolve().parent.parent
#: main before this round of ingestion work: the per-slice embedding with padded batches of 16
BASELINE = os.environ.get("BOTPLOT_BENCH_BASELINE", "4d1c359")
STAGES = ["fetch", "extract", "chunk", "embed", "index", "page records", "crawl (fetch + extract)",
          "encoder blocked (GIL)"]


def _targets():
    """(owner, attribute, stage) of what is timed; each revision's code has them all."""
    from pynamodb.models import BatchWrite

    from botplot.knowledge import crawler, embeddings, ingest
    from botplot.knowledge.index import default_index
    from botplot.net.fetch import Fetcher

    return [(Fetcher, "request", "fetch"), (crawler, "extract_html", "extract"), (ingest, "chunk_page", "chunk"),
            (embeddings.MiniLMEmbedder, "embed", "embed"), (type(default_index()), "upsert", "index"),
            (ingest.Page, "save", "page records"), (BatchWrite, "commit", "page records"),
            (crawler.Crawler, "crawl", "crawl (fetch + extract)")]


def _schedstat() -> tuple[float, float]:
    """(on-CPU, waiting in the run queue) seconds of the calling thread."""
    with open("/proc/thread-self/schedstat") as stat:
        on_cpu, queued, _ = stat.read().split()
    return int(on_cpu) / 1e9, int(queued) / 1e9


@contextmanager
def encoder_blocked(encoder, seconds: dict):
    """Adds to ``seconds["encoder blocked (GIL)"]`` the time the encoder's calls spent neither on a
    core nor waiting for one: waiting for Python's GIL on return from the runtime (load-independent,
    unlike wall time). Linux only, and only for revisions whose embedder has an ``encoder``."""
    if encoder is None or not os.path.exists("/proc/thread-self/schedstat"):
        yield
        return
    original = type(encoder).encode

    def encode(self, ids):
        (cpu, queued), started = _schedstat(), time.perf_counter()
        try:
            return original(self, ids)
        finally:
            wall, (cpu_after, queued_after) = time.perf_counter() - started, _schedstat()
            seconds["encoder blocked (GIL)"] += wall - (cpu_after - cpu) - (queued_after - queued)

    type(encoder).encode = encode
    try:
        yield
    finally:
        type(encoder).encode = original


def one_crawl(corpus_name: str) -> dict:
    """In this interpreter (whose ``botplot`` is the revision under test): one first crawl."""
    os.environ.update({"BOTPLOT_INDEX": "sqlite", "BOTPLOT_EMBEDDER": "minilm", "BOTPLOT_ALLOW_PRIVATE_TARGETS": "1",
                       "BOTPLOT_INDEX_PATH": str(scratch() / "index.sqlite")})
    from bench.corpus import CORPORA, SiteServer, unpack
    from bench.retrieval import StageTimer
    from bench.support import start_moto

    start_moto()
    import botplot
    from botplot.db.knowledge import Source
    from botplot.knowledge import ingest
    from botplot.knowledge.embeddings import default_embedder
    from botplot.services import knowledge
    from botplot.services.projects import create_project

    corpus = next(c for c in CORPORA if c.name == corpus_name)
    site = SiteServer(unpack(corpus))
    default_embedder().embed(["the model is loaded before the clock starts"])
    project, _ = create_project("crawl bench", "enterprise")
    source = knowledge.add_url(project.project_id, site.url + "/index.html", "manual")
    timer = StageTimer()
    load = os.getloadavg()[0]
    cpu, started = time.process_time(), time.perf_counter()
    with timer.wrapping(_targets()), encoder_blocked(getattr(default_embedder(), "encoder", None), timer.seconds):
        ingest.crawl_source(project.project_id, source.source_id, Source.get(project.project_id, source.source_id)
                            .crawl_job_id, time_budget=3600)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    site.close()
    report = json.loads(Source.get(project.project_id, source.source_id).crawl_report)
    return {"code": str(Path(botplot.__file__).parent), "pages": report["counts"]["added"],
            "chunks": report["chunksEmbedded"], "seconds": seconds, "cpu": cpu,
            "load": [load, os.getloadavg()[0]], "stages": dict(timer.seconds)}


def _module(name: str, path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _baseline_embedder(baseline_code: Path):
    """The baseline's MiniLM embedder (the runtime it picks by default) with its own encoder
    modules: its ONNX graph and session options, not today's under its name."""
    knowledge = baseline_code / "botplot" / "knowledge"
    saved = {}
    for name in ("minilm_numpy", "minilm_onnx"):
        if (knowledge / f"{name}.py").exists():
            full = f"botplot.knowledge.{name}"
            saved[full] = sys.modules.get(full)
            sys.modules[full] = _module(f"baseline_{name}", knowledge / f"{name}.py")
    try:
        return _module("baseline_embeddings", knowledge / "embeddings.py").MiniLMEmbedder()
    finally:
        for full, module in saved.items():
            if module is None:
                sys.modules.pop(full, None)
            else:
                sys.modules[full] = module


def stage_ratios(corpus_name: str, baseline_code: Path, used_only: bool = False) -> None:
    """Extraction and embedding, baseline and today alternately, in CPU seconds of this process
    (``used_only``: today's embedder only in the runtime a crawl uses)."""
    from bench.corpus import CORPORA, unpack
    from botplot.knowledge import embeddings, extract
    from botplot.knowledge.chunking import chunk_page, index_text, sizes_for

    corpus = next(c for c in CORPORA if c.name == corpus_name)
    root = unpack(corpus)
    old_extract = _module("baseline_extract", baseline_code / "botplot" / "knowledge" / "extract.py")
    cpu = {"extract": [0.0, 0.0]}
    texts = []
    for path in sorted(root.rglob("*.html")):
        html, url = path.read_text(errors="replace"), "http://corpus/" + str(path.relative_to(root))
        for n, function in enumerate((old_extract.extract_html, extract.extract_html)):
            started = time.process_time()
            page = function(html, url)
            cpu["extract"][n] += time.process_time() - started
        texts += [index_text(page.title, c.heading, c.content)
                  for c in chunk_page(page.title, page.blocks, sizes_for(embeddings.MiniLMEmbedder.max_tokens))]
    old_embedder = _baseline_embedder(baseline_code)
    default = embeddings.MiniLMEmbedder()  # the runtime a crawl uses here
    today = {default.runtime: default}
    if embeddings._onnx_available() and not used_only:  # and the others, for comparison
        today.update({r: embeddings.MiniLMEmbedder(r) for r in ("numpy", "fp32", "int8") if r not in today})
    embedders = [("baseline", old_embedder), *today.items()]
    for _, embedder in embedders:
        embedder.embed(["warm up", "the model"])
    embed_cpu = dict.fromkeys([name for name, _ in embedders], 0.0)
    load = os.getloadavg()[0]
    for start in range(0, len(texts), 32):
        for name, embedder in embedders:
            started = time.process_time()
            embedder.embed(texts[start:start + 32])
            embed_cpu[name] += time.process_time() - started
    print(f"stages interleaved in one process, CPU seconds ({len(texts)} chunks; load average {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f}):")
    old, new = cpu["extract"]
    print(f"  {'extract':22s} baseline {old:7.1f}   today {new:7.1f}   {old / new:5.2f}x")
    for runtime in today:
        label = f"embed, {runtime}" + (" (used)" if runtime == default.runtime else "")
        old, new = embed_cpu["baseline"], embed_cpu[runtime]
        print(f"  {label:22s} baseline {old:7.1f}   today {new:7.1f}   {old / new:5.2f}x")


def _export(revision: str) -> Path:
    """The revision's ``layers/core`` (the botplot package) in a temporary folder."""
    target = scratch("botplot-baseline-")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision, "layers/core"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / "layers" / "core"


def _run(corpus: str, code: Path | None) -> dict:
    env = dict(os.environ)
    if code is not None:  # ahead of the editable install of the working tree
        env["PYTHONPATH"] = os.pathsep.join([str(code), str(ROOT)])
    out = subprocess.run([sys.executable, "-m", "bench.crawl", "--one", corpus], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        print(json.dumps(one_crawl(argv[1])))
        return
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 1
    corpus = next((a for a in argv if not a.startswith("--") and not a.isdigit()), "flask")
    baseline_code = _export(BASELINE)
    stage_ratios(corpus, baseline_code, used_only="--used" in argv)
    print(f"\nwhole first crawls of {corpus}, baseline ({BASELINE}) and today alternately, each in a fresh interpreter:")
    runs: dict[str, list[dict]] = {"baseline": [], "today": []}
    for n in range(repeat):
        for label, code in (("baseline", baseline_code), ("today", None)):
            result = _run(corpus, code)
            runs[label].append(result)
            print(f"  {label:8s} ({BASELINE if label == 'baseline' else 'working tree'}): {result['pages']} pages, "
                  f"{result['chunks']} chunks in {result['seconds']:.1f} s = {result['pages'] / result['seconds']:.2f} "
                  f"pages/s (process CPU {result['cpu']:.1f} s); load average {result['load'][0]:.1f} -> "
                  f"{result['load'][1]:.1f}", flush=True)
    if not repeat:
        return
    median = {label: {"seconds": statistics.median(r["seconds"] for r in rs), "pages": rs[0]["pages"],
                      "cpu": statistics.median(r["cpu"] for r in rs),
                      "stages": {s: statistics.median(r["stages"].get(s, 0.0) for r in rs) for s in STAGES}}
              for label, rs in runs.items()}
    old, new = median["baseline"], median["today"]
    print(f"\nfirst crawl of {corpus}, {old['pages']} pages (median of {repeat}); stage seconds summed over threads")
    print(f"{'':26s}{'baseline':>10s}{'today':>10s}{'ratio':>8s}")
    print(f"{'pages/s':26s}{old['pages'] / old['seconds']:10.2f}{new['pages'] / new['seconds']:10.2f}"
          f"{(new['pages'] / new['seconds']) / (old['pages'] / old['seconds']):7.2f}x")
    print(f"{'wall seconds':26s}{old['seconds']:10.1f}{new['seconds']:10.1f}{old['seconds'] / new['seconds']:7.2f}x")
    print(f"{'process CPU seconds':26s}{old['cpu']:10.1f}{new['cpu']:10.1f}{old['cpu'] / new['cpu']:7.2f}x")
    for stage in STAGES:
        a, b = old["stages"][stage], new["stages"][stage]
        ratio = f"{a / b:7.2f}x" if b > 0 else ""
        print(f"{stage:26s}{a:10.1f}{b:10.1f}{ratio}")


if __name__ == "__main__":
    main(sys.argv[1:])
