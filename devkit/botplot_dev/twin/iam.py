"""Least privilege, checked: each recorded call against the function's policies from the template.

The policies are the ones SAM gives the function's role: its ``Policies`` with SAM policy
templates expanded by samtranslator itself (run in the tools venv, ``.venv-tools``, which holds
aws-sam-cli), resolved for the twin's stack. A call is allowed when an ``Allow`` statement names
its IAM action and the resource it touches (IAM wildcards ``*`` and ``?``); nothing here grants
more than IAM would: statements with conditions or ``Not*`` elements are not taken as allowing.

How calls become actions, as IAM authorises them:
- DynamoDB transactions are authorised item by item (``TransactWriteItems`` needs ``PutItem``,
  ``UpdateItem``, ``DeleteItem`` or ``ConditionCheckItem`` on each item's table); ``Query`` and
  ``Scan`` on an index need the action on ``table/<name>/index/<index>``.
- SQS batch calls need the single action (``SendMessageBatch`` → ``sqs:SendMessage``).
- OpenSearch HTTP methods map to ``es:ESHttpGet/Put/Post/Delete/Head`` on ``<domain ARN>/<path>``.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from botplot_dev import ROOT
from botplot_dev.twin.cfn import ACCOUNT, Stack

TOOLS_PYTHON = ROOT / ".venv-tools" / "bin" / "python"
EXPAND = Path(__file__).with_name("expand_policies.py")


@dataclass(frozen=True)
class Statement:
    label: str  # which item of the function's Policies (or which managed policy) it comes from
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    usable: bool  # False for statements IAM would not apply unconditionally

    def allows(self, action: str, resource: str) -> bool:
        return self.usable and any(_glob(a, action, case=False) for a in self.actions) and any(
            _glob(r, resource, case=True) for r in self.resources)


@dataclass(frozen=True)
class Request:
    """One authorisation IAM makes for a call: action and resource."""

    action: str
    resource: str
    call: str  # the call as recorded, for messages


def _glob(pattern: str, value: str, case: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


@lru_cache(maxsize=1)
def expanded_policies(template_text: str) -> dict:
    """{function: [{"label", "statements"}]} from samtranslator, intrinsics left for the stack to resolve."""
    if not TOOLS_PYTHON.exists():
        raise RuntimeError(f"{TOOLS_PYTHON} missing: `make .venv-tools/.installed` installs samtranslator")
    result = subprocess.run([str(TOOLS_PYTHON), str(EXPAND)], input=template_text, capture_output=True, text=True,
                            timeout=300, env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"})
    if result.returncode:
        raise RuntimeError(f"expanding the template's policies failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


def statements(stack: Stack, function: str) -> list[Statement]:
    found = []
    for policy in expanded_policies(json.dumps(stack.template))[function]:
        for raw in policy["statements"]:
            raw = stack.resolve(raw)
            usable = raw.get("Effect") == "Allow" and "Condition" not in raw and "Action" in raw and "Resource" in raw
            actions = raw.get("Action", [])
            resources = raw.get("Resource", [])
            found.append(Statement(policy["label"], tuple([actions] if isinstance(actions, str) else actions),
                                   tuple([resources] if isinstance(resources, str) else resources), usable))
    return found


_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
             "Get": "GetItem"}
_SQS_BATCH = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
              "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


class Authoriser:
    """Turns recorded calls into IAM requests for one stack (ARNs of its tables, queues, secret...)."""

    def __init__(self, stack: Stack, secret_arns: dict[str, str], domain_arn: str):
        self.stack, self.secret_arns, self.domain_arn = stack, secret_arns, domain_arn
        self.region = stack.region

    def _table(self, name: str, index: str | None = None) -> str:
        arn = f"arn:aws:dynamodb:{self.region}:{ACCOUNT}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    def requests(self, call: dict) -> list[Request]:
        if call["kind"] == "opensearch":
            method = call["method"].capitalize()
            text = f"{call['method']} {call['path']}"
            return [Request(f"es:ESHttp{method}", f"{self.domain_arn}/{call['path'].lstrip('/')}", text)]
        service, operation, params = call["service"], call["operation"], call["params"]
        text = f"{service}.{operation}"
        if service == "dynamodb":
            if "TransactItems" in params:
                return [Request(f"dynamodb:{_TRANSACT[kind]}", self._table(table), text)
                        for kind, table in params["TransactItems"]]
            if "RequestItems" in params:
                return [Request(f"dynamodb:{operation}", self._table(t), text) for t in params["RequestItems"]]
            return [Request(f"dynamodb:{operation}", self._table(params["TableName"], params.get("IndexName")), text)]
        if service == "sqs":
            name = params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
            return [Request(f"sqs:{_SQS_BATCH.get(operation, operation)}", f"arn:aws:sqs:{self.region}:{ACCOUNT}:{name}",
                            text)]
        if service == "s3":
            action = {"HeadObject": "GetObject", "ListObjectsV2": "ListBucket"}.get(operation, operation)
            key = params.get("Key")
            return [Request(f"s3:{action}", f"arn:aws:s3:::{params['Bucket']}" + (f"/{key}" if key else ""), text)]
        if service == "secretsmanager":
            secret = params["SecretId"]
            return [Request(f"secretsmanager:{operation}", self.secret_arns.get(secret, secret), text)]
        return [Request(f"{service}:{operation}", "*", text)]


def check(statements_: list[Statement], request: Request) -> Statement | None:
    """The first statement allowing the request, or None."""
    return next((s for s in statements_ if s.allows(request.action, request.resource)), None)
