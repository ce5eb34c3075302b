"""Lambda entry points for the functions that run their app through Mangum (all but chat)."""

from __future__ import annotations

from fastapi import FastAPI
from mangum import Mangum

from botplot.observability import logger, tracer


def mangum_handler(app: FastAPI):
    adapter = Mangum(app, lifespan="off")

    @logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
    @tracer.capture_lambda_handler
    def handler(event, context):
        return adapter(event, context)

    return handler
