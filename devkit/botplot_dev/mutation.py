"""`make mutation`: mutation testing (mutmut) of the modules where a silent bug costs customers
money, data or safety. Prints, per module, mutants killed / survived / timed out (and those no test
reaches), then lists the survivors.

mutmut 3 imports the package it mutates from ``./`` or ``src/``; ours lives in ``layers/core``. So
each module runs in a staging directory, ``.mutation/<module>/``, holding a copy of the package as
``src/botplot`` and of the tests: mutmut's mutated copy (``mutants/src/botplot``) is then the one the
tests import. Each module runs only the fast in-process tests that exercise it (every mutant runs
them again), never the end-to-end ones, whose stack would import the unmutated code.

``python -m botplot_dev.mutation [module ...]`` runs some; results are kept in
``.mutation/results.json`` so the table covers every module run so far. ``MUTATION_CHILDREN=n``
caps the mutants tested at once (default: one per CPU), for a machine shared with other work;
``MUTATION_TIME_LIMIT=s`` stops a module's run after s seconds and reports what was checked (marked
partial); ``--collect`` reports a module's last run from its stage without running it again;
``--resume`` continues a stopped run in its stage (its time is then the last leg's).

A mutant's session is kept cheap by :mod:`botplot_dev.mutation_session`: mutmut's fork server
collects the tests, provisions moto and imports the functions once before forking the sessions,
and the tests run fastest first. ``s/mutant`` in the table is the median of the sessions' seconds
(from mutmut's log, ``mutants/mutmut-debug.log``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGE = ROOT / ".mutation"
RESULTS = STAGE / "results.json"

#: module -> (files under layers/core/botplot to mutate, the tests that exercise them)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "quota": (["services/quota.py"],
              ["tests/integration/test_quota_rules.py", "tests/integration/test_quota_concurrency.py",
               "tests/integration/test_usage_claims.py"]),
    "auth": (["services/auth.py", "services/ttl_cache.py"],
             ["tests/integration/test_auth.py", "tests/unit/test_ttl_cache.py",
              "tests/integration/test_quota_rules.py"]),
    "ssrf-guard": (["net/ssrf.py"], ["tests/unit/test_ssrf.py", "tests/unit/test_ssrf_resolution.py"]),
    "fetch": (["net/fetch.py"], ["tests/integration/test_fetch.py", "tests/unit/test_ssrf.py"]),
    "webhook-signing": (["webhooks/signing.py"], ["tests/unit/test_webhook_signing.py"]),
    "webhook-delivery": (["webhooks/delivery.py"],
                         ["tests/integration/test_webhook_delivery.py", "tests/integration/test_faults.py"]),
    "ingest-resync": (["knowledge/ingest.py"], ["tests/integration/test_crawl_pipeline.py"]),
    "idle-close": (["services/idle.py"], ["tests/integration/test_idle_closer.py"]),
    "analytics-counters": (["services/counters.py"], ["tests/integration/test_analytics_counters.py"]),
    "retrieval-ranking": (["knowledge/retrieval.py"],
                          ["tests/integration/test_retrieval_ranking.py", "tests/unit/test_ranking.py",
                           "tests/unit/test_citations.py"]),
}

_STATUS = re.compile(r"^\s+(\S+__mutmut_\d+): (.+)$")
#: the fork server's line for each mutant's session (mutmut's log_to_file)
_COMPLETED = re.compile(r"Completed \S+__mutmut_\d+: exit=-?\d+ \((\d+\.\d+)s\)")


def _stage(name: str, files: list[str], tests: list[str]) -> Path:
    stage = STAGE / re.sub(r"\W+", "-", name)
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "src").mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "layers" / "core" / "botplot", stage / "src" / "botplot", ignore=ignore)
    shutil.copytree(ROOT / "tests", stage / "tests", ignore=ignore)
    pyproject = (ROOT / "pyproject.toml").read_text()
    pytest_options = pyproject[pyproject.index("[tool.pytest.ini_options]"):].split("\n[tool.", 1)[0]
    mutmut = "\n".join([
        "[tool.mutmut]",
        'source_paths = ["src"]',
        f"only_mutate = {json.dumps(['src/botplot/' + f for f in files])}",
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
        # plugins named, not discovered (PYTEST_DISABLE_PLUGIN_AUTOLOAD, see _env): scanning every installed
        # package's entry points costs each session most of a second
        'pytest_add_cli_args = ["-p", "pytest_timeout", "-p", "botplot_dev.mutation_session", "-x", "-q"]',
        "timeout_multiplier = 5.0",
        "timeout_constant = 10.0",
        "use_git_change_detection = false",
        # mutmut's default ("fork") runs the stats session, then the clean one, in its own process and
        # forks every mutant from it: the second session inherits the first's module state, such as the
        # webhook worker's idempotency client (built at import, as in Lambda) pointing at the first
        # session's moto server, long stopped. The fork server runs each session in a fresh fork of a
        # process that has only collected the tests.
        'process_isolation = "forkserver"',
        # the fork server collects the tests and provisions moto once, before forking the mutants'
        # sessions (botplot_dev.mutation_session.warm_up)
        'forkserver_warmup = "import"',
        'preload_modules_file = "preload-modules.txt"',
        'log_to_file = true',  # mutants/mutmut-debug.log: each mutant's seconds (the table's s/mutant)
    ])
    (stage / "preload-modules.txt").write_text("botplot_dev.mutation_forkserver\n")
    (stage / "pyproject.toml").write_text(pytest_options + "\n\n" + mutmut + "\n")
    return stage


def run_module(name: str, resume: bool = False) -> dict:
    """Stage and mutate one module. ``MUTATION_TIME_LIMIT`` (seconds) stops mutmut when it has run that
    long: the result is then partial, its unchecked mutants counted as "not checked". ``resume`` runs
    mutmut again in the module's stage as it is (the code and tests it was staged with), so it checks
    only the mutants a stopped run left unchecked."""
    files, tests = MODULES[name]
    missing = [t for t in tests if not (ROOT / t).exists()]
    if missing:
        return {"error": f"tests missing: {missing}"}
    stage = STAGE / re.sub(r"\W+", "-", name)
    if not (resume and (stage / "mutants").is_dir()):
        stage = _stage(name, files, tests)
    started = time.monotonic()
    children = os.environ.get("MUTATION_CHILDREN") or str(os.cpu_count() or 2)
    limit = float(os.environ["MUTATION_TIME_LIMIT"]) if os.environ.get("MUTATION_TIME_LIMIT") else None
    run = subprocess.Popen([sys.executable, "-m", "mutmut", "run", "--max-children", children], cwd=stage,
                           env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    try:
        output, _ = run.communicate(timeout=limit)
        partial = False
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGTERM)  # mutmut and the children it forked
        output, _ = run.communicate()
        partial = True
    return collect(name, round(time.monotonic() - started), partial, output)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def collect(name: str, seconds: int | None = None, partial: bool = False, output: str = "") -> dict:
    """What mutmut recorded in a module's stage (``--collect``: for a run that was stopped)."""
    stage = STAGE / re.sub(r"\W+", "-", name)
    mutmut = [sys.executable, "-m", "mutmut"]
    listed = subprocess.run([*mutmut, "results", "--all", "true"], cwd=stage, env=_env(), capture_output=True,
                            text=True)
    statuses = {m.group(1): m.group(2).strip() for m in map(_STATUS.match, listed.stdout.splitlines()) if m}
    if not statuses or set(statuses.values()) == {"not checked"}:  # e.g. the tests fail on the unmutated code
        return {"error": f"mutmut checked no mutants:\n{output[-2000:]}"}
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    survivors = sorted(k for k, s in statuses.items() if s in ("survived", "no tests", "suspicious"))
    diffs = {}
    for mutant in survivors:
        shown = subprocess.run([*mutmut, "show", mutant], cwd=stage, env=_env(), capture_output=True, text=True)
        diffs[mutant] = "\n".join(line for line in shown.stdout.splitlines()
                                  if line.startswith(("+", "-")) and not line.startswith(("+++", "---")))
    log = stage / "mutants" / "mutmut-debug.log"
    per_mutant = sorted(float(m.group(1)) for m in _COMPLETED.finditer(log.read_text())) if log.exists() else []
    if seconds is None:  # a stopped run: from staging to mutmut's last recorded result
        metas = list((stage / "mutants").rglob("*.meta"))
        seconds = round(max(m.stat().st_mtime for m in metas) - (stage / "pyproject.toml").stat().st_mtime)
    return {"files": MODULES[name][0], "counts": counts, "survivors": diffs, "seconds": seconds,
            "partial": partial or "not checked" in counts,
            "seconds_per_mutant": round(statistics.median(per_mutant), 1) if per_mutant else None,
            "mean_seconds_per_mutant": round(statistics.fmean(per_mutant), 1) if per_mutant else None}


