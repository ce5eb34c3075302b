"""Inside a twin: the Python process a Lambda function runs in, minus Lambda itself.

Started as ``python3.12 -S boot.py CONFIG MODE ...`` (``-S``: no site-packages), standard library
only. It gives the process the ``sys.path`` the deployed function has (its code directory, its
layers' ``python/`` directories, the runtime's boto3) and nothing else, records every AWS call the
function makes, then either

- ``handler FD``: imports the handler the template names and invokes it with each event read from
  stdin (one JSON document per line), answering on file descriptor FD, as the Lambda runtime
  interface does; or
- ``exec ARG...``: runs ``python ARG...`` (what ``run.sh`` starts behind the Lambda Web Adapter);
- ``eval EXPRESSION``: prints the expression's value as JSON (a probe of the function's configuration).

Recorded calls (one JSON document per line, appended to the config's ``calls`` file):
``{"kind": "aws", "service": signing name, "operation", "params": what names the resources}`` from
botocore's ``provide-client-params`` event, and ``{"kind": "opensearch", "method", "path"}`` from
opensearch-py's transport. The function's own code is never changed.
"""

import importlib
import importlib.abc
import json
import os
import runpy
import sys
import threading
import time
import traceback
import uuid

CONFIG = json.loads(open(sys.argv[1]).read())
_calls_lock = threading.Lock()


def _record(entry: dict) -> None:
    line = json.dumps(entry, default=str) + "\n"
    with _calls_lock, open(CONFIG["calls"], "a") as out:
        out.write(line)


_RESOURCE_PARAMS = ("TableName", "IndexName", "QueueUrl", "Bucket", "Key", "SecretId")


def _resources(params: dict) -> dict:
    named = {k: params[k] for k in _RESOURCE_PARAMS if k in params}
    if "TransactItems" in params:  # each item is authorised on its own table, by its own action
        named["TransactItems"] = [[kind, item.get("TableName")] for entry in params["TransactItems"]
                                  for kind, item in entry.items()]
    if "RequestItems" in params:
        named["RequestItems"] = sorted(params["RequestItems"])
    return named


def _on_client_params(params, model, **_):
    _record({"kind": "aws", "service": model.service_model.signing_name, "operation": model.name,
             "params": _resources(params or {})})


def _patch_botocore_session(module) -> None:
    original = module.Session.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.register("provide-client-params", _on_client_params)

    module.Session.__init__ = __init__


def _patch_opensearch_transport(module) -> None:
    original = module.Transport.perform_request

    def perform_request(self, method, url, *args, **kwargs):
        _record({"kind": "opensearch", "method": method.upper(), "path": url.split("?", 1)[0]})
        return original(self, method, url, *args, **kwargs)

    module.Transport.perform_request = perform_request


_PATCHES = {"botocore.session": _patch_botocore_session, "opensearchpy.transport": _patch_opensearch_transport}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches a module right after the function first imports it, so the recorder costs nothing
    before (cold-start figures stay the function's own)."""

    def find_spec(self, name, path=None, target=None):
        if name not in _PATCHES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                loader, patch = spec.loader, _PATCHES[name]
                exec_module = loader.exec_module

                class Loader(importlib.abc.Loader):
                    def create_module(self, spec):
                        return loader.create_module(spec)

                    def exec_module(self, module):
                        exec_module(module)
                        patch(module)

                spec.loader = Loader()
                return spec
        return None


def _isolate() -> None:
    """The deployed function's path: code, layers, runtime SDK, then the interpreter's standard library."""
    stdlib = [p for p in sys.path if p.startswith(sys.base_prefix) and "site-packages" not in p]
    sys.path[:] = CONFIG["paths"] + stdlib
    sys.dont_write_bytecode = True  # /var/task and /opt are read-only in Lambda
    sys.stdout.reconfigure(line_buffering=True)  # each log line lands with the invocation that wrote it
    sys.meta_path.insert(0, _PatchOnImport())


class Context:
    """The attributes of the Lambda context object our code and Powertools read."""

    def __init__(self, request_id: str):
        env = os.environ
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = int(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.invoked_function_arn = CONFIG["function_arn"]
        self.aws_request_id = request_id
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = self.client_context = None
        self._deadline = time.monotonic() + CONFIG["timeout"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _serve_handler(reply_fd: int) -> None:
    reply = os.fdopen(reply_fd, "w")

    def answer(payload: dict) -> None:
        reply.write(json.dumps(payload, default=str) + "\n")
        reply.flush()

    module_name, _, function_name = CONFIG["handler"].rpartition(".")
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except BaseException:  # Runtime.ImportModuleError / Runtime.HandlerNotFound: every invocation fails
        answer({"init_error": traceback.format_exc()})
        handler = None
    else:
        answer({"init_seconds": time.perf_counter() - started})
    for line in sys.stdin:
        request = json.loads(line)
        if handler is None:
            answer({"error": "init failed"})
            continue
        request_id = str(uuid.uuid4())
        os.environ["_X_AMZN_TRACE_ID"] = (f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};"
                                          f"Parent={uuid.uuid4().hex[:16]};Sampled=1")
        print(f"START RequestId: {request_id} Version: $LATEST", flush=True)
        try:
            outcome = {"result": handler(request["event"], Context(request_id))}
        except BaseException:
            outcome = {"error": traceback.format_exc()}
        print(f"END RequestId: {request_id}", flush=True)  # every log line is written before the answer
        sys.stderr.flush()
        answer(outcome)


def main() -> None:
    _isolate()
    mode = sys.argv[2]
    if mode == "handler":
        _serve_handler(int(sys.argv[3]))
        return
    if mode == "eval":
        print(json.dumps(eval(sys.argv[3]), default=str), flush=True)
        return
    args = sys.argv[3:]  # exec: as `python ARGS...`; only `-m module ...` is needed (run.sh)
    if args[:1] != ["-m"]:
        raise SystemExit(f"the twin's python runs modules only (-m), not {args!r}")
    sys.argv = [args[1], *args[2:]]  # the code directory (the working directory, as for -m) is first
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    del sys.path[0]  # this file's directory: never the function's
    main()
