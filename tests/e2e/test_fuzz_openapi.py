"""Schemathesis against openapi.yaml on the local stack: valid and invalid inputs generated for
every operation; no answer is a 5xx, every error is in the reference's shape, every success matches
its documented schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = schemathesis.openapi.from_path(str(ROOT / "openapi.yaml"))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
ERROR_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


@pytest.fixture(scope="module")
def fuzzed_project(stack):
    return stack.new_project("enterprise", "Fuzzed")


@pytest.mark.parametrize("examples", [12, pytest.param(200, marks=pytest.mark.slow)], ids=["quick", "deep"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_no_server_errors_and_errors_in_the_reference_shape(stack, fuzzed_project, operation, mode, examples):
    """`make test` tries 12 inputs per operation and mode; `make test-slow` 200."""
    headers = {"Authorization": f"Bearer {fuzzed_project['secretKey']}"}
    path_ids = {"projectId": fuzzed_project["projectId"]} if "{projectId}" in operation.path else None

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_ids))
    def check(case):
        case.headers = {**(case.headers or {}), **headers}  # a valid key: the inputs are what is fuzzed here
        response = case.call(base_url=stack.url, timeout=30)
        assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text[:300])
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"error", "code"} and ERROR_CODE.match(body["code"]) and body["error"], body
        elif "application/json" in str(response.headers.get("content-type")):
            case.validate_response(response, checks=[schemathesis.checks.response_schema_conformance])

    check()
