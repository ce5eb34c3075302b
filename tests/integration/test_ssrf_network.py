"""The SSRF guard on a real network: in a private network namespace, a public address serves
redirects to private targets and a DNS server changes its answers between lookups. Nothing ever
reaches the private server (see tests/support/ssrf_scenarios.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).resolve().parents[1] / "support" / "ssrf_scenarios.py"


@pytest.fixture(scope="module")
def outcome():
    if not shutil.which("unshare"):
        pytest.skip("unshare is not available: no private network namespace for this test")
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {probe.stderr.decode().strip()}")
    result = subprocess.run(["unshare", "-rn", sys.executable, str(SCENARIOS)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_nothing_reaches_the_private_server(outcome):
    assert outcome["private_hits"] == []


@pytest.mark.parametrize("kind", ["direct", "webhook", "redirect"])
def test_every_private_spelling_and_redirect_is_refused(outcome, kind):
    cases = {name: result for name, result in outcome["results"].items() if name.startswith(kind)}
    assert len(cases) >= 8
    assert all(result.startswith("refused") for result in cases.values()), cases


def test_a_public_page_is_fetched_and_rebinding_cannot_redirect_the_connection(outcome):
    assert outcome["results"]["public page"] == "fetched 200"
    # the first lookup said public: that address was connected to; the next said private: refused
    assert outcome["results"]["rebind crawl"].startswith("pages 1, failed [\"refused: 'rebind.test' resolves to "
                                                         "127.0.0.1")
