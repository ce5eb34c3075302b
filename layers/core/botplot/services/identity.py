"""Verified visitor identity: the customer's server vouches for a visitor id with an HMAC.

The project's identity secret (``POST /projects/:projectId/identity-secret``) is shared with the
customer's server, which computes ``visitorHash = hex(HMAC-SHA256(secret, visitorId))`` (the
secret's whole string and the visitor id as UTF-8) and hands both to its page. With
``require_identity`` on, a public-key chat or widget call must carry a ``visitorId`` and its
``visitorHash``; anything else is ``401 INVALID_VISITOR_HASH``, compared in constant time.

The secret must be stored as it is (the server recomputes the HMAC), so it is protected by where
it lives: its own table (``IdentitySecretsTable``), which only the chat function may read and
only the projects function may write, encrypted at rest like every table; it is returned by the
call that creates it and never again, and never logged. Verification caches it per warm function
for ``BOTPLOT_KEY_CACHE_SECONDS`` (15 s), so after a rotation the old secret may still be accepted
for that long.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pynamodb.exceptions import DoesNotExist

from botplot import clock
from botplot.config import settings
from botplot.db.projects import IdentitySecret
from botplot.errors import ApiError
from botplot.services.ttl_cache import TTLCache

SECRET_PREFIX = "idsec_"
_secrets: TTLCache[str] = TTLCache(lambda: settings().key_cache_seconds)


def invalid(message: str) -> ApiError:
    return ApiError(401, "INVALID_VISITOR_HASH", message)


def rotate(project_id: str) -> dict:
    """Create the project's secret, or replace it (the old one stops working); the only answer that
    ever carries it."""
    secret = SECRET_PREFIX + secrets.token_hex(32)
    now = clock.iso_ms(clock.now())
    had_one = exists(project_id)
    IdentitySecret(project_id, secret=secret, created_at=now).save()
    return {"identity_secret": secret, "created_at": clock.api_time(now), "rotated": had_one}


def created_at(project_id: str) -> str | None:
    """When the project's current secret was made (API time), or ``None`` when it has none."""
    try:
        item = IdentitySecret.get(project_id, consistent_read=True, attributes_to_get=["createdAt"])
    except DoesNotExist:
        return None
    return clock.api_time(item.created_at)


def exists(project_id: str) -> bool:
    return created_at(project_id) is not None


def _secret(project_id: str) -> str | None:
    def load() -> str | None:
        try:
            return IdentitySecret.get(project_id).secret
        except DoesNotExist:
            return None

    return _secrets.get_or_load(project_id, load)


def visitor_hash(secret: str, visitor_id: str) -> str:
    """What the customer's server computes (shown in the README in Python and Node)."""
    return hmac.new(secret.encode(), visitor_id.encode(), hashlib.sha256).hexdigest()


def verify(project_id: str, visitor_id: object, given_hash: object) -> str:
    """The visitor id, vouched for by its hash; otherwise a 401."""
    if not isinstance(visitor_id, str) or not visitor_id.strip():
        raise invalid("This project requires verified visitors: send visitorId and its visitorHash")
    if not isinstance(given_hash, str) or not given_hash:
        raise invalid("This project requires verified visitors: visitorHash is missing")
    secret = _secret(project_id)
    expected = visitor_hash(secret, visitor_id) if secret else ""
    # compare_digest takes as long whatever the first differing character; non-ASCII cannot match
    if not secret or not hmac.compare_digest(expected.encode(), given_hash.lower().encode("utf-8", "replace")):
        raise invalid("visitorHash does not match visitorId")
    return visitor_id
