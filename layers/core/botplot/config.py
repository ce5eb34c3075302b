"""Settings read from the environment.

Lambda functions get these variables from ``template.yaml``; the local stack and the tests set the
same variables. Everything that differs between AWS and a developer's machine is here, so that the
services below never branch on where they run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache

#: Monthly API calls per plan (DESIGN.md). ``None`` means the plan has no API access.
DEFAULT_PLAN_LIMITS: dict[str, int | None] = {
    "free": None,
    "pro": 1_000,
    "business": 5_000,
    "enterprise": 10_000,
}
PLANS = tuple(DEFAULT_PLAN_LIMITS)

#: Pages one crawl may fetch, per plan.
DEFAULT_PAGE_LIMITS: dict[str, int] = {"free": 0, "pro": 100, "business": 500, "enterprise": 2_000}


def _json_env(name: str) -> dict:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object")
    return value


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _tristate(name: str) -> bool | None:
    """A flag that may also be unset (``None``: let the code decide)."""
    raw = os.environ.get(name, "").strip().lower()
    return None if not raw else raw in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    stage: str
    plan_limits: dict[str, int | None]
    page_limits: dict[str, int]
    key_cache_seconds: float
    crawl_queue_url: str
    webhook_queue_url: str
    webhook_dlq_url: str
    assets_bucket: str
    assets_base_url: str
    allow_private_targets: bool
    dns_nameservers: tuple[str, ...]
    idle_minutes: float
    openai_api_key_env: str | None
    openai_secret_id: str | None
    openai_base_url: str | None
    chat_model: str
    embedding_model: str
    llm_timeout_seconds: float
    index_backend: str
    index_path: str
    opensearch_url: str | None
    opensearch_service: str
    knn_engine: str
    opensearch_sigv4: bool | None
    knn_encoding: str
    embedder: str
    minilm_runtime: str
    custom_domain_target: str
    webhook_backoff_seconds: tuple[int, ...]
    webhook_disable_after: int
    webhook_disable_window_seconds: float
    webhook_grace_seconds: float
    crawl_deadline_seconds: float


def _local_only_flag(name: str) -> bool:
    """A flag that opens what production must keep shut: refused where the code runs in Lambda."""
    on = _flag(name)
    if on and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise RuntimeError(f"{name} is for the local stack only and must not be set on a Lambda function")
    return on


def _load() -> Settings:
    limits = dict(DEFAULT_PLAN_LIMITS)
    for plan, value in _json_env("BOTPLOT_PLAN_LIMITS").items():
        limits[plan] = None if value is None else int(value)
    pages = dict(DEFAULT_PAGE_LIMITS)
    pages.update({k: int(v) for k, v in _json_env("BOTPLOT_PAGE_LIMITS").items()})
    backoff = os.environ.get("BOTPLOT_WEBHOOK_BACKOFF", "30,120,600,1800,3600,10800,21600,43200")
    return Settings(
        stage=os.environ.get("BOTPLOT_STAGE", "local"),
        plan_limits=limits,
        page_limits=pages,
        key_cache_seconds=float(os.environ.get("BOTPLOT_KEY_CACHE_SECONDS", "15")),
        crawl_queue_url=os.environ.get("BOTPLOT_CRAWL_QUEUE_URL", ""),
        webhook_queue_url=os.environ.get("BOTPLOT_WEBHOOK_QUEUE_URL", ""),
        webhook_dlq_url=os.environ.get("BOTPLOT_WEBHOOK_DLQ_URL", ""),
        assets_bucket=os.environ.get("BOTPLOT_ASSETS_BUCKET", ""),
        assets_base_url=os.environ.get("BOTPLOT_ASSETS_BASE_URL", ""),
        allow_private_targets=_local_only_flag("BOTPLOT_ALLOW_PRIVATE_TARGETS"),
        dns_nameservers=tuple(
            s for s in os.environ.get("BOTPLOT_DNS_NAMESERVERS", "").split(",") if s.strip()
        ),
        idle_minutes=float(os.environ.get("BOTPLOT_IDLE_MINUTES", "30")),
        openai_api_key_env=os.environ.get("OPENAI_API_KEY") or None,
        openai_secret_id=os.environ.get("BOTPLOT_OPENAI_SECRET_ID") or None,
        openai_base_url=os.environ.get("OPENAI_BASE_URL") or None,
        chat_model=os.environ.get("BOTPLOT_CHAT_MODEL", "gpt-4o-mini"),
        embedding_model=os.environ.get("BOTPLOT_EMBEDDING_MODEL", "text-embedding-3-small"),
        llm_timeout_seconds=float(os.environ.get("BOTPLOT_LLM_TIMEOUT_SECONDS", "30")),
        index_backend=os.environ.get("BOTPLOT_INDEX", "sqlite"),
        index_path=os.environ.get("BOTPLOT_INDEX_PATH", ".botplot/index.sqlite"),
        opensearch_url=os.environ.get("OPENSEARCH_URL") or None,
        opensearch_service=os.environ.get("OPENSEARCH_SERVICE", "es"),
        knn_engine=os.environ.get("BOTPLOT_KNN_ENGINE", "faiss"),
        opensearch_sigv4=_tristate("OPENSEARCH_SIGV4"),
        knn_encoding=os.environ.get("BOTPLOT_KNN_ENCODING", "fp32"),
        embedder=os.environ.get("BOTPLOT_EMBEDDER", "auto"),
        minilm_runtime=os.environ.get("BOTPLOT_MINILM_RUNTIME", "auto"),
        custom_domain_target=os.environ.get("BOTPLOT_CUSTOM_DOMAIN_TARGET", "custom.botplot.app"),
        webhook_backoff_seconds=tuple(int(x) for x in backoff.split(",") if x.strip()),
        webhook_disable_after=int(os.environ.get("BOTPLOT_WEBHOOK_DISABLE_AFTER", "50")),
        webhook_disable_window_seconds=float(os.environ.get("BOTPLOT_WEBHOOK_DISABLE_WINDOW_SECONDS", "86400")),
        # an attempt due at t that has not happened by t + grace never will (its message died)
        webhook_grace_seconds=float(os.environ.get("BOTPLOT_WEBHOOK_GRACE_SECONDS", "3600")),
        # a crawl queued at t is over by t + this: 3 receives x the queue's 960 s visibility, and a margin
        crawl_deadline_seconds=float(os.environ.get("BOTPLOT_CRAWL_DEADLINE_SECONDS", "3600")),
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process's settings; read once, as a Lambda container reads its environment once."""
    return _load()


def reload_settings() -> Settings:
    """Re-read the environment (tests and the local stack change it before serving)."""
    settings.cache_clear()
    return settings()


def table_name(env_suffix: str) -> str:
    """Name of a DynamoDB table: ``BOTPLOT_TABLE_<SUFFIX>`` or the local default ``botplot-<suffix>``."""
    return os.environ.get(f"BOTPLOT_TABLE_{env_suffix}", "botplot-" + env_suffix.lower().replace("_", "-"))


def aws_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def aws_read_timeout() -> float:
    """Seconds to wait for an AWS answer before botocore retries (``BOTPLOT_AWS_READ_TIMEOUT``).

    Short in Lambda, where DynamoDB answers in milliseconds and a stuck connection is better
    retried. A retried write whose first attempt did land is applied twice unless it is a
    transaction (botocore gives those an idempotency token), so the local stack, whose moto
    server can take seconds under load, waits longer instead of retrying.
    """
    return float(os.environ.get("BOTPLOT_AWS_READ_TIMEOUT", "5"))
