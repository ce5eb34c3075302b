"""Pointing this process's AWS clients (pynamodb models, boto3) at one moto endpoint or another.

The clients cache their endpoint when first used; tests that write through the services to the
local stack's moto switch every cache over, and back afterwards.
"""

from __future__ import annotations

import os
from contextlib import contextmanager


def _forget_clients() -> None:
    from botplot import aws
    from botplot.db import base
    from botplot.db.registry import MODELS_BY_LOGICAL_ID

    for model in MODELS_BY_LOGICAL_ID.values():
        model._connection = None
    base._connection = None
    aws.client.cache_clear()


@contextmanager
def using_endpoint(endpoint: str, environment: dict[str, str]):
    names = ["AWS_ENDPOINT_URL", *environment]
    saved = {name: os.environ.get(name) for name in names}
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ.update(environment)
    from botplot.config import reload_settings

    reload_settings()
    _forget_clients()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reload_settings()
        _forget_clients()
