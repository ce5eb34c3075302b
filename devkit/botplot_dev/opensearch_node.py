"""A real OpenSearch node on 127.0.0.1 for the tests and ``BOTPLOT_INDEX=opensearch make run``.

The node is OpenSearch 2.19.1 resolved from Maven Central by ``devkit/opensearch/pom.xml`` (cached
in ``~/.m2``; no Docker, no tarball), with transport-netty4, lang-painless, analysis-common, k-NN and
neural-search loaded as classpath plugins by ``BotPlotNode``. It differs from the AWS domain in
ways the README lists (one node, no security plugin, k-NN engine ``lucene`` because the Maven zip of
k-NN carries no faiss JNI library).

Use it as a context manager::

    with OpenSearchNode() as node:
        ...  # node.url

Every wait is bounded, the node's port is chosen by the node itself (read back from its ports
file, so two sessions never race for one), and it stops with its ``with`` block, on SIGTERM, or
when the Python process that started it dies (its standard input closes).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1] / "opensearch"
TARGET = PROJECT / "target"
PLUGINS = (  # the modules and plugins the BotPlot index uses, loaded by class
    "org.opensearch.transport.Netty4Plugin",
    "org.opensearch.painless.PainlessPlugin",
    "org.opensearch.analysis.common.CommonAnalysisPlugin",
    "org.opensearch.index.reindex.ReindexPlugin",
    "org.opensearch.knn.plugin.KNNPlugin",
    "org.opensearch.neuralsearch.plugin.NeuralSearch",
)
# the engine this node can run: faiss needs a JNI library the Maven zip of k-NN does not carry
KNN_ENGINE = "lucene"
HOW_TO_GET_IT = ("install Java 17+ and Maven 3.8+ (Debian: apt-get install openjdk-17-jdk-headless maven); "
                 "the first run downloads about 30 MB from Maven Central into ~/.m2")


class NodeUnavailable(RuntimeError):
    """Java or Maven is missing, or the node could not be built or started."""


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def missing() -> str | None:
    """Why a node cannot run here (None when Java and Maven are both present)."""
    absent = [name for name, path in (("java", _java()), ("mvn", shutil.which("mvn"))) if not path]
    return f"{' and '.join(absent)} not found" if absent else None


def _sources() -> list[Path]:
    return [PROJECT / "pom.xml", *sorted((PROJECT / "src").rglob("*.java"))]


def build(timeout: float = 900) -> Path:
    """Resolve the server and plugins and compile the launcher (``mvn package``), once: later calls
    see the stamp and return at once. A lock keeps concurrent sessions from building together."""
    reason = missing()
    if reason:
        raise NodeUnavailable(f"{reason}: {HOW_TO_GET_IT}")
    TARGET.mkdir(exist_ok=True)
    stamp = TARGET / ".botplot-built"
    with open(TARGET / ".botplot-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and all(stamp.stat().st_mtime >= p.stat().st_mtime for p in _sources()):
            return TARGET
        try:
            result = subprocess.run([shutil.which("mvn"), "-q", "-B", "package"], cwd=PROJECT, timeout=timeout,
                                    capture_output=True, text=True)
        except subprocess.TimeoutExpired as e:
            raise NodeUnavailable(f"mvn package took over {timeout:.0f} s") from e
        if result.returncode != 0:
            raise NodeUnavailable(f"mvn package failed:\n{(result.stdout + result.stderr)[-3000:]}")
        stamp.touch()
    return TARGET


def classpath(target: Path = TARGET) -> str:
    parts = [target / "classes", target / "lib" / "*"]
    parts += [plugin / "*" for plugin in sorted((target / "plugins").iterdir()) if plugin.is_dir()]
    return os.pathsep.join(str(p) for p in parts)


def _get(url: str, timeout: float) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1 only
        return json.loads(response.read())


class OpenSearchNode:
    """One node in a directory of its own (a temporary one unless ``home`` is given)."""

    def __init__(self, home: str | Path | None = None, heap: str = "512m", start_timeout: float = 240):
        self._own_home = home is None
        self.home = Path(home) if home else Path(tempfile.mkdtemp(prefix="botplot-opensearch-"))
        self.heap = heap
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        self.url: str | None = None
        self.start_seconds: float | None = None

    @property
    def log(self) -> Path:
        return self.home / "node.log"

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def start(self) -> "OpenSearchNode":
        target = build()
        began = time.monotonic()
        self.home.mkdir(parents=True, exist_ok=True)
        ports = self.home / "logs" / "http.ports"
        ports.unlink(missing_ok=True)
        command = [_java(), f"-Xms{self.heap}", f"-Xmx{self.heap}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                   "-Djava.awt.headless=true", "-Dlog4j2.disable.jmx=true", "-Dfile.encoding=UTF-8",
                   "-cp", classpath(target), "app.botplot.devkit.BotPlotNode", str(self.home), "0", *PLUGINS]
        with open(self.log, "wb") as log:
            # stdin stays a pipe we hold: when this process dies, the node sees EOF and exits
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = began + self.start_timeout
        try:
            while not ports.exists():
                self._check_alive()
                if time.monotonic() > deadline:
                    raise NodeUnavailable(f"no HTTP port after {self.start_timeout:.0f} s:\n{self._log_tail()}")
                time.sleep(0.2)
            self.url = "http://" + ports.read_text().split()[0]
            remaining = max(1, int(deadline - time.monotonic()))
            health = _get(f"{self.url}/_cluster/health?wait_for_status=green&timeout={remaining}s", remaining + 5)
            if health["status"] != "green":
                raise NodeUnavailable(f"cluster {health['status']} after {self.start_timeout:.0f} s")
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise NodeUnavailable(f"the node exited with {self.process.returncode}:\n{self._log_tail()}")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def resident_mb(self) -> float | None:
        """The node's resident memory (heap, metaspace, code, direct buffers, mapped index pages)."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except (OSError, TypeError):
            return None
        return None

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (the node closes itself cleanly), then SIGKILL if it has not exited in time."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if process is not None and process.stdin:
            process.stdin.close()
        if self._own_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> "OpenSearchNode":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> int:
    """``python -m botplot_dev.opensearch_node``: run a node until Ctrl-C, printing its URL."""
    stop = False

    def _stop(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        with OpenSearchNode() as node:
            print(f"OpenSearch {node.url} (pid {node.pid}, green after {node.start_seconds:.1f} s, "
                  f"k-NN engine {KNN_ENGINE}); Ctrl-C stops it", flush=True)
            while not stop:
                node._check_alive()
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except NodeUnavailable as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
