"""`sam build` produces every function and layer (arm64, python3.12), within size budgets."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from botplot_dev import template as tpl

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-tools" / "bin" / "sam"


def _runs(python: str) -> bool:
    try:
        return subprocess.run([python, "--version"], capture_output=True, timeout=30).returncode == 0
    except OSError:
        return False


def _python312_path() -> str | None:
    """PATH with a working python3.12 first (pyenv's shim alone fails when 3.12 is not selected)."""
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    for candidate in sorted(Path(pyenv_root, "versions").glob("3.12*/bin")):
        if _runs(str(candidate / "python3.12")):
            return f"{candidate}{os.pathsep}{os.environ['PATH']}"
    found = shutil.which("python3.12")
    return os.environ["PATH"] if found and _runs(found) else None


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    if not SAM.exists():
        pytest.skip(f"{SAM} missing: run `make test` (it installs the tools venv)")
    path = _python312_path()
    if path is None:
        print("SKIP sam build: python3.12 is not on PATH (nor in pyenv); sam needs it for the python3.12 runtime")
        pytest.skip("python3.12 is not on PATH: sam build needs it for the python3.12 runtime")
    out = tmp_path_factory.mktemp("sam-build")
    result = subprocess.run([str(SAM), "build", "--build-dir", str(out)], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PATH": path, "SAM_CLI_TELEMETRY": "0"}, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_every_function_and_layer_is_built(build_dir):
    built = {p.name for p in build_dir.iterdir() if p.is_dir()}
    expected = set(tpl.resources("AWS::Serverless::Function")) | set(tpl.resources("AWS::Serverless::LayerVersion"))
    assert expected <= built


def test_layers_leave_boto3_to_the_runtime_and_share_no_package(build_dir):
    core = {p.name for p in (build_dir / "CoreLayer" / "python").iterdir()}
    ai = {p.name for p in (build_dir / "AiLayer" / "python").iterdir()}
    assert "botplot" in core and "pydantic" in core and "openai" in ai and "tiktoken" in ai
    assert not {"boto3", "botocore"} & (core | ai)
    assert not core & ai, f"packages in both layers: {core & ai}"
    assert (build_dir / "CoreLayer/python/botplot/knowledge/data/tiktoken").is_dir()


def test_chat_function_carries_its_web_adapter_entry_point(build_dir):
    run = build_dir / "ChatFunction" / "run.sh"
    assert run.exists() and os.access(run, os.X_OK)
    assert (build_dir / "ChatFunction" / "uvicorn").is_dir()
