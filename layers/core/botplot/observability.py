"""Powertools logging, metrics and tracing, set up once per process.

Logs are JSON with the request id as correlation id and the project id appended; keys, secrets
and the OpenAI key are never passed to the logger. Metrics use ``EphemeralMetrics`` so that each
request or batch flushes its own EMF record even when the local stack serves many at once.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "BotPlot")
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "botplot")

logger = Logger(service=SERVICE)
tracer = Tracer(patch_modules=("botocore",))

Unit = MetricUnit


@contextmanager
def metrics(**dimensions: str) -> Iterator[EphemeralMetrics]:
    """An EMF record with these dimensions, flushed when the block ends."""
    record = EphemeralMetrics(namespace=NAMESPACE)
    for name, value in dimensions.items():
        record.add_dimension(name=name, value=str(value))
    try:
        yield record
    finally:
        record.flush_metrics()


def count(name: str, value: float = 1, **dimensions: str) -> None:
    with metrics(**dimensions) as record:
        record.add_metric(name=name, unit=MetricUnit.Count, value=value)


def dependency_failed(metric: str, message: str) -> None:
    """A dependency failed and the caller carries on without it: an error line with the cause (call
    it from the ``except`` block: the traceback is logged) and one ``metric`` (dimension ``service``),
    which an alarm in template.yaml watches. The visitor still gets an answer, so nothing else
    would show that answers have lost their knowledge or their model."""
    logger.exception(message)
    count(metric, 1, service=SERVICE)
