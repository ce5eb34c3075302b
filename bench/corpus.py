"""The benchmark corpora (real documentation sets) served as local websites, and their questions.

Each corpus is a tarball of HTML pages as a Debian ``*-doc`` package ships them (with the package's
copyright file as ``COPYRIGHT``), of a different shape, so that a ranking change that only suits
one of them shows as a loss on another:

- ``flask``: Flask 2.2.2, a large narrative guide with tutorials and patterns (77 pages);
- ``requests``: Requests 2.28.1, few long tutorial pages, an API page, FAQ and release history;
- ``werkzeug``: Werkzeug 2.2.x, mostly API reference (classes, functions, parameters);
- ``coverage``: coverage.py 6.5.0, a CLI/config reference, FAQ, changelog and troubleshooting;
- ``cookiecutter``: Cookiecutter 1.7.3, a CLI tool's docs shaped like the held-out mypy and borg ones: a
  short page per option or feature (hooks, replay, user config, choice variables...), the command-line
  options, troubleshooting, an API reference and a long changelog (35 pages). A dev corpus: its
  failures may be studied, so that the CLI-tool shape is tuned on without looking at mypy's or borg's;
- ``markdown``: Python-Markdown 3.4.1, built by MkDocs (not Sphinx): a short page per extension (syntax,
  options), a library reference, the command line, the extension API, test tools, contributing, and a
  change log split into one page per release (41 pages). A dev corpus, its questions written blind;
- ``mypy``: mypy 1.0.1, a CLI tool's docs: command-line and config-file reference, error-code lists,
  FAQ and "common issues" troubleshooting, type-system guide (38 pages). Held out: nobody tunes on it.
- ``borg``: BorgBackup 1.2.4, a CLI tool's docs with one page per command (options tables, examples), a
  long FAQ, deployment guides, internals and a long changelog (45 pages). Held out.
- ``exim``: the Exim 4.96 specification, not made by Sphinx (xfpt/DocBook HTML): 65 long reference
  chapters (main options, ACLs, string expansions, routers, transports, authenticators) and three
  generated index chapters, linked from one table-of-contents page (66 pages). Held out.

Every corpus also has held-out questions (``data/heldout/``), written from the page text by someone
who never saw the ranking code or any retrieval output; ``questions(..., heldout=True)`` loads them.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tarfile
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.support import scratch

HERE = Path(__file__).parent
GENERIC_OFF_TOPIC = HERE / "data" / "unanswerable.json"


@dataclass(frozen=True)
class Corpus:
    name: str
    tarball: str  # in bench/corpus/
    directory: str  # the tarball's top directory
    shape: str
    held_out: bool = False  # a corpus kept aside: it has only held-out questions, nobody tunes on it

    @property
    def questions_path(self) -> Path:
        """The corpus's questions; for a held-out corpus these are its held-out ones (it has no others)."""
        return self.heldout_questions_path if self.held_out else HERE / "data" / f"{self.name}_questions.json"

    @property
    def heldout_questions_path(self) -> Path:
        return HERE / "data" / "heldout" / f"{self.name}_questions.json"

    @property
    def off_topic_path(self) -> Path:
        return HERE / "data" / f"{self.name}_off_topic.json"


CORPORA = [
    Corpus("flask", "flask-2.2.2-docs.tar.gz", "flask-docs", "narrative guide"),
    Corpus("requests", "requests-docs.tar.gz", "requests-docs", "tutorial + API + FAQ"),
    Corpus("werkzeug", "werkzeug-docs.tar.gz", "werkzeug-docs", "API reference"),
    Corpus("coverage", "coverage-docs.tar.gz", "coverage-docs", "CLI/config + FAQ + changelog"),
    Corpus("cookiecutter", "cookiecutter-docs.tar.gz", "cookiecutter-docs",
           "CLI tool: a page per option/feature, troubleshooting, API, changelog"),
    Corpus("markdown", "markdown-docs.tar.gz", "markdown-docs",
           "MkDocs site: a page per extension, library/CLI reference, extension API, a page per release"),
    Corpus("mypy", "mypy-docs.tar.gz", "mypy-docs", "CLI tool: flags, config, error codes, FAQ", held_out=True),
    Corpus("borg", "borg-docs.tar.gz", "borg-docs", "CLI tool: a page per command, FAQ, deployment, changelog",
           held_out=True),
    Corpus("exim", "exim-docs.tar.gz", "exim-docs", "non-Sphinx reference manual: 65 long chapters", held_out=True),
]


def unpack(corpus: Corpus) -> Path:
    target = scratch(f"botplot-corpus-{corpus.name}-")
    with tarfile.open(HERE / "corpus" / corpus.tarball) as archive:
        archive.extractall(target, filter="data")
    return target / corpus.directory


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class SiteServer:
    """Serves a directory on 127.0.0.1 (a real website for the crawler), from a process of its own:
    a website is never in the crawler's process, and serving it from a thread there would bill its
    CPU to the crawl and make the crawl's threads wait for the interpreter lock while it answers."""

    def __init__(self, root: Path):
        self.root = root
        self.process = subprocess.Popen([sys.executable, "-m", "bench.corpus", str(root)], cwd=HERE.parent,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.close()
            raise RuntimeError(f"the site server for {root} did not start")

    def page_of(self, url: str) -> str:
        return url.removeprefix(self.url + "/")

    def close(self) -> None:
        self.process.stdin.close()  # the server stops when its stdin closes (or this process dies)
        self.process.wait(timeout=10)


def serve(root: str) -> None:
    """``python -m bench.corpus ROOT``: serve ROOT on 127.0.0.1, print the URL, stop when stdin closes."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=root))
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


def questions(corpus: Corpus, root: Path, heldout: bool = False) -> list[dict]:
    """The questions (``heldout=True``: the held-out ones), after checking each fact really is on its page."""
    from botplot.knowledge.extract import extract_html

    path = corpus.heldout_questions_path if heldout else corpus.questions_path
    items = json.loads(path.read_text())
    texts: dict[str, str] = {}
    for item in items:
        if item["page"] not in texts:
            page = extract_html((root / item["page"]).read_text(), "http://corpus/" + item["page"])
            texts[item["page"]] = (page.title + "\n" + page.text).lower()
        assert item["fact"].lower() in texts[item["page"]], f"fact not on its page: {item}"
    return items


def off_topic(corpus: Corpus) -> list[str]:
    """Questions the corpus cannot answer: generic ones, and ones near its subject but not in it."""
    near = json.loads(corpus.off_topic_path.read_text()) if corpus.off_topic_path.exists() else []
    return json.loads(GENERIC_OFF_TOPIC.read_text()) + near


if __name__ == "__main__":
    serve(sys.argv[1])
