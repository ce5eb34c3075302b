"""Requests to the search endpoint are SigV4-signed with the template's settings, whatever its host
name: an existing domain behind a custom endpoint (``ExistingOpenSearchEndpoint``) refuses
unsigned requests. A local server stands in for the domain and records what it receives."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from botplot.config import reload_settings
from botplot.knowledge.index import default_index
from botplot_dev import template as tpl


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, str]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).received.append({k.lower(): v for k, v in self.headers.items()})
        body = json.dumps({"hits": {"hits": []}, "responses": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _answer

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture
def search_endpoint():
    _Recorder.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _query_through_default_index(monkeypatch, endpoint: str, sigv4: str | None) -> dict[str, str]:
    monkeypatch.setenv("BOTPLOT_INDEX", "opensearch")
    monkeypatch.setenv("OPENSEARCH_URL", endpoint)
    if sigv4 is None:
        monkeypatch.delenv("OPENSEARCH_SIGV4", raising=False)
    else:
        monkeypatch.setenv("OPENSEARCH_SIGV4", sigv4)
    reload_settings()
    default_index.cache_clear()
    try:
        default_index().list_source("p1", "s1", limit=10, offset=0)
    finally:
        monkeypatch.undo()
        reload_settings()
        default_index.cache_clear()
    assert _Recorder.received, "the search endpoint received nothing"
    return _Recorder.received[-1]


def test_the_template_signs_requests_to_an_endpoint_of_any_host_name(monkeypatch, search_endpoint):
    sigv4 = tpl.environment("ChatFunction")["OPENSEARCH_SIGV4"]
    headers = _query_through_default_index(monkeypatch, search_endpoint, sigv4)
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/es/aws4_request" in headers["authorization"]
    assert "x-amz-date" in headers


def test_without_the_setting_only_amazonaws_hosts_are_signed(monkeypatch, search_endpoint):
    headers = _query_through_default_index(monkeypatch, search_endpoint, None)
    assert "authorization" not in headers
