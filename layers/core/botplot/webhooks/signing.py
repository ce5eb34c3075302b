"""``X-BotPlot-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>``."""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
