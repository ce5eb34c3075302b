"""Cold start of every function: import-and-init of its handler module, and import plus the first
invocation, each in fresh interpreters, beside two references measured in the same run.

- ``hello``: a bare FastAPI + Mangum hello world (the issue's baseline);
- ``hello+sdk``: the same with Powertools Logger and Tracer and one pynamodb model, i.e. the AWS
  SDK and the X-Ray SDK every BotPlot function loads. It shows how much of a function's cold start
  is its own code.

Handlers are imported the way Lambda imports them (code directory on ``sys.path``), with the
function's environment from template.yaml; first invocations use the function's first sample event
from ``events/`` against moto (unedited, so HTTP routes answer 401 after a DynamoDB key lookup).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.support import start_moto
from botplot_dev import template as tpl

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7

_PROBE = """
import json, sys, time
sys.path.insert(0, {path!r})
t = time.perf_counter()
import {module} as m
imported = time.perf_counter() - t
event = {event!r}
if event is not None:
    sys.path.insert(0, {root!r})
    from botplot_dev.lambda_runtime import LambdaContext
    handler = getattr(m, "handler", None)
    if handler is None:
        from mangum import Mangum
        handler = Mangum(m.app, lifespan="off")
    handler(json.loads(event), LambdaContext("bench"))
print(imported * 1000, (time.perf_counter() - t) * 1000)
"""


def _env(function: str | None, moto: dict[str, str]) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench",
           "AWS_SECRET_ACCESS_KEY": "bench", "POWERTOOLS_METRICS_DISABLED": "true", **moto}
    if function:
        defaults = tpl.parameter_defaults()
        for name, value in tpl.environment(function).items():
            if isinstance(value, dict) and value.get("Ref") in defaults:
                value = defaults[value["Ref"]]
            if isinstance(value, str):
                env.setdefault(name, value)
        env.update({k: v for k, v in moto.items()})
        env["BOTPLOT_INDEX"] = "sqlite"
        env["BOTPLOT_INDEX_PATH"] = "/tmp/botplot-coldstart.sqlite"
        env["BOTPLOT_EMBEDDER"] = "none"
        env.pop("AWS_LAMBDA_EXEC_WRAPPER", None)
    return env


def _measure(code_dir: Path, module: str, env: dict[str, str], event: str | None) -> tuple[float, float]:
    imports, firsts = [], []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", _PROBE.format(path=str(code_dir), module=module, event=event,
                                                                  root=str(ROOT / "devkit"))],
                             capture_output=True, text=True, env=env, check=True, cwd=code_dir)
        imported, first = map(float, out.stdout.strip().splitlines()[-1].split())
        imports.append(imported)
        firsts.append(first)
    return statistics.median(imports), statistics.median(firsts)


def _first_event(function: str) -> str:
    folder = ROOT / "events" / tpl.code_dir(function).name
    return sorted(folder.glob("*.json"))[0].read_text()


HELLO_EVENT = json.dumps({"resource": "/hello", "path": "/hello", "httpMethod": "GET", "headers": {},
                          "multiValueHeaders": {}, "queryStringParameters": None,
                          "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
                          "requestContext": {"resourcePath": "/hello", "httpMethod": "GET", "path": "/prod/hello",
                                             "stage": "prod", "requestId": "r1", "identity": {"sourceIp": "1.2.3.4"}},
                          "body": None, "isBase64Encoded": False})


def run() -> dict:
    start_moto()
    moto = {k: v for k, v in os.environ.items() if k.startswith("BOTPLOT_TABLE_") or k == "AWS_ENDPOINT_URL"}
    hello = _measure(ROOT / "bench", "baseline_hello", _env(None, moto), HELLO_EVENT)
    sdk = _measure(ROOT / "bench", "baseline_sdk", _env(None, moto), HELLO_EVENT)
    print(f"cold start, median of {RUNS} fresh interpreters: import+init | import+init+first invocation")
    print(f"  {'hello (FastAPI + Mangum)':30s} {hello[0]:6.0f} ms  1.00x | {hello[1]:6.0f} ms  1.00x")
    print(f"  {'hello+sdk (+ Powertools, pynamodb)':30s} {sdk[0]:6.0f} ms  {sdk[0] / hello[0]:4.2f}x | "
          f"{sdk[1]:6.0f} ms  {sdk[1] / hello[1]:4.2f}x")
    figures = {"hello": hello, "hello+sdk": sdk}
    for function in tpl.resources("AWS::Serverless::Function"):
        imported, first = _measure(tpl.code_dir(function), "app", _env(function, moto), _first_event(function))
        figures[function] = (imported, first)
        print(f"  {function:30s} {imported:6.0f} ms  {imported / hello[0]:4.2f}x | {first:6.0f} ms  "
              f"{first / hello[1]:4.2f}x   (vs hello+sdk {imported / sdk[0]:4.2f}x)")
    return figures


if __name__ == "__main__":
    run()
