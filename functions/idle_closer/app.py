"""Idle closer (EventBridge Scheduler, every 5 minutes): close conversations idle for 30 minutes."""

from __future__ import annotations

from botplot.observability import count, logger, tracer
from botplot.services import idle


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    closed = idle.close_idle()
    count("ConversationsClosed", closed, service="idle")
    return {"closed": closed}
