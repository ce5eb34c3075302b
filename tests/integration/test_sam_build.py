"""`sam build` produces every function and layer (arm64, python3.12), within size budgets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from botplot_dev import template as tpl

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(1200)  # sam build (in the first test's setup) takes minutes on a busy machine


@pytest.fixture(scope="module")
def build_dir(sam_build_dir) -> Path:
    return sam_build_dir


def test_every_function_and_layer_is_built(build_dir):
    built = {p.name for p in build_dir.iterdir() if p.is_dir()}
    expected = set(tpl.resources("AWS::Serverless::Function")) | set(tpl.resources("AWS::Serverless::LayerVersion"))
    assert expected <= built


def test_layers_leave_boto3_to_the_runtime_and_share_no_package(build_dir):
    layers = {name: {p.name for p in (build_dir / name / "python").iterdir() if p.name != "__pycache__"}
              for name in tpl.resources("AWS::Serverless::LayerVersion")}
    assert {"botplot", "pydantic", "fastapi", "pynamodb", "dns"} <= layers["CoreLayer"]
    assert {"openai", "tiktoken", "opensearchpy"} <= layers["AiLayer"]
    assert {"bs4", "pypdf"} <= layers["CrawlLayer"] and "uvicorn" in layers["ServerLayer"]
    # what the runtime ships (packages, or single-file modules such as six.py) is never shipped again
    runtime = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"}
    for name, packages in layers.items():
        assert not runtime & packages, (name, runtime & packages)
        for other, other_packages in layers.items():
            assert name == other or not packages & other_packages, (name, other, packages & other_packages)
    assert (build_dir / "CoreLayer/python/botplot/knowledge/data/tiktoken").is_dir()


def test_layers_ship_bytecode_that_lambda_can_use_without_writing(build_dir):
    """/opt is read-only: hash-checked .pyc files are what keeps imports from compiling."""
    compiled = list((build_dir / "CoreLayer" / "python" / "fastapi" / "__pycache__").glob("*.cpython-312.pyc"))
    assert compiled, "no CPython 3.12 bytecode in the core layer"
    flags = int.from_bytes(compiled[0].read_bytes()[4:8], "little")
    assert flags & 0b01 and not flags & 0b10  # hash-based, unchecked: valid whatever the file times


def test_chat_function_carries_its_web_adapter_entry_point(build_dir):
    run = build_dir / "ChatFunction" / "run.sh"
    assert run.exists() and os.access(run, os.X_OK)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def function_sizes(build_dir: Path) -> dict[str, tuple[int, list[str]]]:
    """Unzipped bytes of each function's code plus the layers the template gives it."""
    template = tpl.load()
    global_layers = template["Globals"]["Function"].get("Layers", [])
    sizes = {}
    for name, resource in tpl.resources("AWS::Serverless::Function").items():
        layers = [layer["Ref"] for layer in global_layers + resource["Properties"].get("Layers", [])
                  if isinstance(layer, dict) and "Ref" in layer]
        sizes[name] = (_size(build_dir / name) + sum(_size(build_dir / layer) for layer in layers), layers)
    return sizes


AI_BUDGET = {"ChatFunction", "KnowledgeFunction", "CrawlWorkerFunction"}


def test_every_function_fits_its_size_budget(build_dir):
    sizes = function_sizes(build_dir)
    for name, (size, layers) in sorted(sizes.items()):
        budget = 80 if name in AI_BUDGET else 30
        print(f"{name:24s} {size / 1e6:6.1f} MB unzipped with {', '.join(layers)} (budget {budget} MB)")
        assert size < budget * 1_000_000, f"{name} is {size / 1e6:.1f} MB, over its {budget} MB budget"
