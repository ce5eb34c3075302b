"""Create the template's tables (with their streams), queues, buckets and secrets in moto, and the
environment that names them.

Tables and buckets already there (restored with the local stack's saved state) are kept.

Names follow the code's defaults (``botplot-<suffix>`` for tables) so that the CLI and tests find
them without configuration. Function environment variables are resolved from the template the way
CloudFormation would resolve them: ``!Ref Table`` → table name, ``!Ref Queue`` → queue URL,
``!Ref Secret`` → secret ARN. A secret the template generates (``GenerateSecretString``) gets a
random value at every start (moto's secrets are not part of the saved state).
"""

from __future__ import annotations

import json
import secrets

import boto3

from botplot.config import table_name
from botplot.db.registry import env_suffix
from botplot_dev import template as tpl


def _kebab(logical_id: str) -> str:
    return "botplot-" + env_suffix(logical_id).lower().replace("_", "-")


def create_tables(template: dict, region: str) -> tuple[dict[str, str], dict[str, str]]:
    """The tables' names and, for those with a stream, the stream's ARN (both by logical id)."""
    ddb = boto3.client("dynamodb", region_name=region)
    names, streams = {}, {}
    existing = set(ddb.get_paginator("list_tables").paginate().build_full_result().get("TableNames", []))
    for logical_id, resource in tpl.resources("AWS::DynamoDB::Table", template).items():
        props = resource["Properties"]
        name = table_name(env_suffix(logical_id))
        names[logical_id] = name
        if name in existing:  # restored with the saved state
            table = ddb.describe_table(TableName=name)["Table"]
        else:
            request = {
                "TableName": name,
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": "PAY_PER_REQUEST",
            }
            if props.get("GlobalSecondaryIndexes"):
                request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            if props.get("StreamSpecification"):
                request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
            table = ddb.create_table(**request)["TableDescription"]
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        if table.get("LatestStreamArn"):
            streams[logical_id] = table["LatestStreamArn"]
    return names, streams


def create_queues(template: dict, region: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Queues first without redrive, then redrive policies (they reference other queues' ARNs)."""
    sqs = boto3.client("sqs", region_name=region)
    urls, arns, names = {}, {}, {}
    queues = tpl.resources("AWS::SQS::Queue", template)
    for logical_id, resource in queues.items():
        props = resource.get("Properties") or {}
        attributes = {k: str(props[k]) for k in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")
                      if k in props}
        names[logical_id] = _kebab(logical_id)
        urls[logical_id] = sqs.create_queue(QueueName=names[logical_id], Attributes=attributes)["QueueUrl"]
        arns[logical_id] = sqs.get_queue_attributes(
            QueueUrl=urls[logical_id], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for logical_id, resource in queues.items():
        redrive = (resource.get("Properties") or {}).get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            policy = {"deadLetterTargetArn": arns[target], "maxReceiveCount": int(redrive["maxReceiveCount"])}
            sqs.set_queue_attributes(QueueUrl=urls[logical_id], Attributes={"RedrivePolicy": json.dumps(policy)})
    return urls, arns, names


def create_buckets(template: dict, region: str) -> dict[str, str]:
    s3 = boto3.client("s3", region_name=region)
    names = {}
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for logical_id in tpl.resources("AWS::S3::Bucket", template):
        names[logical_id] = _kebab(logical_id)
        if names[logical_id] not in existing:  # restored with the saved state
            s3.create_bucket(Bucket=names[logical_id])
    return names


def create_secrets(template: dict, region: str) -> dict[str, str]:
    client = boto3.client("secretsmanager", region_name=region)
    arns = {}
    for logical_id in tpl.resources("AWS::SecretsManager::Secret", template):
        name = _kebab(logical_id)
        try:
            arns[logical_id] = client.create_secret(Name=name, SecretString=secrets.token_hex(32))["ARN"]
        except client.exceptions.ResourceExistsException:
            arns[logical_id] = client.describe_secret(SecretId=name)["ARN"]
    return arns


class Provisioned:
    """What the local stack created, and how the template's references resolve to it."""

    def __init__(self, template: dict, region: str):
        self.template = template
        self.region = region
        self.tables, self.stream_arns = create_tables(template, region)
        self.queue_urls, self.queue_arns, self.queue_names = create_queues(template, region)
        self.buckets = create_buckets(template, region)
        self.secrets = create_secrets(template, region)
        self.parameters = tpl.parameter_defaults(template)

    def resolve(self, value) -> str | None:
        """A template value as CloudFormation would resolve it here; ``None`` when it cannot."""
        if isinstance(value, (str, int, float)):
            return str(value)
        if not isinstance(value, dict):
            return None
        if "Ref" in value:
            ref = value["Ref"]
            for table in (self.tables, self.queue_urls, self.buckets, self.secrets, self.parameters):
                if ref in table:
                    return table[ref]
            return {"AWS::Region": self.region}.get(ref)
        if "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            if attribute == "Arn":
                return self.queue_arns.get(resource)
            if attribute == "StreamArn":
                return self.stream_arns.get(resource)
            if attribute == "QueueName":
                return self.queue_names.get(resource)
        return None

    def resource_environment(self) -> dict[str, str]:
        """Only the variables that name provisioned resources (tables, queues, buckets, secrets)."""
        names = {*self.tables, *self.queue_urls, *self.buckets, *self.secrets}
        return {name: self.resolve(value) for name, value in tpl.environment(template=self.template).items()
                if isinstance(value, dict) and value.get("Ref") in names}

    def environment(self) -> dict[str, str]:
        env = {}
        for name, value in tpl.environment(template=self.template).items():
            resolved = self.resolve(value)
            if resolved is not None:
                env[name] = resolved
        return env
