"""The end-to-end path with the SSRF guard on, as in AWS (the shared local stack turns it off for
127.0.0.1): a stack in a private network namespace crawls a site on a public address and answers
from it, and refuses every private target (see tests/support/guarded_stack_scenario.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parents[1] / "support" / "guarded_stack_scenario.py"


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    if not shutil.which("unshare"):
        pytest.skip("unshare is not available: no private network namespace for this test")
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {probe.stderr.decode().strip()}")
    env = {**os.environ, "GUARDED_STATE_DIR": str(tmp_path_factory.mktemp("guarded"))}
    result = subprocess.run(["unshare", "-rn", sys.executable, str(SCENARIO)], capture_output=True, text=True,
                            timeout=240, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_public_site_is_crawled_and_answered_from(outcome):
    assert outcome["results"]["source public"] == {"status": "ready", "error": None}
    answer = outcome["results"]["answer"]
    assert "9am to 6pm" in answer["response"] and answer["sources"] >= 1


def test_private_sources_fail_with_the_guards_reason_and_reach_nothing(outcome):
    for name in ("loopback", "private name", "redirect"):
        source = outcome["results"][f"source {name}"]
        assert source["status"] == "failed" and "not a public address" in source["error"], (name, source)
    assert outcome["private_hits"] == []


def test_webhooks_need_https_and_a_public_address(outcome):
    results = outcome["results"]
    assert results["webhook public"] == 200
    assert [results[f"webhook {n}"] for n in ("loopback", "private name", "http")] == ["INVALID_WEBHOOK_URL"] * 3
