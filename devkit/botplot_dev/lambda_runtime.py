"""Just enough of the Lambda runtime to run our handlers locally the way AWS does.

Handlers are loaded from the template's ``CodeUri``; SQS workers receive batches shaped like the
SQS event source's, and failed items (``batchItemFailures``) stay on the queue for another try;
DynamoDB stream consumers receive the stream's records as the stream event source hands them over
(filtered, in order, retried from the first failed record); schedules call their functions with the
template's ``Input`` at a faster, configurable cadence.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import threading
import time
import uuid
from types import ModuleType

import boto3

from botplot_dev import template as tpl

_modules: dict[str, ModuleType] = {}
_lock = threading.Lock()


def load_module(function: str) -> ModuleType:
    """Import a function's ``app.py`` under a name of its own (every function's file is app.py)."""
    with _lock:
        if function not in _modules:
            path = tpl.code_dir(function) / "app.py"
            spec = importlib.util.spec_from_file_location(f"botplot_fn_{function}", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # as a normal import would: pydantic resolves names through it
            spec.loader.exec_module(module)
            _modules[function] = module
        return _modules[function]


def forget_modules(*functions: str) -> None:
    """Take these functions' modules (every one loaded so far when none is named) out of this process:
    the next :func:`load_module` imports them afresh, as a cold start would."""
    with _lock:
        for function in functions or list(_modules):
            module = _modules.pop(function, None)
            if module is not None:
                sys.modules.pop(module.__name__, None)


def holds_aws_client(module: ModuleType) -> bool:
    """Whether a module built an AWS client at import (directly or one attribute down, as Powertools'
    idempotency layer does): the client keeps the endpoint and credentials of that moment."""
    from botocore.client import BaseClient

    for value in vars(module).values():
        attributes = getattr(value, "__dict__", {}).values() if not isinstance(value, type) else ()
        if isinstance(value, BaseClient) or any(isinstance(v, BaseClient) for v in attributes):
            return True
    return False


def forget_modules_holding_aws_clients() -> list[str]:
    """Forget the loaded functions whose modules built an AWS client at import (the crawl and webhook
    workers' idempotency store); the functions forgotten.

    In Lambda a function's environment never changes after its cold start. In one test process the
    AWS endpoint does (a session's moto server, a local stack's, none before either starts): a worker
    first loaded by a test that needed only its constants would keep calling AWS itself, and fail
    every job, in whichever later test runs it. Forgotten, it is loaded again, cold, against the
    endpoint of the moment.
    """
    with _lock:
        stale = [function for function, module in _modules.items() if holds_aws_client(module)]
    forget_modules(*stale)
    return stale


class LambdaContext:
    def __init__(self, function: str, timeout_seconds: float = 60):
        self.function_name = function
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function}"
        self.log_group_name = f"/aws/lambda/{function}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def per_thread_log_keys() -> None:
    """Keep the logger's "global" keys per thread (and per request) in this process.

    In Lambda each function has its own process, and Powertools keeps the keys it adds from the
    Lambda context (function name, request id) and those appended by handlers process-wide. Here
    every function shares one process: a worker's invocation would rename every other thread's
    lines. Routing those keys to Powertools' context-local store keeps each line's own.
    """
    from botplot.observability import logger

    formatter = logger.registered_formatter
    formatter.append_keys = formatter.thread_safe_append_keys
    formatter.remove_keys = formatter.thread_safe_remove_keys
    formatter.clear_state = formatter.thread_safe_clear_keys


def name_logs(function: str, request_id: str | None = None) -> None:
    """Name the function in this thread's (or request's) log lines.

    In Lambda each function has its own process; here all share one, and the Powertools logger's
    Lambda context keys are process-wide, so a chat request would carry whichever worker was
    invoked last. Context-local keys take precedence over them.
    """
    from botplot.observability import logger

    logger.thread_safe_append_keys(function_name=function, function_request_id=request_id, function_arn=None,
                                   function_memory_size=None, cold_start=None)


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for m in messages]}


class SqsPoller(threading.Thread):
    """Receives from one queue and invokes one function, like an SQS event source mapping.

    Like Lambda's poller it reads up to 10 messages at a time, then invokes the function with
    batches of the template's ``BatchSize``; messages reported failed (``batchItemFailures``), or
    whose invocation raised, stay on the queue for another try.
    """

    def __init__(self, function: str, queue_url: str, queue_arn: str, region: str, batch_size: int,
                 stop: threading.Event, timeout_seconds: float):
        super().__init__(name=f"sqs-{function}", daemon=True)
        self.function, self.queue_url, self.queue_arn = function, queue_url, queue_arn
        self.region, self.batch_size, self.stop = region, max(1, min(batch_size, 10)), stop
        self.timeout_seconds = timeout_seconds

    def run(self) -> None:
        sqs = boto3.client("sqs", region_name=self.region)
        handler = load_module(self.function).handler
        while not self.stop.is_set():
            try:
                messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                               AttributeNames=["All"]).get("Messages", [])
                done = []
                for start in range(0, len(messages), self.batch_size):
                    done += self._invoke(handler, messages[start:start + self.batch_size])
                for start in range(0, len(done), 10):
                    sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start:start + 10])])
            except Exception as error:  # the emulator is gone (shutdown) or hiccupped: wait and go on
                if self.stop.is_set():
                    return
                print(f"[{self.function}] poller: {type(error).__name__}: {error}", flush=True)
                time.sleep(0.5)

    def _invoke(self, handler, messages: list[dict]) -> list[dict]:
        """The messages to delete: all but those reported failed (none if the invocation raised)."""
        context = LambdaContext(self.function, self.timeout_seconds)
        name_logs(self.function, context.aws_request_id)
        try:
            result = handler(sqs_event(messages, self.queue_arn, self.region), context) or {}
        except Exception as error:  # the whole batch failed, as when a Lambda invocation errors
            print(f"[{self.function}] invocation failed: {type(error).__name__}: {error}", flush=True)
            return []
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        return [m for m in messages if m["MessageId"] not in failed]


def stream_event(records: list[dict], stream_arn: str) -> dict:
    """Records of ``dynamodbstreams.get_records`` as the DynamoDB stream event source delivers them
    (with the stream's ARN, and the creation time in epoch seconds, not boto3's datetime)."""
    out = []
    for record in records:
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if hasattr(created, "timestamp"):
            dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
        out.append({**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn})
    return {"Records": out}


def matches(pattern: dict, record: dict) -> bool:
    """An event filter pattern's exact-value matching (``{"eventName": ["INSERT"]}``), nested by key."""
    for key, wanted in pattern.items():
        value = record.get(key)
        if isinstance(wanted, dict):
            if not isinstance(value, dict) or not matches(wanted, value):
                return False
        elif value not in wanted:
            return False
    return True


