"""Cold start of every function as Lambda starts it, beside two references measured in the same run.

Each measurement is a fresh CPython 3.12 (the runtime's version) whose ``sys.path`` holds only the
function's code directory, the ``python/`` directories of the layers the template gives it (built
by the layers' own Makefiles for this machine's architecture, as the Lambda twin builds them) and
boto3/botocore as the runtime ships them; its environment is the runtime's variables (``LAMBDA_TASK_ROOT``, ``AWS_LAMBDA_*``,
``_X_AMZN_TRACE_ID`` for the invocation...) plus the function's ``Environment`` from template.yaml
with the default parameters, AWS endpoints pointing at moto. Both matter: outside Lambda the X-Ray
SDK builds two botocore clients at import for centralised sampling, which it never does in Lambda.

- ``hello``: a bare FastAPI + Mangum hello world (the issue's baseline);
- ``hello+sdk``: the same with Powertools Logger and Tracer and one pynamodb model, i.e. the AWS
  SDK and the X-Ray SDK every BotPlot function loads.

Reported per target: import+init (the handler module, and for chat uvicorn, which ``run.sh``
starts) and import+init+first invocation (its first sample event from ``events/``, unedited, so HTTP
routes answer 401 after a DynamoDB key lookup), in CPU milliseconds, median over interleaved runs.
CPU time rather than wall time: on a shared machine the wall clock mostly measures the neighbours;
the ratios to ``hello`` are the figures that carry over to Lambda.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from bench.support import start_moto
from botplot_dev import template as tpl
from botplot_dev.twin.build import build_layers, python312, runtime_sdk

ROOT = Path(__file__).resolve().parents[1]
ARCH = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
RUNS = int(os.environ.get("BOTPLOT_COLDSTART_RUNS", "9"))
#: BOTPLOT_COLDSTART_OUTSIDE_LAMBDA=1 leaves out the variables that tell libraries they run in
#: Lambda, as the bench did before: it shows what they change (the X-Ray SDK's sampler)
OUTSIDE_LAMBDA = os.environ.get("BOTPLOT_COLDSTART_OUTSIDE_LAMBDA") == "1"
TRACE_ID = "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"

_PROBE = """
import json, sys, time
code, module, event = sys.argv[1], sys.argv[2], sys.argv[3]
cpu, wall = time.process_time(), time.perf_counter()
for name in module.split(","):
    __import__(name)
