"""boto3 clients shared by the process, with timeouts and retries suited to request paths."""

from __future__ import annotations

from functools import lru_cache

from botocore.config import Config

from botplot.config import aws_read_timeout, aws_region


@lru_cache(maxsize=None)
def client(service: str):
    """One client per service; botocore resolves ``AWS_ENDPOINT_URL`` (moto locally).

    boto3 is imported here, on first use: routes that only read DynamoDB (through pynamodb and
    botocore) never pay for it.
    """
    import boto3

    config = Config(connect_timeout=2, read_timeout=aws_read_timeout(),
                    retries={"max_attempts": 4, "mode": "standard"}, max_pool_connections=64)
    return boto3.session.Session().client(service, region_name=aws_region(), config=config)
