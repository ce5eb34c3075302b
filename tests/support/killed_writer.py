"""One API request served by the chat function's app in this process, which dies (SIGKILL) the
moment DynamoDB answers its first TransactWriteItems: a Lambda function crashing or timing out
after its write committed and before anything that comes after it.

``python -m tests.support.killed_writer METHOD PATH KEY JSON_BODY`` with the local stack's
environment (``AWS_ENDPOINT_URL``, ``BOTPLOT_*``). The kill is made at the AWS SDK's boundary (a
wrapper around botocore's ``_make_api_call``, installed here, in the test's process only): the
application's code is run as it is deployed, with no hook of its own.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import botocore.client

_make_api_call = botocore.client.BaseClient._make_api_call


def _die_after_the_write(self, operation_name, api_params):
    response = _make_api_call(self, operation_name, api_params)
    if operation_name == "TransactWriteItems":
        print("killed after TransactWriteItems", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return response


def main() -> None:
    method, path, key, body = sys.argv[1:5]
    from starlette.testclient import TestClient

    from botplot_dev.lambda_runtime import load_module

    app = load_module("ChatFunction").app
    botocore.client.BaseClient._make_api_call = _die_after_the_write
    with TestClient(app) as client:
        response = client.request(method, path, json=json.loads(body), headers={"Authorization": f"Bearer {key}"})
    print(f"not killed: HTTP {response.status_code} {response.text}", flush=True)  # no transaction was made


if __name__ == "__main__":
    main()
