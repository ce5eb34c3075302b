"""Crawl worker (SQS): crawl, extract, chunk, embed and index one source per message.

Partial batch failures let one failing crawl retry without the others; Powertools Idempotency
keyed on the job id makes a redelivered message return the finished job's result instead of
crawling again (and refuses a duplicate while the first is still running).
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

from botplot.knowledge import ingest
from botplot.observability import logger, tracer

# A failed item is reported in batchItemFailures, never raised: with one message per invocation a
# retry would otherwise count as a failed invocation (and trip the Errors alarm).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
idempotency = IdempotencyConfig(event_key_jmespath="jobId", expires_after_seconds=6 * 3600)
persistence = DynamoDBPersistenceLayer(table_name=os.environ.get("BOTPLOT_TABLE_IDEMPOTENCY", "botplot-idempotency"))
_budget = {"seconds": 600.0}


@idempotent_function(data_keyword_argument="job", config=idempotency, persistence_store=persistence)
def run_job(job: dict) -> dict:
    return ingest.crawl_source(job["projectId"], job["sourceId"], job["jobId"], time_budget=_budget["seconds"])


def record_handler(record: SQSRecord) -> dict:
    job = json.loads(record.body)
    if not all(isinstance(job.get(k), str) for k in ("jobId", "projectId", "sourceId")):
        logger.error("malformed crawl message dropped", extra={"message_id": record.message_id})
        return {"status": "dropped"}
    logger.append_keys(project_id=job["projectId"], source_id=job["sourceId"])
    return run_job(job=job)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    # stop crawling a minute before the function times out; what was fetched is still indexed
    _budget["seconds"] = max(30.0, context.get_remaining_time_in_millis() / 1000 - 60)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
