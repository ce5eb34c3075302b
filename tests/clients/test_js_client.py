"""The JavaScript client (clients/js): its committed build is what its sources and openapi.yaml
build, it has a method for every operation of openapi.yaml, and its own tests (Node's test runner,
clients/js/test/) pass against the local stack."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.site import Site, store_site

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "clients" / "js"
BIN = JS / "node_modules" / ".bin"


@pytest.fixture(scope="module")
def node():
    problem = None
    if not shutil.which("node"):
        problem = "Node.js is not installed"
    elif not (BIN / "tsc").exists():
        problem = "clients/js/node_modules is missing (make js-deps)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"JS client tests need what is missing: {problem}")
        pytest.skip(f"JS client tests skipped: {problem}")
    return shutil.which("node")


def run(*args: str, cwd: Path = JS, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def operations() -> set[str]:
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return {f"{method.upper()} {path}" for path, ops in doc["paths"].items() for method in ops}


def test_the_committed_build_is_what_the_sources_build(node, tmp_path):
    """clients/js/dist (served by `make run`, used without Node) must not drift from src/ and openapi.yaml:
    after changing either, run `make clients` and commit the result."""
    run(str(BIN / "openapi-typescript"), "../../openapi.yaml", "--default-non-nullable", "false",
        "--output", str(tmp_path / "schema.ts"))
    assert (tmp_path / "schema.ts").read_text() == (JS / "src" / "schema.ts").read_text(), \
        "src/schema.ts is older than openapi.yaml: run `make clients`"
    run(str(BIN / "tsc"), "-p", "tsconfig.json", "--outDir", str(tmp_path / "dist"))
    run(str(BIN / "tsc"), "-p", "tsconfig.widget.json")
    built = run(node, "build-widget.mjs", str(tmp_path / "dist" / "widget.js")).stdout
    print(built)  # the widget's size, as served gzipped
    fresh = sorted(p.relative_to(tmp_path / "dist") for p in (tmp_path / "dist").rglob("*") if p.is_file())
    committed = sorted(p.relative_to(JS / "dist") for p in (JS / "dist").rglob("*") if p.is_file())
    assert fresh == committed
    for name in fresh:
        assert (tmp_path / "dist" / name).read_bytes() == (JS / "dist" / name).read_bytes(), \
            f"dist/{name} is not what the sources build: run `make clients`"


def test_every_operation_of_openapi_has_a_client_method(node):
    """OPERATIONS is also typed as a Record over the generated paths, so tsc fails first; this checks
    the runtime table and that each named method exists."""
    script = ("import { BotPlot, OPERATIONS } from './dist/index.js';"
              "const c = new BotPlot({ apiKey: 'pk_x', baseUrl: 'http://127.0.0.1:9' });"
              "const missing = Object.entries(OPERATIONS).filter(([, m]) => {"
              "  const [group, name] = m.split('.'); return typeof c[group]?.[name] !== 'function'; });"
              "console.log(JSON.stringify({ operations: Object.keys(OPERATIONS), missing }));")
    out = json.loads(run(node, "--input-type=module", "-e", script).stdout)
    assert set(out["operations"]) == operations()
    assert out["missing"] == []


def test_the_js_clients_own_tests_pass_against_the_local_stack(node, stack, project):
    small = stack.new_project("pro", "JS client quota")  # 5 calls a month on the shared stack
    with Site(store_site()) as site:
        result = subprocess.run(
            [node, "--test", "--test-reporter=spec", "test/"], cwd=JS, capture_output=True, text=True, timeout=240,
            env={**os.environ, "BOTPLOT_API_URL": stack.url, "BOTPLOT_PROJECT_ID": project["projectId"],
                 "BOTPLOT_PUBLIC_KEY": project["publicKey"], "BOTPLOT_SECRET_KEY": project["secretKey"],
                 "BOTPLOT_SMALL_PUBLIC_KEY": small["publicKey"], "BOTPLOT_SITE_URL": site.url})
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
