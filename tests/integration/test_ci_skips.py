"""In CI (``CI=true``) a test whose prerequisite is missing fails instead of skipping (the hook in
tests/conftest.py); for a newcomer without it, it is a skip that says what is missing. Checked on the
tests the suite would otherwise pass silently without (the network-namespace SSRF tests, the
end-to-end run with the SSRF guard on, `sam build`'s size budgets, the Node webhook verifier): each is
run by pytest with its prerequisite hidden (PATH reduced to this venv's bin, pyenv's root emptied, so
no node, unshare or python3.12 is found), once with ``CI=true`` and once without."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: test -> what its skip says is missing (the sam case: python3.12, or the tools venv on a machine without it)
HIDDEN = {
    "tests/e2e/test_webhooks.py::test_the_node_snippet_accepts_every_delivery_including_unicode_and_numbers":
        ("Node.js is not on this machine",),
    "tests/integration/test_ssrf_network.py::test_nothing_reaches_the_private_server":
        ("unshare is not available",),
    "tests/e2e/test_ssrf_guard_on.py::test_a_public_site_is_crawled_and_answered_from":
        ("unshare is not available",),
    "tests/integration/test_sam_build.py::test_every_function_fits_its_size_budget":
        ("python3.12 is not on PATH", "bin/sam missing"),
}


def _outcomes(ci: bool, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """test id -> (outcome, message) of one pytest run of every HIDDEN test (a skip turned failure in
    its set-up is an error in the JUnit report)."""
    report = tmp_path / f"ci-{ci}.xml"
    env = {**os.environ, "PATH": str(Path(sys.executable).parent), "PYENV_ROOT": str(tmp_path / "no-pyenv"),
           "CI": "true" if ci else "", "PYTHONDONTWRITEBYTECODE": "1"}
    for name in [n for n in env if n.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))]:
        del env[name]
    run = subprocess.run([sys.executable, "-m", "pytest", *HIDDEN, "-p", "no:xdist", f"--junitxml={report}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == (1 if ci else 0), run.stdout[-3000:] + run.stderr[-3000:]
    outcomes = {}
    for case in ElementTree.parse(report).iter("testcase"):
        test = f"{case.get('classname').replace('.', '/')}.py::{case.get('name')}"
        found = [(child.tag, child.get("message", "")) for child in case if child.tag in ("skipped", "failure", "error")]
        outcomes[test] = found[0] if found else ("passed", "")
    return outcomes


def test_a_missing_prerequisite_fails_in_ci_and_is_a_clear_skip_elsewhere(tmp_path):
    in_ci, newcomer = _outcomes(True, tmp_path), _outcomes(False, tmp_path)
    assert set(in_ci) == set(newcomer) == set(HIDDEN)
    for test, reasons in HIDDEN.items():
        outcome, message = in_ci[test]
        assert outcome == "error" and "skipped in CI" in message and any(r in message for r in reasons), \
            (test, in_ci[test])
        outcome, message = newcomer[test]
        assert outcome == "skipped" and any(r in message for r in reasons), (test, newcomer[test])

