"""Webhook receivers on 127.0.0.1 that verify every delivery with the reference's own snippets."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.ports import free_port


# ---- the reference's Python snippet, verbatim ------------------------------------------------------
def verify_webhook(payload: bytes, signature: str, secret: str) -> bool:
    expected = "sha256=" + hmac.new(
        secret.encode(),
        payload,
        hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(signature, expected)
# -----------------------------------------------------------------------------------------------------


class PythonReceiver:
    """Records each delivery (headers, raw body, verdict of ``verify_webhook``) and answers with the
    next scripted status (``statuses``; 200 once they run out), after ``delay`` seconds, with a
    ``Location`` header when ``location`` is set."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhooks/botplot"
        self.secret = ""
        self.received: list[dict] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        self.location: str | None = None  # sent as Location with every answer (for redirects)
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> "PythonReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                entry = {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "at": time.time(),
                         "valid": verify_webhook(body, self.headers.get("X-BotPlot-Signature", ""), receiver.secret)}
                receiver.received.append(entry)
                time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                reply = b"OK" if status < 300 else b"Invalid signature" if status == 401 else b"Temporary failure"
                try:
                    self.send_response(status)
                    if receiver.location:
                        self.send_header("Location", receiver.location)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self, name: str | None = None) -> list[dict]:
        out = [json.loads(r["body"]) | {"_delivery": r["headers"]["x-botplot-delivery"]} for r in self.received]
        return [e for e in out if name is None or e["event"] == name]

    def wait_for(self, predicate, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.1)
        raise AssertionError(f"receiver did not see what was expected in {timeout}s: {len(self.received)} received")


class NodeReceiver:
    """The reference's Node snippet (``verifyWebhook`` over ``JSON.stringify(req.body)``) in a server;
    each delivery's verdict is printed as a JSON line and collected here."""

    SCRIPT = Path(__file__).with_name("node_receiver.js")

    def __init__(self, secret: str, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhooks/botplot"
        self.secret = secret
        self.results: list[dict] = []
        self.process: subprocess.Popen | None = None

    def start(self) -> "NodeReceiver":
        self.process = subprocess.Popen(["node", str(self.SCRIPT), str(self.port), self.secret],
                                        stdout=subprocess.PIPE, text=True, env={**os.environ})
        assert self.process.stdout.readline().strip() == "listening"
        threading.Thread(target=self._collect, daemon=True).start()
        return self

    def _collect(self) -> None:
        for line in self.process.stdout:
            self.results.append(json.loads(line))

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
