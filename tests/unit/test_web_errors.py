"""The error handlers every app shares, exercised on an app in-process (no AWS reached)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from botplot_dev.lambda_runtime import load_module


def test_the_apps_own_405_names_every_method_of_the_path():
    """In Lambda each app sees only its own routes; a path with two routes (GET and DELETE) must
    name both, not only the first route Starlette matched."""
    with TestClient(load_module("KnowledgeFunction").app) as client:
        r = client.put("/api/v1/knowledge/6ba7b810-9dad-11d1-80b4-00c04fd430c8")
    assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED"
    assert r.headers["Allow"] == "DELETE, GET"
