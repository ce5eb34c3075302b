"""Running the template's worker functions in-process, with SQS events built from real queue messages
and stream events from the outbox table's real stream records."""

from __future__ import annotations

import os

import boto3

from botplot_dev.lambda_runtime import LambdaContext, load_module, sqs_event, stream_event


def receive_all(queue_url: str, wait: float = 1) -> list[dict]:
    sqs = boto3.client("sqs")
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=int(wait),
                                    AttributeNames=["All"], VisibilityTimeout=60).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
        wait = 0


def invoke_sqs(function: str, messages: list[dict], queue_env: str) -> dict:
    """Invoke a worker with these messages as one batch, as the SQS event source would."""
    queue_url = os.environ[queue_env]
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    event = sqs_event(messages, arn["Attributes"]["QueueArn"], "us-east-1")
    return load_module(function).handler(event, LambdaContext(function, 900)) or {}


def delete(queue_env: str, messages: list[dict]) -> None:
    sqs = boto3.client("sqs")
    for m in messages:
        sqs.delete_message(QueueUrl=os.environ[queue_env], ReceiptHandle=m["ReceiptHandle"])


def _outbox_stream() -> str:
    table = boto3.client("dynamodb").describe_table(TableName=os.environ["BOTPLOT_TABLE_OUTBOX"])["Table"]
    return table["LatestStreamArn"]


def outbox_records(project_id: str) -> list[dict]:
    """The outbox stream's records of one project so far, oldest first, as its event source reads them."""
    streams = boto3.client("dynamodbstreams")
    arn = _outbox_stream()
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while page := streams.get_records(ShardIterator=iterator, Limit=1000):
            records += page["Records"]
            if not page["Records"]:
                break
            iterator = page["NextShardIterator"]
    return [r for r in records if r["dynamodb"].get("NewImage", {}).get("projectId", {}).get("S") == project_id]


def invoke_stream(function: str, records: list[dict]) -> dict:
    """Invoke a function with these stream records as one batch, as the stream event source would."""
    event = stream_event(records, _outbox_stream())
    return load_module(function).handler(event, LambdaContext(function, 900)) or {}
