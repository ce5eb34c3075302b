"""Scheduled resync (EventBridge Scheduler): queue a crawl of every source with this frequency."""

from __future__ import annotations

from botplot.observability import count, logger, tracer
from botplot.services import knowledge


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    frequency = (event or {}).get("frequency")
    if frequency not in ("daily", "weekly"):
        raise ValueError(f"unexpected schedule input {event!r}: expected {{'frequency': 'daily'|'weekly'}}")
    queued = knowledge.enqueue_scheduled(frequency)
    count("ResyncsQueued", queued, service="sync", frequency=frequency)
    logger.info("resyncs queued", extra={"frequency": frequency, "queued": queued})
    return {"frequency": frequency, "queued": queued}
