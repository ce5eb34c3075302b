"""moto's server with every table, queue, bucket and secret of template.yaml, for in-process tests
(the ``moto_endpoint`` fixture).

Provisioning costs seconds (a dozen tables with their indexes and streams) and mutation testing
starts a test session for every mutant. moto keeps its state in this process's memory, so
:func:`prepare` provisions it once in a process that then only forks (mutmut's fork server): every
forked session starts from its own copy-on-write copy of the pristine state, and only starts a
server on a port of its own. Provisioning runs the unmutated code before any mutant is chosen; it
uses the template, ``botplot.config`` and the table registry, none of them a mutated module.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

#: what :func:`prepare` provisioned: (pid, endpoint, resource environment); None when nothing is
#: prepared, or once a forked session has taken it (a second session in the same process starts afresh)
_prepared: tuple[int, str, dict[str, str]] | None = None


def _start():
    from moto.server import ThreadedMotoServer

    from botplot_dev import moto_tuning

    moto_tuning.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def _provision(endpoint: str) -> dict[str, str]:
    """Empty moto's state and create the template's resources through ``endpoint``; their environment."""
    import httpx

    from botplot_dev import template as tpl
    from botplot_dev.provision import Provisioned

    # moto's state is process-wide: start empty even in a process that ran a session before
    httpx.post(f"{endpoint}/moto-api/reset").raise_for_status()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    return Provisioned(tpl.load(), "us-east-1").resource_environment()


def prepare() -> None:
    """Provision moto in this process for the sessions of processes forked from it; stop the server
    (its threads would not survive a fork anyway)."""
    global _prepared
    server, endpoint = _start()
    try:
        environment = _provision(endpoint)
    finally:
        server.stop()
    _prepared = (os.getpid(), endpoint, environment)


def prepared() -> bool:
    return _prepared is not None


def unprepare() -> None:
    global _prepared
    _prepared = None


@contextmanager
def running() -> Iterator[tuple[str, dict[str, str]]]:
    """A moto server for this session, provisioned (from the state :func:`prepare` left before this
    process was forked, else now); yields its endpoint and the environment naming its resources."""
    global _prepared
    prepared, _prepared = _prepared, None
    forked = prepared is not None and prepared[0] != os.getpid()
    server, endpoint = _start()
    try:
        if forked:
            _, old, environment = prepared
            # queue URLs name the server that created them; moto finds a queue by the URL's last part
            environment = {k: v.replace(old, endpoint) for k, v in environment.items()}
        else:
            environment = _provision(endpoint)
        yield endpoint, environment
    finally:
        if not forked:  # a forked session's process ends with it, and its server with it (stopping waits 0.5 s)
            server.stop()
