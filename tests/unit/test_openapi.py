"""openapi.yaml is generated from the apps, is up to date, and covers everything the reference promises."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from botplot_dev.openapi import render

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "botplot-api-reference.txt"


def test_the_committed_document_is_what_the_apps_generate():
    assert (ROOT / "openapi.yaml").read_text() == render(), "openapi.yaml is stale: run `make openapi`"


def test_the_readme_links_only_to_files_a_clone_has():
    """docs/ holds the reference; a link outside the repository (../shared/...) is broken in a clone."""
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\((?!https?://|#)([^)#\s]+)", readme) + re.findall(r"`((?:\.\./|docs/)[^`\s]+)`", readme)
    assert "docs/botplot-api-reference.txt" in targets
    missing = [t for t in targets if not (ROOT / t).resolve().is_relative_to(ROOT) or not (ROOT / t).exists()]
    assert missing == []


def reference_routes() -> list[dict]:
    """Each route of the reference: method, path, parameters and the response's field names."""
    text = REFERENCE.read_text()
    starts = [m for m in re.finditer(r"(/api/v1/[\w/:.-]+?)(Public Key|Secret Key)", text)]
    routes = []
    for i, match in enumerate(starts):
        section = text[match.end(): starts[i + 1].start() if i + 1 < len(starts) else len(text)]
        method = re.search(r'curl -X (\w+) "https://botplot\.app(/api/v1/[^"]+)"', section).group(1)
        path = re.sub(r":(\w+)", r"{\1}", match.group(1))
        parameters = re.findall(r"^(\w+) \| (?:string|number|boolean|string\[\]) \|", section, re.M)
        response = section.split("Response", 1)[1] if "Response" in section else ""
        response = response.split("Every webhook delivery")[0]
        fields = set(re.findall(r'"(\w+)"\s*:', response))
        routes.append({"method": method.lower(), "path": path, "parameters": parameters, "fields": fields})
    return routes


def _names(schema: dict, doc: dict, seen=None) -> set[str]:
    """Every property name reachable from a schema."""
    seen = set() if seen is None else seen
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref in seen:
            return set()
        seen.add(ref)
        return _names(doc["components"]["schemas"][ref.rsplit("/", 1)[1]], doc, seen)
    names = set(schema.get("properties", {}))
    children = list(schema.get("properties", {}).values()) + schema.get("anyOf", []) + schema.get("allOf", [])
    if "items" in schema:
        children.append(schema["items"])
    for child in children:
        if isinstance(child, dict):
            names |= _names(child, doc, seen)
    return names


ROUTES = reference_routes()


def test_the_reference_was_read():
    assert len(ROUTES) == 22
    assert {"method": "post", "path": "/api/v1/chat"}.items() <= ROUTES[0].items()


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r['method'].upper()} {r['path']}")
def test_every_reference_route_method_and_field_is_documented(route):
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    operation = doc["paths"].get(route["path"], {}).get(route["method"])
    assert operation is not None, f"{route['method'].upper()} {route['path']} is missing"
    accepted = {p["name"] for p in operation.get("parameters", [])}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body:
        accepted |= _names(body, doc)
    assert set(route["parameters"]) <= accepted, set(route["parameters"]) - accepted
    ok = next(r for status, r in operation["responses"].items() if status.startswith("2"))
    returned = set()
    for content in ok.get("content", {}).values():
        returned |= _names(content.get("schema", {}), doc)
    if route["path"] == "/api/v1/chat/stream":  # an SSE stream: its events are documented in the description
        return
    assert route["fields"] <= returned, route["fields"] - returned
    assert set(operation["responses"]) >= {"400", "401", "403", "404", "429", "500"}


def test_webhook_payloads_are_documented():
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    assert set(doc["webhooks"]) == {"conversation.started", "conversation.ended", "message.created", "lead.captured",
                                    "handoff.requested", "rating.received"}
    payload = _names({"$ref": "#/components/schemas/WebhookPayload"}, doc)
    assert {"event", "project_id", "timestamp", "data", "conversation_id", "message_id", "role", "content",
            "confidence_score", "created_at"} <= payload
