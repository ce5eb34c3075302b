"""Bounded polling for what the tests wait on: a condition that becomes true through a cache or a
background worker, and a knowledge source whose crawl or resync runs in the background."""

from __future__ import annotations

import time

import httpx


def eventually(check, timeout: float = 15, interval: float = 0.2):
    """Call ``check`` until it returns something true or ``timeout`` seconds pass; its last value (so
    ``assert eventually(...)`` fails with what it saw last)."""
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(interval)
    return value


def wait_until_processed(client: httpx.Client, source_id: str, timeout: float = 120, interval: float = 0.2) -> dict:
    """Poll ``GET /api/v1/knowledge/{id}`` until the source is no longer ``processing``; that answer's
    body (source, chunks, crawlReport). Fails the test if it is still processing after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/api/v1/knowledge/{source_id}")
        assert r.status_code == 200, r.text
        body = r.json()
        if body["source"]["status"] != "processing":
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"source {source_id} still processing after {timeout} s")
        time.sleep(interval)
