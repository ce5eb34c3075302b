"""Crawl worker (SQS): crawl, extract, chunk, embed and index one source per message.

Partial batch failures let one failing crawl retry without the others; a job that fails its last
attempt leaves its source ``failed`` with the reason instead of going to the dead-letter queue
(jobs that die without a word — a timeout, a crash — are failed by the sweeper, see
:mod:`botplot.services.sweeper`). Powertools Idempotency
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

from botplot.config import settings
from botplot.knowledge import ingest
from botplot.observability import logger, tracer

settings()  # read at cold start: a refused setting (a local-only one in Lambda) fails the init, not a job
# A failed item is reported in batchItemFailures, never raised: with one message per invocation a
# retry would otherwise count as a failed invocation (and trip the Errors alarm).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
idempotency = IdempotencyConfig(event_key_jmespath="jobId", expires_after_seconds=6 * 3600)
persistence = DynamoDBPersistenceLayer(table_name=os.environ.get("BOTPLOT_TABLE_IDEMPOTENCY", "botplot-idempotency"))
_budget = {"seconds": 600.0}
#: the crawl queue's maxReceiveCount (template.yaml; tests/integration/test_template.py holds them equal)
MAX_RECEIVES = 3


@idempotent_function(data_keyword_argument="job", config=idempotency, persistence_store=persistence)
def run_job(job: dict) -> dict:
    return ingest.crawl_source(job["projectId"], job["sourceId"], job["jobId"], time_budget=_budget["seconds"])


def record_handler(record: SQSRecord) -> dict:
    job = json.loads(record.body)
    if not all(isinstance(job.get(k), str) for k in ("jobId", "projectId", "sourceId")):
        logger.error("malformed crawl message dropped", extra={"message_id": record.message_id})
        return {"status": "dropped"}
    logger.append_keys(project_id=job["projectId"], source_id=job["sourceId"])
    try:
        return run_job(job=job)
    except Exception as error:
        if int(record.attributes.approximate_receive_count) < MAX_RECEIVES:
            raise  # SQS brings the message back for another attempt
        # the last attempt: the message would go to the dead-letter queue; the source must not stay processing
        logger.exception("crawl job failed on its last attempt")
        ingest.fail_job(job["projectId"], job["sourceId"], job["jobId"],
                        f"The crawl failed {MAX_RECEIVES} times on an internal error ({type(error).__name__}); "
                        "re-crawl to try again")
        return {"status": "failed"}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    # stop crawling a minute before the function times out; what was fetched is still indexed
    _budget["seconds"] = max(30.0, context.get_remaining_time_in_millis() / 1000 - 60)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
