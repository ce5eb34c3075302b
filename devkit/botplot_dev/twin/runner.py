"""Running functions in their twins: one process per function, as Lambda runs one per environment.

A ``Twin`` owns a moto server (its own process), the template's tables, queues and bucket in it,
and one process per function, started from the template:

- handler functions: ``python3.12 -S boot.py`` importing the template's ``Handler`` and serving
  invocations (events in, results out), warm between invocations as a Lambda environment is;
- the chat function: its ``run.sh`` as the Lambda Web Adapter starts it (``python`` on ``PATH`` is
  the runtime's interpreter, through ``boot.py``), and each API Gateway event becomes the HTTP
  request the adapter would make (method, path, query, headers, body, ``x-amzn-request-context``).

Each function's environment is the template's (Globals + the function's, resolved for the twin's
stack), the variables the Lambda runtime itself sets, and ``AWS_ENDPOINT_URL`` pointing at moto.
A few more are replaced, and only when the test says so: ``OPENSEARCH_URL`` (the template's domain
endpoint → a local OpenSearch node), ``BOTPLOT_KNN_ENGINE`` and ``BOTPLOT_KNN_ENCODING`` (``lucene``
and ``fp32`` when that node cannot run the default ``faiss`` and its ``fp16``) and ``PORT`` (run.sh's 8000 → a free port, as other stacks run on this
machine); the X-Ray daemon address points at a socket of the test's. Logs (stdout/stderr) and recorded AWS calls are kept per invocation.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from botplot_dev import ROOT
from botplot_dev.twin.cfn import ACCOUNT, Stack

BOOT = Path(__file__).with_name("boot.py")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Invocation:
    function: str
    event: str  # the sample event's file name
    result: dict | None = None  # the handler's return value, or the HTTP answer {statusCode, headers, body}
    error: str | None = None  # unhandled exception, init failure or broken connection
    calls: list[dict] = field(default_factory=list)
    log: str = ""
    seconds: float = 0.0

    @property
    def status(self) -> int | None:
        return self.result.get("statusCode") if isinstance(self.result, dict) else None

    def json_body(self) -> dict:
        return json.loads(self.result["body"])

    def log_records(self) -> list[dict]:
        records = []
        for line in self.log.splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    pass
        return records

    def metrics(self) -> set[str]:
        """Names of the EMF metrics the invocation emitted."""
        return {m["Name"] for r in self.log_records() for d in r.get("_aws", {}).get("CloudWatchMetrics", [])
                for m in d.get("Metrics", [])}

    def error_logs(self) -> list[str]:
        return [f"{r.get('message')} {r.get('exception', '')}".strip() for r in self.log_records()
                if str(r.get("level", "")).upper() in ("ERROR", "CRITICAL")]


class TwinFunction:
    def __init__(self, name: str, stack: Stack, layer_dirs: dict[str, Path], runtime_dir: Path, python: Path,
                 workdir: Path, endpoint: str, overrides: dict[str, str]):
        self.name, self.stack, self.python = name, stack, python
        self.code = ROOT / stack.functions()[name]["Properties"]["CodeUri"]
        self.handler = stack.function_property(name, "Handler")
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.calls_file = self.workdir / "calls.jsonl"
        self.log_file = self.workdir / "log.txt"
        layers = []
        for layer in stack.layers(name):
            if isinstance(layer, dict) and "Ref" in layer:
                layers.append(layer_dirs[layer["Ref"]] / "python")
            # a layer published elsewhere (the Lambda Web Adapter) is the adapter itself: runner.py plays it
        self.paths = [str(self.code), *map(str, layers), str(runtime_dir)]
        self.timeout = float(stack.function_property(name, "Timeout", 3))
        self.environment = self._environment(runtime_dir, endpoint, overrides)
        self.process: subprocess.Popen | None = None
        self.init_error: str | None = None
        self.init_seconds: float | None = None
        self.init_calls: list[dict] = []

    @property
    def is_web_adapter(self) -> bool:
        return self.handler == "run.sh"

    def _environment(self, runtime_dir: Path, endpoint: str, overrides: dict[str, str]) -> dict[str, str]:
        region = self.stack.region
        function_name = f"{self.stack.ref('AWS::StackName')}-{self.name}"
        env = self.stack.environment(self.name)
        env.update({  # what the Lambda runtime sets in every function's environment
            "AWS_LAMBDA_FUNCTION_NAME": function_name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.stack.function_property(self.name, "MemorySize", 128)),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}", "AWS_LAMBDA_LOG_STREAM_NAME": "twin",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": "twin", "AWS_SECRET_ACCESS_KEY": "twin", "AWS_SESSION_TOKEN": "twin",
            "LAMBDA_TASK_ROOT": str(self.code), "LAMBDA_RUNTIME_DIR": str(runtime_dir),
            "TZ": ":UTC", "LANG": "en_US.UTF-8", "PATH": f"{self.workdir / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR", "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "_AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1", "_AWS_XRAY_DAEMON_PORT": "2000",
            "AWS_ENDPOINT_URL": endpoint,  # the one change: AWS is moto
        })
        env.update({k: v for k, v in overrides.items() if k != "PORT" or self.is_web_adapter})
        return env

    def _write_config(self) -> Path:
        config = self.workdir / "config.json"
        config.write_text(json.dumps({
            "paths": self.paths, "handler": self.handler, "calls": str(self.calls_file), "timeout": self.timeout,
            "function_arn": f"arn:aws:lambda:{self.stack.region}:{ACCOUNT}:function:{self.environment['AWS_LAMBDA_FUNCTION_NAME']}",
        }))
        return config

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        config = self._write_config()
        self.calls_file.write_text("")
        log = open(self.log_file, "w")
        started = time.perf_counter()
        if self.is_web_adapter:
            bin_dir = self.workdir / "bin"
            bin_dir.mkdir(exist_ok=True)
            for name in ("python", "python3"):  # /var/lang/bin/python in Lambda: the runtime's interpreter
                wrapper = bin_dir / name
                wrapper.write_text(f'#!/bin/sh\nexec "{self.python}" -S "{BOOT}" "{config}" exec "$@"\n')
                wrapper.chmod(0o755)
            self.process = subprocess.Popen(["/bin/bash", str(self.code / "run.sh")], cwd=self.code, env=self.environment,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            self._wait_ready()
        else:
            read_fd, write_fd = os.pipe()
            self.process = subprocess.Popen([str(self.python), "-S", str(BOOT), str(config), "handler", str(write_fd)],
                                            cwd=self.code, env=self.environment, stdin=subprocess.PIPE, stdout=log,
                                            stderr=subprocess.STDOUT, pass_fds=(write_fd,), text=True)
            os.close(write_fd)
            self.replies = os.fdopen(read_fd)
            first = json.loads(self.replies.readline() or '{"init_error": "the process died during init"}')
            self.init_error = first.get("init_error")
        self.init_seconds = time.perf_counter() - started
        log.close()
        with open(self.calls_file) as calls:  # what the function called while it started (checked too)
            self.init_calls = [json.loads(line) for line in calls if line.strip()]

    def _wait_ready(self) -> None:
        """The Web Adapter's readiness check: GET the readiness path until it answers (bounded)."""
        path = self.environment.get("AWS_LWA_READINESS_CHECK_PATH", "/")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.init_error = f"run.sh exited with {self.process.returncode} before it was ready"
                return
            try:
                connection = http.client.HTTPConnection("127.0.0.1", int(self.environment["PORT"]), timeout=2)
                connection.request("GET", path)
                if connection.getresponse().status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.init_error = "the app never answered the readiness check within 60 s"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            if self.process.stdin:
                self.process.stdin.close()
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    # ------------------------------------------------------------------ invocations
    def invoke(self, event: dict, label: str) -> Invocation:
        calls_at, log_at = self.calls_file.stat().st_size, self.log_file.stat().st_size
        invocation = Invocation(self.name, label)
        started = time.perf_counter()
        if self.init_error:
            invocation.error = f"init failed: {self.init_error}"
        elif self.is_web_adapter:
            self._http(event, invocation)
        else:
            self.process.stdin.write(json.dumps({"event": event}) + "\n")
            self.process.stdin.flush()
            reply = json.loads(self.replies.readline() or '{"error": "the function process died"}')
            invocation.result, invocation.error = reply.get("result"), reply.get("error")
        invocation.seconds = time.perf_counter() - started
        invocation.log = self._log_since(log_at, until_request_recorded=self.is_web_adapter and invocation.result is not None)
        with open(self.calls_file) as calls:
            calls.seek(calls_at)
            invocation.calls = [json.loads(line) for line in calls if line.strip()]
        return invocation

    def _log_since(self, offset: int, until_request_recorded: bool) -> str:
        """The log written since ``offset``. Behind the Web Adapter the answer can reach the client
        before the app's last line (its ``Requests`` metric, written when the request is done): wait
        for that line, at most 5 s."""
        deadline = time.monotonic() + 5
        while True:
            with open(self.log_file, errors="replace") as log:
                log.seek(offset)
                text = log.read()
            if not until_request_recorded or '"Requests":' in text or time.monotonic() > deadline:
                return text
            time.sleep(0.01)

    def _http(self, event: dict, invocation: Invocation) -> None:
        """The request the Lambda Web Adapter makes of an API Gateway (REST) event, and its answer."""
        query = [(k, v) for k, values in (event.get("multiValueQueryStringParameters") or {}).items() for v in values]
        path = event["path"] + (f"?{urlencode(query)}" if query else "")
        body = event.get("body") or b""
        if body and event.get("isBase64Encoded"):
            body = base64.b64decode(body)
        headers = [(k, v) for k, values in (event.get("multiValueHeaders") or {}).items() for v in values]
        headers.append(("x-amzn-request-context", json.dumps(event.get("requestContext") or {})))
        connection = http.client.HTTPConnection("127.0.0.1", int(self.environment["PORT"]), timeout=self.timeout)
        try:
            connection.putrequest(event["httpMethod"], path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            data = body.encode() if isinstance(body, str) else body
            connection.putheader("Content-Length", str(len(data)))
            connection.endheaders(data)
            response = connection.getresponse()
            invocation.result = {"statusCode": response.status, "headers": dict(response.getheaders()),
                                 "body": response.read().decode()}
        except OSError as error:
            invocation.error = f"{type(error).__name__}: {error}"
        finally:
            connection.close()


class MotoServer:
    """moto in a process of its own, on a free port, stopped with the twin."""

    def __init__(self):
        port = free_port()
        self.process = subprocess.Popen([sys.executable, "-m", "botplot_dev.moto_process", str(port)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("moto did not start")
        self.endpoint = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
