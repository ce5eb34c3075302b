"""What every model shares: where its table is and how its client behaves."""

from __future__ import annotations

from pynamodb.connection import Connection

from botplot.config import aws_read_timeout, aws_region, table_name


def table_meta(env_suffix: str) -> type:
    """A pynamodb ``Meta`` for the table named by ``BOTPLOT_TABLE_<env_suffix>``.

    The endpoint is left to botocore, which honours ``AWS_ENDPOINT_URL`` (moto locally).
    """

    class Meta:
        pass

    Meta.table_name = table_name(env_suffix)
    Meta.region = aws_region()
    Meta.connect_timeout_seconds = 2
    Meta.read_timeout_seconds = aws_read_timeout()
    Meta.max_retry_attempts = 3
    Meta.max_pool_connections = 64
    return Meta


_connection: Connection | None = None


def connection() -> Connection:
    """The connection transactions run on (one per process, like the models' own)."""
    global _connection
    if _connection is None:
        _connection = Connection(region=aws_region(), read_timeout_seconds=aws_read_timeout(),
                                 max_pool_connections=64)
    return _connection


def condition_failed(error: Exception) -> bool:
    """Whether a write was refused by its condition (alone or inside a transaction)."""
    return getattr(error, "cause_response_code", None) in (
        "ConditionalCheckFailedException", "TransactionCanceledException")
