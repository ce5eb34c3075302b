"""Schemathesis against openapi.yaml on the local stack, with every check it has: valid and invalid
inputs generated for every operation; no answer is a 5xx, every error is in the reference's shape,
every status, header and body is the documented one, the document's valid inputs are accepted and
its invalid ones refused, unsupported methods are 405 with Allow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = schemathesis.openapi.from_path(str(ROOT / "openapi.yaml"))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
ERROR_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Refusals of well-formed input that depend on the world or on stored state, which a schema cannot
# say: a webhook host must resolve to a public address, a logo's bytes must be the image it
# declares, verify-domain needs a custom domain set first. Only these codes, on these operations.
STATE_DEPENDENT = {
    ("POST", "/api/v1/projects/{projectId}/webhooks"): {"INVALID_WEBHOOK_URL", "WEBHOOK_LIMIT"},
    ("PATCH", "/api/v1/projects/{projectId}/webhooks/{webhookId}"): {"INVALID_WEBHOOK_URL"},
    ("PATCH", "/api/v1/projects/{projectId}/branding"): {"INVALID_LOGO", "LOGO_TOO_LARGE", "INVALID_DOMAIN"},
    ("POST", "/api/v1/projects/{projectId}/verify-domain"): {"NO_CUSTOM_DOMAIN"},
}
# A list's `cursor` is valid only as a nextCursor the server signed for that list and its filters,
# which a schema cannot generate, and only without `offset`, which OpenAPI cannot say of two query
# parameters: on every operation that takes one, these refusals are not rejected valid inputs.
SIGNED_ONLY = {"INVALID_CURSOR"}
CURSOR_AND_OFFSET = "VALIDATION_ERROR"


@pytest.fixture(scope="module")
def fuzzed_project(stack):
    return stack.new_project("enterprise", "Fuzzed")


@pytest.mark.parametrize("examples", [12, pytest.param(200, marks=pytest.mark.slow)], ids=["quick", "deep"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_the_server_does_what_the_document_says(stack, fuzzed_project, operation, mode, examples):
    """`make test` tries 12 inputs per operation and mode; `make test-slow` 200."""
    headers = {"Authorization": f"Bearer {fuzzed_project['secretKey']}"}
    path_ids = {"projectId": fuzzed_project["projectId"]} if "{projectId}" in operation.path else None
    dependent = STATE_DEPENDENT.get((operation.method.upper(), operation.path), set())
    if any(parameter.name == "cursor" for parameter in operation.query):
        dependent = dependent | SIGNED_ONLY

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_ids))
    def check(case):
        if not case.meta.is_negative_at(ParameterLocation.HEADER):  # a case without a key stays without one
            case.headers = {**(case.headers or {}), **headers}  # a valid key: the inputs are what is fuzzed
        response = case.call(base_url=stack.url, timeout=30)
        excluded = []
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"error", "code"} and ERROR_CODE.match(body["code"]) and body["error"], body
            both = {"cursor", "offset"} <= set(case.query or {})
            if response.status_code == 400 and (body["code"] in dependent or both and body["code"] == CURSOR_AND_OFFSET):
                excluded.append(positive_data_acceptance)
        case.validate_response(response, headers=case.headers, excluded_checks=excluded,
                               transport_kwargs={"base_url": stack.url, "timeout": 30})

    check()
