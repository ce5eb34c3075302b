"""Webhook worker (SQS): fan events out to subscriptions, then deliver each one, signed.

One message per invocation (BatchSize 1), so a slow or failing endpoint never holds up another's
delivery. A failed attempt stays on the queue with its visibility timeout set to the next backoff.
Powertools Idempotency keyed on the event id makes a duplicated event message fan out once.
"""

from __future__ import annotations

import json
import os

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from botplot.aws import client
from botplot.config import settings
from botplot.observability import logger, tracer
from botplot.webhooks import delivery

settings()  # read at cold start: a refused setting (a local-only one in Lambda) fails the init, not a job
# A failed item is reported in batchItemFailures, never raised: with one message per invocation a
# retry would otherwise count as a failed invocation (and trip the Errors alarm).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
idempotency = IdempotencyConfig(event_key_jmespath="eventId", expires_after_seconds=24 * 3600)
persistence = DynamoDBPersistenceLayer(table_name=os.environ.get("BOTPLOT_TABLE_IDEMPOTENCY", "botplot-idempotency"))


@idempotent_function(data_keyword_argument="message", config=idempotency, persistence_store=persistence)
def fan_out_once(message: dict) -> int:
    return delivery.fan_out(message)


def record_handler(record: SQSRecord):
    message = json.loads(record.body)
    logger.append_keys(project_id=message.get("projectId"))
    if message.get("kind") == "event":
        if not delivery.subscribers(message):  # nothing to deliver: no idempotency record to write
            return 0
        return fan_out_once(message=message)
    if message.get("kind") == "delivery":
        logger.append_keys(delivery_id=message.get("deliveryId"))
        try:
            return delivery.deliver(message)
        except delivery.RetryLater as later:
            client("sqs").change_message_visibility(QueueUrl=settings().webhook_queue_url,
                                                    ReceiptHandle=record.receipt_handle,
                                                    VisibilityTimeout=later.delay)
            raise
    logger.error("unknown webhook queue message dropped", extra={"message_id": record.message_id})
    return None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
