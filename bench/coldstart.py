"""Cold start: import-and-init time of each function's handler module in a fresh interpreter.

Each module is imported the way Lambda imports it (its code directory on ``sys.path``, the layers'
packages installed), with the function's environment from template.yaml, in a new Python process;
the median of several runs is printed beside a bare FastAPI + Mangum hello world measured in the
same run. No AWS call happens at import time, so no endpoint is needed.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

from botplot_dev import template as tpl

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7

_PROBE = """
import sys, time
sys.path.insert(0, {path!r})
t = time.perf_counter()
import {module}
print((time.perf_counter() - t) * 1000)
"""


def _measure(code_dir: Path, module: str, env: dict[str, str]) -> float:
    samples = []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", _PROBE.format(path=str(code_dir), module=module)],
                             capture_output=True, text=True, env=env, check=True, cwd=code_dir)
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def _env(function: str | None) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true",
           "PYTHONDONTWRITEBYTECODE": "0"}
    if function:
        defaults = tpl.parameter_defaults()
        for name, value in tpl.environment(function).items():
            if isinstance(value, dict) and value.get("Ref") in defaults:
                value = defaults[value["Ref"]]
            env[name] = value if isinstance(value, str) else f"resolved-{name.lower()}"
    return env


def run() -> dict[str, float]:
    baseline = _measure(ROOT / "bench", "baseline_hello", _env(None))
    print(f"cold start (median of {RUNS} fresh interpreters, import + init of the handler module)")
    print(f"  {'baseline FastAPI+Mangum hello':34s} {baseline:7.1f} ms   1.00x")
    figures = {"baseline": baseline}
    for function in tpl.resources("AWS::Serverless::Function"):
        ms = _measure(tpl.code_dir(function), "app", _env(function))
        figures[function] = ms
        print(f"  {function:34s} {ms:7.1f} ms   {ms / baseline:4.2f}x")
    return figures


if __name__ == "__main__":
    run()
