"""moto's server in a process of its own (``python -m botplot_dev.moto_process PORT [STATE_FILE]``).

The local stack runs every function in one Python process; keeping the AWS emulator out of it
lets the two use separate cores instead of sharing one interpreter lock.

With a state file, what moto holds in DynamoDB and S3 (projects, keys, sources, conversations,
webhooks, logos...) is restored from it at start and saved to it when the process stops, and
every ``AUTOSAVE_SECONDS`` while it runs, so a crash loses at most that much. moto's backends are
plain Python objects, so the snapshot is a pickle of them. SQS is not saved (its queues hold
locks that do not pickle): the stack re-creates its queues and restarts interrupted crawls.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

AUTOSAVE_SECONDS = 30


def _backends() -> dict:
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends

    return {"dynamodb": dynamodb_backends, "s3": s3_backends}


def restore(path: Path) -> int:
    """Put the saved region backends back; returns how many."""
    if not path.exists():
        return 0
    with path.open("rb") as file:
        saved = pickle.load(file)
    backends = _backends()
    for (service, account, region), backend in saved.items():
        backends[service][account][region] = backend
    return len(saved)


def save(path: Path) -> None:
    """Write the snapshot atomically (a crash mid-write leaves the previous one)."""
    state = {(service, account, region): backend
             for service, backend_dict in _backends().items()
             for account, regions in list(backend_dict.items())
             for region, backend in list(regions.items())}
    for attempt in range(5):  # requests may change a dict while it is being pickled: try again
        try:
            data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
            break
        except RuntimeError:
            if attempt == 4:
                raise
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def spawn(state_file: Path | None = None) -> tuple[str, subprocess.Popen]:
    """Start this module's server in a child process; returns its URL and the process, which stops
    when its stdin is closed (or this process dies) after saving ``state_file`` if one is given."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [sys.executable, "-m", "botplot_dev.moto_process", str(port)] + ([str(state_file)] if state_file else [])
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if process.stdout.readline().strip() != "ready":
        process.kill()  # whatever state it is in, it must not outlive the caller's failure
        process.wait()
        raise RuntimeError("moto's server did not start")
    return f"http://127.0.0.1:{port}", process


def main() -> int:
    from moto.server import ThreadedMotoServer

    from botplot_dev import moto_tuning

    port = int(sys.argv[1])
    state_file = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    moto_tuning.install()
    if state_file:
        restore(state_file)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C reaches the whole process group: the stack stops first, then stops us (SIGTERM or
    # our stdin closing), so that its last writes are in the snapshot
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    while not stop.wait(AUTOSAVE_SECONDS if state_file else None):
        try:
            save(state_file)
        except Exception as error:  # a failed autosave must not stop the emulator; the final save retries
            print(f"moto state autosave failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
    server.stop()
    if state_file:
        save(state_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
