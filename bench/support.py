"""What benchmarks share: moto with the template's resources, and a DynamoDB call counter."""

from __future__ import annotations

import atexit
import math
import os
import shutil
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path


def scratch(prefix: str = "botplot-bench-") -> Path:
    """A temporary folder removed when this process exits (unpacked corpora, index files, a
    baseline's code: hundreds of MB over a day of runs that ``mkdtemp`` alone left behind)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def start_moto() -> str:
    """moto's server with everything template.yaml declares, in a process of its own as the local
    stack runs it (in this one, its request threads would bill their CPU to what is measured and hold
    the interpreter lock against it); sets the environment. It stops when this process exits."""
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true",
                       "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "ERROR"})
    from botplot_dev import moto_process

    os.environ["AWS_ENDPOINT_URL"], process = moto_process.spawn()
    atexit.register(_stop, process)

    from botplot.config import reload_settings
    from botplot_dev import template as tpl
    from botplot_dev.provision import Provisioned

    os.environ.update(Provisioned(tpl.load(), "us-east-1").resource_environment())
    reload_settings()
    return os.environ["AWS_ENDPOINT_URL"]


def _stop(process) -> None:
    process.stdin.close()
    process.wait(timeout=10)


def _value_size(value) -> int:
    (kind, data), = value.items()
    if kind in ("S", "B"):
        return len(data.encode() if isinstance(data, str) else data)
    if kind == "N":
        return len(data.lstrip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in data)
    if kind == "M":
        return 3 + sum(len(k) + _value_size(v) + 1 for k, v in data.items())
    return sum(len(v) if isinstance(v, str) else 8 for v in data)  # SS, NS, BS


def item_size(item: dict) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values (the documented rules)."""
    return sum(len(name) + _value_size(value) for name, value in item.items())


class DynamoCounter:
    """Counts DynamoDB API calls and the capacity they consumed, with botocore event hooks on every
    client our code uses (each pynamodb model has its own connection)."""

    def __init__(self):
        self.calls: Counter = Counter()
        self.read_units = 0.0
        self.write_units = 0.0
        self.estimated_read_units = 0.0
        self._recording = False
        self._clients: list = []

    def _before(self, params, **_):
        if self._recording:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _after(self, http_response, parsed, model, **_):
        if not self._recording:
            return
        self.calls[model.name] += 1
        returned = parsed.get("Items") or ([parsed["Item"]] if parsed.get("Item") else [])
        if returned:  # what DynamoDB would charge: 0.5 RCU per 4 KB read, eventually consistent
            size = sum(item_size(item) for item in returned)
            self.estimated_read_units += 0.5 * max(1, math.ceil(size / 4096))
        elif model.name in ("GetItem", "Query"):
            self.estimated_read_units += 0.5
        consumed = parsed.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            units = entry.get("CapacityUnits", 0)
            if model.name in ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"):
                self.read_units += entry.get("ReadCapacityUnits", units)
            else:
                self.write_units += entry.get("WriteCapacityUnits", units)

    def attach(self, *extra_clients) -> "DynamoCounter":
        """Hook every client our code uses (pass others, e.g. Powertools Idempotency's, explicitly)."""
        from botplot.db.base import connection
        from botplot.db.registry import MODELS_BY_LOGICAL_ID

        clients = [m._get_connection().connection.client for m in MODELS_BY_LOGICAL_ID.values()]
        clients.append(connection().client)
        clients.extend(extra_clients)
        for client in clients:
            if any(client is c for c in self._clients):
                continue
            client.meta.events.register("before-parameter-build.dynamodb.*", self._before)
            client.meta.events.register("after-call.dynamodb.*", self._after)
            self._clients.append(client)
        return self

    @contextmanager
    def recording(self):
        self.calls.clear()
        self.read_units = self.write_units = self.estimated_read_units = 0.0
        self._recording = True
        try:
            yield self
        finally:
            self._recording = False

    @property
    def total(self) -> int:
        return sum(self.calls.values())
