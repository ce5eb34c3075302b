"""An OpenAI-compatible API on 127.0.0.1 for tests: chat completions (plain and streamed in OpenAI's
SSE format) and embeddings, with scripted failures, delays and a record of every request."""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIMENSIONS = 256


def embed(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """A deterministic bag-of-words embedding: texts sharing words are similar."""
    vector = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        slot = int(hashlib.md5(word.encode()).hexdigest(), 16) % dimensions
        vector[slot] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class FakeOpenAI:
    """``plans`` is a queue of behaviours for the next chat completions, each a dict with any of:
    ``status`` (answer with this HTTP error), ``hang`` (sleep this long first), ``tokens`` (the answer's
    pieces), ``delay`` (seconds between streamed pieces), ``cut_after`` (drop the stream after n pieces).
    With no plan the answer is ``default_tokens``."""

    default_tokens = ["Based", " on", " our", " docs", ":", " yes", "."]

    def __init__(self, dimensions: int = DIMENSIONS, api_key: str | None = None):
        """``dimensions``: of the embeddings (1536 is text-embedding-3-small's, which an OpenSearch
        index created for that model requires); ``api_key``: when set, other keys are answered 401
        as OpenAI does."""
        self.dimensions = dimensions
        self.api_key = api_key
        self.chat_requests: list[dict] = []
        self.embedding_requests: list[dict] = []
        self.plans: list[dict] = []
        self.embedding_failures = 0  # the next n embedding requests answer 500
        self.embedding_delay = 0.0  # seconds each embedding answer waits (a slow model endpoint)
        #: scripted embeddings: a text whose words (as ``embed`` reads them, joined by one space) are a key
        #: gets this vector instead, to place a text at an exact cosine from another
        self.vectors: dict[str, list[float]] = {}
        self.rejected = 0  # requests answered 401
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                try:
                    self._post()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def _post(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if fake.api_key and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    fake.rejected += 1
                    self._json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                               "code": "invalid_api_key"}})
                    return
                if self.path.endswith("/embeddings"):
                    fake.embedding_requests.append(body)
                    with fake.lock:
                        failing = fake.embedding_failures > 0
                        fake.embedding_failures -= failing
                    if failing:
                        self._json(500, {"error": {"message": "scripted failure", "type": "server_error"}})
                        return
                    time.sleep(fake.embedding_delay)
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    self._json(200, {"object": "list", "model": body["model"], "data": [
                        {"object": "embedding", "index": i, "embedding": fake.vector(t)} for i, t in enumerate(inputs)],
                        "usage": {"prompt_tokens": 1, "total_tokens": 1}})
                    return
                if not self.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "not found"}})
                    return
                with fake.lock:
                    fake.chat_requests.append(body)
                    plan = fake.plans.pop(0) if fake.plans else {}
                if plan.get("hang"):
                    time.sleep(plan["hang"])
                if plan.get("status"):
                    self._json(plan["status"], {"error": {"message": "scripted failure", "type": "server_error"}})
                    return
                tokens = plan.get("tokens", fake.default_tokens)
                if not body.get("stream"):
                    self._json(200, {"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                                     "choices": [{"index": 0, "finish_reason": "stop",
                                                  "message": {"role": "assistant", "content": "".join(tokens)}}]})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for n, token in enumerate(tokens):
                    if plan.get("cut_after") is not None and n == plan["cut_after"]:
                        self.wfile.write(b"data: {\"broken")  # an unfinished event, then the connection drops
                        self.wfile.flush()
                        return
                    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                             "choices": [{"index": 0, "delta": {"content": token}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(plan.get("delay", 0))
                end = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()

            def _json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def vector(self, text: str) -> list[float]:
        """The embedding answered for ``text``: the scripted one for its words, else the bag of words."""
        scripted = self.vectors.get(" ".join(re.findall(r"[a-z0-9]+", text.lower())))
        return scripted if scripted is not None else embed(text, self.dimensions)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
