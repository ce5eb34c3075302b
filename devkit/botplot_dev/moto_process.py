"""moto's server in a process of its own (``python -m botplot_dev.moto_process PORT``).

The local stack runs every function in one Python process; keeping the AWS emulator out of it
lets the two use separate cores instead of sharing one interpreter lock.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from botplot_dev import moto_tuning


def main() -> int:
    from moto.server import ThreadedMotoServer

    port = int(sys.argv[1])
    moto_tuning.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # the parent's death closes our stdin: stop then too, so no emulator outlives the stack
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
