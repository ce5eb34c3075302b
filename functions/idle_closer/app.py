"""Idle closer (EventBridge Scheduler, every 5 minutes): close conversations idle for 30 minutes,
and fail crawls and webhook deliveries whose deadline passed (see :mod:`botplot.services.sweeper`)."""

from __future__ import annotations

from botplot.observability import count, logger, tracer
from botplot.services import idle, sweeper


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    closed = idle.close_idle()
    count("ConversationsClosed", closed, service="idle")
    crawls, deliveries = sweeper.sweep_crawls(), sweeper.sweep_deliveries()
    count("CrawlsSwept", crawls, service="idle")
    count("DeliveriesSwept", deliveries, service="idle")
    return {"closed": closed, "crawlsFailed": crawls, "deliveriesFailed": deliveries}
