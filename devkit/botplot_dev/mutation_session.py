"""What makes one mutant's test session cheap under ``make mutation`` (:mod:`botplot_dev.mutation`).

mutmut's fork server forks one process per mutant, which runs that mutant's tests (those the stats
run saw reach the mutated function) with ``-x``. Two things here, both for speed alone:

- :func:`warm_up`, run once in the fork server before it forks anything (its ``preload_modules_file``
  imports :mod:`botplot_dev.mutation_forkserver`): the test collection mutmut's own warm-up does,
  then moto provisioned in memory (:func:`botplot_dev.moto_session.prepare`), so a mutant's session
  no longer creates a dozen tables, and the functions' modules imported (the chat app alone costs
  seconds). Then one forked session runs the whole selection on the unmutated code from that state:
  if it does not pass, all this is dropped and every session provisions and imports for itself as
  before, since a session that fails for a reason of its own would count its mutant killed. What it
  measured is written to ``warmup.json`` in the stage.
- as a pytest plugin (``-p botplot_dev.mutation_session``): the tests run fastest first, by the
  durations mutmut's stats run recorded, so with ``-x`` a killed mutant stops at its cheapest
  failing test (mutmut's fork server passes them in no order). The same tests run; only their order changes.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from pathlib import Path

STATS = Path("mutmut-stats.json")  # in mutants/, the tests' working directory


def pytest_collection_modifyitems(items) -> None:
    if not STATS.exists():  # the stats run itself
        return
    durations = json.loads(STATS.read_text()).get("duration_by_test", {})
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))


def _run_in_fork(run) -> int:
    """``run()``'s exit code, run in a child process so that this process's state stays as it is."""
    pid = os.fork()
    if pid == 0:
        try:
            code = run()
        except BaseException:
            code = 99
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def warm_up() -> None:
    """In mutmut's fork server (working directory: the module's stage)."""
    from botplot_dev import lambda_runtime, moto_session

    report: dict[str, object] = {"pid": os.getpid()}
    try:
        _warm_up(report)
    except Exception as error:
        report["error"] = repr(error)
    if report.get("check_exit") != 0:  # the sessions then do it all themselves, as without a warm-up
        moto_session.unprepare()
        lambda_runtime.forget_modules()
    report["prepared"] = moto_session.prepared()
    Path("warmup.json").write_text(json.dumps(report, indent=1))
    # what the fork server holds now is every session's starting point: kept out of the collector's
    # sight, a session's collections (pytest forces several at its end) no longer walk it, nor write
    # to its copy-on-write pages
    gc.freeze()


def _warm_up(report: dict[str, object]) -> None:
    from mutmut.configuration import config
    from mutmut.runners.harness import PytestRunner
    from mutmut.utils.file_utils import change_cwd

    from botplot_dev import moto_session

    runner = PytestRunner()
    started = time.monotonic()
    with change_cwd("mutants"):
        report["collect_exit"] = runner.execute_pytest(["--collect-only", "-qqq",
                                                        *config().pytest_add_cli_args_test_selection])
    report["collect_seconds"] = round(time.monotonic() - started, 2)
    started = time.monotonic()
    moto_session.prepare()
    report["prepare_seconds"] = round(time.monotonic() - started, 2)
    started = time.monotonic()
    report["functions_imported"], report["functions_left_to_sessions"] = _import_functions()
    report["import_seconds"] = round(time.monotonic() - started, 2)
    started = time.monotonic()
    report["libraries_imported"] = _import_libraries(runner)
    report["libraries_seconds"] = round(time.monotonic() - started, 2)
    started = time.monotonic()
    code = _run_in_fork(lambda: runner.run_tests(mutant_name=None, tests=[]))
    report.update(check_exit=code, check_seconds=round(time.monotonic() - started, 2))


_OURS = ("botplot", "tests", "mutmut", "_pytest", "pytest", "__main__")


def _library(name: str) -> bool:
    return not name.startswith(_OURS)


def _import_libraries(runner) -> int:
    """Import here the third-party modules the selection imports on first use (``openai`` alone
    costs a crawl test's session 2-3 s), found by running it once in a fork: every session then
    starts with them, as it does with the functions' modules. Our own modules are left out (a mutated
    one, a function's app building an AWS client); a library that fails to import here is left to
    the sessions. The check run that follows runs on this state."""
    import importlib

    before, found = set(sys.modules), Path.cwd() / "warmup-libraries.txt"

    def run() -> int:
        code = runner.run_tests(mutant_name=None, tests=[])
        found.write_text("\n".join(sorted(m for m in set(sys.modules) - before if _library(m))))
        return code

    _run_in_fork(run)
    imported = 0
    for name in found.read_text().split() if found.exists() else []:
        try:
            importlib.import_module(name)
            imported += 1
        except Exception:  # noqa: BLE001 - e.g. a module importable only as a side effect of another
            pass
    return imported


def _import_functions() -> tuple[list[str], list[str]]:
    """Import every function's ``app.py`` as the tests' Lambda runtime does (the chat app alone costs
    seconds), except those that build an AWS client at import: each session imports them again."""
    from botplot_dev import lambda_runtime
    from botplot_dev import template as tpl

    kept, left = [], []
    for function in tpl.resources("AWS::Serverless::Function"):
        module = lambda_runtime.load_module(function)
        if lambda_runtime.holds_aws_client(module):
            lambda_runtime.forget_modules(function)
            left.append(function)
        else:
            kept.append(function)
    return kept, left
