"""Webhook worker: fan events out to subscriptions (from the outbox table's stream), then deliver
each one, signed (from the webhook queue).

Two event sources, one per kind of work:
- the outbox stream (DynamoDB Streams, INSERTs only): each new outbox item is one event, fanned out
  into one delivery per subscribed webhook. Streams are at-least-once: Powertools Idempotency keyed
  on the event id makes a record handed over twice fan out once, and the delivery ids derived from
  (event, webhook) make even a second fan-out find the first one's deliveries.
- the webhook queue (SQS), one message per invocation (BatchSize 1), so a slow or failing endpoint
  never holds up another's delivery. A failed attempt stays on the queue with its visibility
  timeout set to the next backoff.
"""

from __future__ import annotations

import json
import os

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
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
# retry would otherwise count as a failed invocation (and trip the Errors alarm). A failed stream
# record is retried from its sequence number on (bisected, then the on-failure destination).
queue_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
stream_processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
idempotency = IdempotencyConfig(event_key_jmespath="eventId", expires_after_seconds=24 * 3600)
persistence = DynamoDBPersistenceLayer(table_name=os.environ.get("BOTPLOT_TABLE_IDEMPOTENCY", "botplot-idempotency"))


@idempotent_function(data_keyword_argument="event", config=idempotency, persistence_store=persistence)
def fan_out_once(event: dict) -> int:
    return delivery.fan_out(event)


def outbox_record_handler(record: DynamoDBRecord):
    """One new outbox item (the event source's filter passes INSERTs only)."""
    item = record.dynamodb.new_image
    event = {name: item[name] for name in ("eventId", "projectId", "event", "payload")}
    logger.append_keys(project_id=event["projectId"], event_id=event["eventId"])
    if not delivery.subscribers(event):  # nothing to deliver: no idempotency record to write
        return 0
    return fan_out_once(event=event)


def queue_record_handler(record: SQSRecord):
    message = json.loads(record.body)
    logger.append_keys(project_id=message.get("projectId"))
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
    records = event.get("Records") or [{}]
    if records[0].get("eventSource") == "aws:dynamodb":
        return process_partial_response(event=event, record_handler=outbox_record_handler,
                                        processor=stream_processor, context=context)
    return process_partial_response(event=event, record_handler=queue_record_handler, processor=queue_processor,
                                    context=context)
