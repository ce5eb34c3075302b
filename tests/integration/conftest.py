"""`sam build`'s output, built once per session for the tests that inspect it (build sizes, the
twin's same-packages check)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from botplot_dev.twin.build import python312

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-tools" / "bin" / "sam"


@pytest.fixture(scope="session")
def sam_build_dir(tmp_path_factory) -> Path:
    if not SAM.exists():
        pytest.skip(f"{SAM} missing: run `make test` (it installs the tools venv)")
    python = python312()
    if python is None:
        print("SKIP sam build: python3.12 is not on PATH (nor in pyenv); sam needs it for the python3.12 runtime")
        pytest.skip("python3.12 is not on PATH: sam build needs it for the python3.12 runtime")
    out = tmp_path_factory.mktemp("sam-build")
    path = f"{python.parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run([str(SAM), "build", "--build-dir", str(out)], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PATH": path, "SAM_CLI_TELEMETRY": "0"}, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out
