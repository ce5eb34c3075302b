"""The benchmark corpus (Flask 2.2.2 docs) served as a local website, and its questions."""

from __future__ import annotations

import functools
import json
import tarfile
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).parent
TARBALL = HERE / "corpus" / "flask-2.2.2-docs.tar.gz"
QUESTIONS = HERE / "data" / "flask_questions.json"


def unpack() -> Path:
    target = Path(tempfile.mkdtemp(prefix="botplot-corpus-"))
    with tarfile.open(TARBALL) as archive:
        archive.extractall(target, filter="data")
    return target / "flask-docs"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class SiteServer:
    """Serves a directory on 127.0.0.1 (a real website for the crawler)."""

    def __init__(self, root: Path):
        self.root = root
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def page_of(self, url: str) -> str:
        return url.removeprefix(self.url + "/")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def questions(root: Path) -> list[dict]:
    """The questions, after checking each fact really is on its page."""
    from botplot.knowledge.extract import extract_html

    items = json.loads(QUESTIONS.read_text())
    texts: dict[str, str] = {}
    for item in items:
        if item["page"] not in texts:
            page = extract_html((root / item["page"]).read_text(), "http://corpus/" + item["page"])
            texts[item["page"]] = (page.title + "\n" + page.text).lower()
        assert item["fact"].lower() in texts[item["page"]], f"fact not on its page: {item}"
    return items
