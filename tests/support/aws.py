"""Pointing this process's AWS clients (pynamodb models, boto3) at one moto endpoint or another.

The clients cache their endpoint when first used; tests that write through the services to the
local stack's moto switch every cache over, and back afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest


def forget_clients() -> None:
    """Drop every client naming an endpoint: pynamodb's connections, ``botplot.aws``'s clients and the
    functions' modules that built one at import (loaded again, cold, when next invoked)."""
    from botplot import aws
    from botplot.db import base
    from botplot.db.registry import MODELS_BY_LOGICAL_ID
    from botplot_dev.lambda_runtime import forget_modules_holding_aws_clients

    for model in MODELS_BY_LOGICAL_ID.values():
        model._connection = None
    base._connection = None
    aws.client.cache_clear()
    forget_modules_holding_aws_clients()


@contextmanager
def using_endpoint(endpoint: str, environment: dict[str, str]):
    from botplot.config import reload_settings

    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"AWS_ENDPOINT_URL": endpoint, **environment}.items():
            patch.setenv(name, value)
        reload_settings()
        forget_clients()
        try:
            yield
        finally:
            patch.undo()
            reload_settings()
            forget_clients()