m = sys.modules[module.split(",")[-1]]
imported = (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000
class Context:  # what the runtime passes to a handler
    function_name, function_version, memory_limit_in_mb = "bench", "$LATEST", 512
    aws_request_id = "8f5c7b4e-2d3a-4c1b-9e8f-0a1b2c3d4e5f"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    log_group_name, log_stream_name = "/aws/lambda/bench", "bench"
    def get_remaining_time_in_millis(self):
        return 29000
if event:
    handler = getattr(m, "handler", None)
    if handler is None:  # chat: the ASGI app uvicorn serves, behind the Web Adapter
        from mangum import Mangum
        handler = Mangum(m.app, lifespan="off")
    handler(json.loads(event), Context())
print(json.dumps([*imported, (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000]))
"""


def _python() -> Path:
    python = python312()
    if python is None:
        sys.exit("coldstart: needs CPython 3.12, the runtime's version (pyenv install 3.12)")
    return python


def function_layers(function: str) -> list[str]:
    template = tpl.load()
    declared = template["Globals"]["Function"].get("Layers", []) + \
        tpl.resources("AWS::Serverless::Function")[function]["Properties"].get("Layers", [])
    return [layer["Ref"] for layer in declared if isinstance(layer, dict) and "Ref" in layer]


def _lambda_env(name: str, code: Path, memory: int, moto: dict[str, str]) -> dict[str, str]:
    """What the Lambda runtime sets for every function (no template variable among them)."""
    if OUTSIDE_LAMBDA:
        return {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", **moto}
    return {"PATH": "/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC", "LAMBDA_TASK_ROOT": str(code),
            "LAMBDA_RUNTIME_DIR": str(code), "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory), "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": "bench", "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "_X_AMZN_TRACE_ID": TRACE_ID, **moto}


def _template_env(function: str, moto: dict[str, str]) -> dict[str, str]:
    """The function's Environment with the default parameters; resources resolved to moto's."""
    defaults = tpl.parameter_defaults()
    env = {}
    for name, value in tpl.environment(function).items():
        if isinstance(value, dict) and value.get("Ref") in defaults:
            value = defaults[value["Ref"]]
        if isinstance(value, (str, int)):
            env[name] = str(value)
    env.update(moto)
    env.pop("AWS_LAMBDA_EXEC_WRAPPER", None)  # the Web Adapter is not part of the measurement
    env["POWERTOOLS_METRICS_DISABLED"] = "true"  # EMF lines would only add printing
    return env


def _measure(python: Path, code: Path, module: str, paths: list[Path], env: dict, event: str) -> list[float]:
    probe_path = [str(code), *map(str, paths)]
    stdlib = subprocess.run([str(python), "-S", "-c", "import sys; print('\\n'.join(sys.path[1:]))"],
                            capture_output=True, text=True, check=True).stdout.split()
    out = subprocess.run([str(python), "-S", "-c", f"import sys; sys.path[:] = {probe_path + stdlib!r}\n" + _PROBE,
                          str(code), module, event],
                         capture_output=True, text=True, env=env, cwd=code)
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _first_event(function: str) -> str:
    folder = ROOT / "events" / tpl.code_dir(function).name
    return sorted(folder.glob("*.json"))[0].read_text()


HELLO_EVENT = json.dumps({"resource": "/hello", "path": "/hello", "httpMethod": "GET", "headers": {},
                          "multiValueHeaders": {}, "queryStringParameters": None,
                          "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
                          "requestContext": {"resourcePath": "/hello", "httpMethod": "GET", "path": "/prod/hello",
                                             "stage": "prod", "requestId": "r1", "identity": {"sourceIp": "1.2.3.4"}},
                          "body": None, "isBase64Encoded": False})


def targets(python: Path, moto: dict[str, str]) -> dict[str, tuple]:
    """The Lambda twin's builds (tests/integration/test_lambda_twin.py shares the cache)."""
    sdk = runtime_sdk(ARCH, python)
    layers = {name: path / "python" for name, path in build_layers(ARCH, python).items()}
    globals_ = tpl.load()["Globals"]["Function"]
    bench = ROOT / "bench"
    found = {
        "hello": (bench, "baseline_hello", [layers["CoreLayer"], sdk],
                  _lambda_env("hello", bench, 512, moto), HELLO_EVENT),
        "hello+sdk": (bench, "baseline_sdk", [layers["CoreLayer"], sdk],
                      _lambda_env("hello-sdk", bench, 512, moto), HELLO_EVENT),
    }
    for function, resource in tpl.resources("AWS::Serverless::Function").items():
        props = resource["Properties"]
        code = tpl.code_dir(function)
        module = "uvicorn.main,app" if props["Handler"] == "run.sh" else props["Handler"].split(".")[0]
        env = {**_lambda_env(function, code, props.get("MemorySize", globals_["MemorySize"]), moto),
               **_template_env(function, moto), "_HANDLER": props["Handler"]}
        found[function] = (code, module, [layers[name] for name in function_layers(function)] + [sdk], env,
                           _first_event(function))
    return found


def run() -> dict:
    python = _python()
    start_moto()
    moto = {k: v for k, v in os.environ.items() if k.startswith("BOTPLOT_TABLE_") or k == "AWS_ENDPOINT_URL"}
    found = targets(python, moto)
    samples: dict[str, list[list[float]]] = {name: [] for name in found}
    failures: dict[str, str] = {}
    for _ in range(RUNS):  # interleaved, so that a busy moment weighs on every target alike
        for name, (code, module, paths, env, event) in found.items():
            if name in failures:
                continue
            try:
                samples[name].append(_measure(python, code, module, paths, env, event))
            except RuntimeError as error:
                failures[name] = str(error)
    med = {name: [statistics.median(s[i] for s in runs) for i in range(4)] for name, runs in samples.items() if runs}
    hello = med["hello"]
    print(f"cold start on {platform.machine()}, {python.name}, only the function's layers"
          f"{', OUTSIDE the Lambda environment' if OUTSIDE_LAMBDA else ''}; CPU ms, median of {RUNS} "
          f"interleaved fresh interpreters (wall ms in brackets)")
    print(f"  {'':24s} {'import+init':>22s}  {'+ first invocation':>24s}")
    for name in found:
        if name in failures:
            print(f"  {name:24s} fails at import: {failures[name]}")
            continue
        cpu, wall, cpu_first, wall_first = med[name]
        print(f"  {name:24s} {cpu:6.0f} ({wall:5.0f}) {cpu / hello[0]:5.2f}x   "
              f"{cpu_first:6.0f} ({wall_first:5.0f}) {cpu_first / hello[2]:5.2f}x")
    return {"medians": med, "failures": failures}


if __name__ == "__main__":
    run()