def table(results: dict) -> str:
    """Killed % is of the mutants checked; a partial run (stopped by its time limit) is marked *."""
    lines = [f"{'module':20} {'mutants':>7} {'killed':>7} {'survived':>8} {'timeout':>7} {'no tests':>8} "
             f"{'not run':>7} {'killed %':>8} {'time':>7} {'s/mutant':>8}"]
    for name in MODULES:
        result = results.get(name)
        if result is None:
            lines.append(f"{name:20} not run")
            continue
        if "error" in result:
            lines.append(f"{name:20} error: {result['error'].splitlines()[0]}")
            continue
        c = result["counts"]
        total = sum(c.values())
        checked = total - c.get("not checked", 0)
        killed = c.get("killed", 0) + c.get("caught by type check", 0)
        seconds = f"{result['seconds']}s" if result.get("seconds") is not None else "?"
        lines.append(f"{name:20} {total:7} {killed:7} {c.get('survived', 0):8} {c.get('timeout', 0):7} "
                     f"{c.get('no tests', 0):8} {c.get('not checked', 0):7} "
                     f"{100 * killed / checked if checked else 0:7.1f}%{'*' if result.get('partial') else ' '} "
                     f"{seconds:>7} {result.get('seconds_per_mutant') or '?':>8}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    only_collect, resume = "--collect" in argv, "--resume" in argv
    argv = [a for a in argv if a not in ("--collect", "--resume")]
    names = argv or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        print(f"unknown modules {unknown}; known: {list(MODULES)}", file=sys.stderr)
        return 2
    STAGE.mkdir(exist_ok=True)
    for name in names:
        print(f"mutating {name} ({', '.join(MODULES[name][0])}) ...", flush=True)
        result = collect(name) if only_collect else run_module(name, resume)
        # read again: another run (of other modules) may have written its results meanwhile
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        results[name] = result
        RESULTS.write_text(json.dumps(results, indent=1))
    print()
    print(table(results))
    for name in names:
        survivors = results[name].get("survivors") or {}
        if survivors:
            print(f"\nsurvivors in {name}:")
            for mutant, diff in survivors.items():
                print(f"  {mutant}\n    " + diff.replace("\n", "\n    "))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