class StreamPoller(threading.Thread):
    """Reads one DynamoDB stream and invokes one function, like a stream event source mapping.

    Records are read in order from where the stream was when the poller started (moto keeps one
    shard per stream), filtered by the mapping's ``FilterCriteria`` and handed over in batches of
    ``BatchSize``. A batch whose invocation raised, or that reports failed records
    (``batchItemFailures``, by sequence number), is retried from its first failed record, up to
    ``MaximumRetryAttempts`` times; then, as Lambda does, the failure is described on the on-failure
    destination queue and the poller moves on.
    """

    def __init__(self, function: str, stream_arn: str, mapping: dict, region: str, stop: threading.Event,
                 timeout_seconds: float, failure_queue_url: str | None):
        super().__init__(name=f"stream-{function}", daemon=True)
        self.function, self.stream_arn, self.region, self.stop = function, stream_arn, region, stop
        self.batch_size = int(mapping.get("BatchSize", 100))
        self.retries = int(mapping.get("MaximumRetryAttempts", -1))
        self.filters = [json.loads(f["Pattern"]) for f in (mapping.get("FilterCriteria") or {}).get("Filters", [])]
        self.timeout_seconds, self.failure_queue_url = timeout_seconds, failure_queue_url
        self.streams = boto3.client("dynamodbstreams", region_name=region)
        # where the stream is now: what is written from here on is handed over (read before the
        # stack says it is ready, so no write of a test or a user can come before it)
        shards = self.streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        self.iterators = [self.streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                                          ShardIteratorType="LATEST")["ShardIterator"]
                          for shard in shards]

    def run(self) -> None:
        handler = load_module(self.function).handler
        while not self.stop.is_set():
            try:
                found = False
                for i, iterator in enumerate(self.iterators):
                    page = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
                    self.iterators[i] = page["NextShardIterator"]
                    records = [r for r in page["Records"] if not self.filters
                               or any(matches(f, r) for f in self.filters)]
                    found = found or bool(page["Records"])
                    if records:
                        self._hand_over(handler, records)
                if not found:
                    self.stop.wait(0.2)
            except Exception as error:  # the emulator is gone (shutdown) or hiccupped: wait and go on
                if self.stop.is_set():
                    return
                print(f"[{self.function}] stream poller: {type(error).__name__}: {error}", flush=True)
                time.sleep(0.5)

    def _hand_over(self, handler, records: list[dict]) -> None:
        attempt = 0
        while records and not self.stop.is_set():
            context = LambdaContext(self.function, self.timeout_seconds)
            name_logs(self.function, context.aws_request_id)
            try:
                result = handler(stream_event(records, self.stream_arn), context) or {}
                failed = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
            except Exception as error:  # the whole batch failed, as when a Lambda invocation errors
                print(f"[{self.function}] invocation failed: {type(error).__name__}: {error}", flush=True)
                failed = [records[0]["dynamodb"]["SequenceNumber"]]
            if not failed:
                return
            records = records[next((i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed), 0):]
            attempt += 1
            if 0 <= self.retries < attempt:
                self._give_up(records)
                return

    def _give_up(self, records: list[dict]) -> None:
        """What Lambda sends the on-failure destination: where the records are, not the records."""
        print(f"[{self.function}] {len(records)} stream records failed every retry", flush=True)
        if self.failure_queue_url:
            info = {"streamArn": self.stream_arn, "batchSize": len(records),
                    "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                    "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"]}
            boto3.client("sqs", region_name=self.region).send_message(
                QueueUrl=self.failure_queue_url, MessageBody=json.dumps({"DDBStreamBatchInfo": info}))


_RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float:
    match = _RATE.fullmatch(expression.strip())
    if not match:
        raise ValueError(f"local schedules support rate() expressions only, not {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


class Schedule(threading.Thread):
    """Invokes a function with the schedule's input every ``rate / speedup`` seconds."""

    def __init__(self, function: str, expression: str, payload: dict, speedup: float, stop: threading.Event):
        super().__init__(name=f"schedule-{function}", daemon=True)
        self.function, self.payload, self.stop = function, payload, stop
        self.interval = max(1.0, rate_seconds(expression) / speedup)

    def run(self) -> None:
        handler = load_module(self.function).handler
        while not self.stop.wait(self.interval):
            context = LambdaContext(self.function, 300)
            name_logs(self.function, context.aws_request_id)
            try:
                handler(dict(self.payload), context)
            except Exception as error:
                print(f"[{self.function}] scheduled run failed: {type(error).__name__}: {error}", flush=True)


def schedule_payload(event: dict) -> dict:
    raw = event.get("Input")
    return json.loads(raw) if isinstance(raw, str) else (raw or {})
