"""The OpenAI (or OpenAI-compatible) client, configured from the environment or Secrets Manager.

Locally ``OPENAI_API_KEY`` (and optionally ``OPENAI_BASE_URL``) select it. In AWS the key lives in
Secrets Manager (``BOTPLOT_OPENAI_SECRET_ID``) and is read through Powertools Parameters, cached
for five minutes so a rotated key is picked up without a deploy. The secret may hold the bare key
or JSON with an ``OPENAI_API_KEY`` field. The key is never logged.
"""

from __future__ import annotations

import json
import threading

from botplot.config import settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"

_lock = threading.Lock()
_client = None
_client_key: tuple[str, str] | None = None


def _api_key() -> str | None:
    s = settings()
    if s.openai_api_key_env:
        return s.openai_api_key_env
    if not s.openai_secret_id:
        return None
    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(s.openai_secret_id, max_age=300)
    raw = raw.decode() if isinstance(raw, bytes) else raw
    raw = raw.strip()
    if raw.startswith("{"):
        return json.loads(raw).get("OPENAI_API_KEY") or None
    return raw or None


def is_configured() -> bool:
    s = settings()
    return bool(s.openai_api_key_env or s.openai_secret_id)


def get_client():
    """The shared client, rebuilt when the key or the endpoint changes (settings reloaded with another
    ``OPENAI_BASE_URL``); ``None`` when no key is configured."""
    global _client, _client_key
    key = _api_key()
    if not key:
        return None
    s = settings()
    # Always explicit: given None, openai falls back to $OPENAI_BASE_URL itself, and the template
    # sets it to "" (its parameter's default) when no other endpoint is wanted.
    base_url = s.openai_base_url or DEFAULT_BASE_URL
    with _lock:
        if _client is None or (key, base_url) != _client_key:
            from openai import OpenAI  # imported on first use: management functions never pay for it

            _client = OpenAI(api_key=key, base_url=base_url, timeout=s.llm_timeout_seconds, max_retries=0)
            _client_key = (key, base_url)
        return _client
