"""Idempotency-Key records of the API's POST and PATCH calls (one item per project, route and key).

Apart from the workers' Powertools table (``IdempotencyTable``): the API functions may touch only
these items, and the workers only theirs. Items expire with DynamoDB's TTL 24 h after the call.
"""

from __future__ import annotations

from pynamodb.attributes import BinaryAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from botplot.db.base import table_meta


class IdempotencyRecord(Model):
    Meta = table_meta("API_IDEMPOTENCY")

    #: ``projectId#METHOD /route/{template}#key``
    id = UnicodeAttribute(hash_key=True)
    #: ``running`` while the first call runs, ``done`` once its answer is stored
    state = UnicodeAttribute()
    #: SHA-256 of the path and the canonical body: the same key with another request is refused
    fingerprint = UnicodeAttribute()
    #: who holds the claim (a random token), so that only its own call completes or releases it
    owner = UnicodeAttribute()
    #: epoch seconds after which a ``running`` claim is taken to be dead (its call crashed)
    lease_until = NumberAttribute(attr_name="leaseUntil")
    status = NumberAttribute(null=True)
    #: the answer's content type (its other headers are the call's own, such as the rate limit)
    media_type = UnicodeAttribute(attr_name="mediaType", null=True)
    #: the answer's body, zlib-compressed (a streamed answer: every event it sent)
    body = BinaryAttribute(null=True, legacy_encoding=False)
    expires_at = TTLAttribute(attr_name="expiresAt")
