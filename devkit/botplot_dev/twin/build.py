"""The twin's artifacts: the template's layers built by their own Makefiles, and the runtime's SDK.

``sam build`` builds the layers for the template's arm64; this machine cannot import arm64 native
code (pydantic-core, tiktoken...), so the twin runs the same Makefile targets with
``WHEEL_ARCH=x86_64`` and the test checks that both builds hold the same packages at the same
versions. Builds are cached under ``.aws-sam/twin/<arch>/`` by a digest of what goes into them
(the layer's directory, the shared recipe and every layer's requirements), so a run rebuilds only
a layer whose inputs changed (editing ``botplot`` rebuilds the core layer only).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from botplot_dev import ROOT
from botplot_dev import template as tpl

CACHE = ROOT / ".aws-sam" / "twin"
WHEEL_ARCH = {"x86_64": "x86_64", "arm64": "aarch64"}
#: boto3 and botocore as the python3.12 Lambda runtime ships them (the layers leave them out), as we
#: read AWS's "Runtime-included SDK versions" table (Lambda developer guide, Python page); it could
#: not be re-read from the machine this was written on, so check it. The runtime updates them now
#: and then; a function that needs a newer one must ship its own.
RUNTIME_SDK = ("boto3==1.40.4", "botocore==1.40.4")


def _runs(python: Path) -> bool:
    try:
        return subprocess.run([str(python), "--version"], capture_output=True, timeout=30).returncode == 0
    except OSError:
        return False


def python312() -> Path | None:
    """CPython 3.12, the runtime's version: pyenv's first, else one on PATH."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in sorted(pyenv_root.glob("versions/3.12*/bin/python3.12")):
        if _runs(candidate):
            return candidate
    found = shutil.which("python3.12")
    return Path(found) if found and _runs(Path(found)) else None


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _layer_inputs(content: Path) -> list[Path]:
    return [content, ROOT / "layers" / "build-layer.mk", *sorted((ROOT / "layers").glob("*/requirements.txt"))]


def _build_env(python: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _install(out: Path, produce) -> Path:
    """Build into a scratch directory and rename it into place, so a half-built layer is never used."""
    if (out / ".built").exists():
        return out
    scratch = out.with_name(f"{out.name}.tmp{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    produce(scratch)
    (scratch / ".built").touch()
    for stale in out.parent.glob(out.name.rsplit("-", 1)[0] + "-*"):
        if stale.is_dir() and ".tmp" not in stale.name:
            shutil.rmtree(stale, ignore_errors=True)
    scratch.rename(out)
    return out


def build_layer(logical_id: str, arch: str, python: Path) -> Path:
    """``make build-<LogicalId>`` of the layer's ``ContentUri``, as ``sam build`` runs it."""
    content = ROOT / tpl.resources("AWS::Serverless::LayerVersion")[logical_id]["Properties"]["ContentUri"]

    def produce(target: Path) -> None:
        result = subprocess.run(["make", "--no-print-directory", "-C", str(content), f"build-{logical_id}",
                                 f"ARTIFACTS_DIR={target}", f"WHEEL_ARCH={WHEEL_ARCH[arch]}"],
                                env=_build_env(python), capture_output=True, text=True, timeout=900)
        if result.returncode:
            raise RuntimeError(f"building {logical_id} for {arch} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")

    return _install(CACHE / arch / f"{logical_id}-{_digest(_layer_inputs(content))}", produce)


def build_layers(arch: str, python: Path) -> dict[str, Path]:
    layers = list(tpl.resources("AWS::Serverless::LayerVersion"))
    with ThreadPoolExecutor(max_workers=2) as pool:  # pip mostly waits on the network and the disk
        built = list(pool.map(lambda name: build_layer(name, arch, python), layers))
    return dict(zip(layers, built))


def runtime_sdk(arch: str, python: Path) -> Path:
    """boto3 and botocore at the runtime's versions, with their dependencies (what /var/runtime holds)."""
    def produce(target: Path) -> None:
        w = WHEEL_ARCH[arch]
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--only-binary=:all:", "--implementation", "cp",
                        "--python-version", "3.12", "--platform", f"manylinux2014_{w}", "--platform",
                        f"manylinux_2_28_{w}", "--target", str(target), *RUNTIME_SDK],
                       env=_build_env(python), check=True, capture_output=True, timeout=600)

    key = hashlib.sha256(" ".join(RUNTIME_SDK).encode()).hexdigest()[:16]
    return _install(CACHE / arch / f"runtime-sdk-{key}", produce)


_DIST_INFO = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+)\.dist-info$")


def packages(directory: Path) -> dict[str, str]:
    """The distributions installed in a directory: normalised name -> version."""
    found = {}
    for entry in directory.glob("*.dist-info"):
        match = _DIST_INFO.match(entry.name)
        if match:
            found[re.sub(r"[-_.]+", "-", match["name"]).lower()] = match["version"]
    return found


if __name__ == "__main__":  # python -m botplot_dev.twin.build [arch]: build (or find) the layers
    arch = sys.argv[1] if len(sys.argv) > 1 else "x86_64"
    py = python312()
    if py is None:
        raise SystemExit("no CPython 3.12 found (pyenv versions or PATH)")
    for name, path in {**build_layers(arch, py), "runtime SDK": runtime_sdk(arch, py)}.items():
        print(f"{name:14s} {path.relative_to(ROOT)}")
