"""Idempotency-Key for the API's POST and PATCH calls: the first call runs, a retry replays its answer.

The same design as Powertools Idempotency (a conditional put claims the key, the answer replaces
the claim, a duplicate finds one or the other), written here for HTTP: the unit is a whole request
after authentication (its project scopes the key), the stored result is a status, a content type
and a body (a streamed answer included), and the claim's lease ends with the Lambda invocation
that holds it, which Powertools can only know through a Lambda context the chat function, behind
the Lambda Web Adapter, does not have.

One item per project, method, route and key (table ``ApiIdempotencyTable``, TTL 24 h):

- no item, an expired one, or a claim whose lease ended (its call died): this call claims it;
- a claim still running: ``409 IDEMPOTENCY_IN_PROGRESS``;
- a stored answer for another request (path or body): ``409 IDEMPOTENCY_KEY_REUSED``;
- a stored answer for the same request: replay it.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import zlib
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from botplot import clock
from botplot.db.base import condition_failed
from botplot.db.idempotency import IdempotencyRecord
from botplot.errors import ApiError, bad_request, conflict
from botplot.observability import logger

#: printable ASCII without spaces, 1 to 255 characters (a UUID is the usual choice)
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_KEY = re.compile(KEY_PATTERN)
RETENTION = timedelta(hours=24)
#: how long a claim lasts when the invocation's deadline is unknown (the local stack): the longest a
#: Lambda function may run
DEFAULT_LEASE_SECONDS = 900.0
#: codes of a request refused by validation before it ran: not stored, so a corrected retry with the
#: same key runs
UNSTORED_CODES = frozenset({"INVALID_JSON", "INVALID_BODY", "VALIDATION_ERROR", "INVALID_IDEMPOTENCY_KEY"})
#: answer fields shown only once (a webhook's signing secret, the visitor identity secret): never
#: stored, so no replay can show them a second time; a replay answers ``null`` in their place
SHOWN_ONCE = frozenset({"secret", "identity_secret"})


@dataclass(frozen=True)
class Claim:
    record_id: str
    owner: str


@dataclass(frozen=True)
class Stored:
    status: int
    media_type: str | None
    body: bytes


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise bad_request("'Idempotency-Key' must be 1 to 255 printable ASCII characters without spaces",
                          code="INVALID_IDEMPOTENCY_KEY")
    return key


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests "the same": method, path, query and the body's JSON value (key order
    and spacing aside); a body that is not JSON counts by its bytes."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, RecursionError):
        canonical = body
    digest = hashlib.sha256(f"{method} {path}?{query}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def record_id(project_id: str, method: str, route: str, key: str) -> str:
    return f"{project_id}#{method} {route}#{key}"


def begin(record: str, print_: str, lease_until: float) -> Claim | Stored:
    """Claim the key for this call, or return the answer to replay; 409 when neither can be."""
    for _ in range(3):  # the claim seen may be released between our put and our read: look again
        now = clock.now()
        claim = Claim(record, secrets.token_hex(16))
        item = IdempotencyRecord(id=record, state="running", fingerprint=print_, owner=claim.owner,
                                 lease_until=lease_until, expires_at=RETENTION)
        try:
            item.save(condition=IdempotencyRecord.id.does_not_exist()
                      | (IdempotencyRecord.expires_at < now)
                      | ((IdempotencyRecord.state == "running") & (IdempotencyRecord.lease_until < now.timestamp())))
            return claim
        except PutError as error:
            if not condition_failed(error):
                raise
        try:
            existing = IdempotencyRecord.get(record, consistent_read=True)
        except IdempotencyRecord.DoesNotExist:
            continue
        if existing.fingerprint != print_:
            raise conflict("This Idempotency-Key was used with another request (path or body) in the last 24 hours; "
                           "use a new key for a new request", "IDEMPOTENCY_KEY_REUSED")
        if existing.state == "running":
            raise conflict("A request with this Idempotency-Key is still running; retry when it has finished",
                           "IDEMPOTENCY_IN_PROGRESS")
        return Stored(int(existing.status), existing.media_type, zlib.decompress(existing.body or b""))
    raise conflict("A request with this Idempotency-Key is still running; retry when it has finished",
                   "IDEMPOTENCY_IN_PROGRESS")


def without_secrets(media_type: str | None, body: bytes) -> bytes:
    """The answer as stored: a JSON body's shown-once fields, at any depth, set to ``null``."""
    if not media_type or "json" not in media_type:
        return body
    try:
        value = json.loads(body)
    except ValueError:
        return body
    found = False

    def redact(node):
        nonlocal found
        if isinstance(node, dict):
            for name in node:
                if name in SHOWN_ONCE and isinstance(node[name], str):
                    node[name], found = None, True
                else:
                    redact(node[name])
        elif isinstance(node, list):
            for item in node:
                redact(item)

    redact(value)
    return json.dumps(value, ensure_ascii=False).encode() if found else body


def complete(claim: Claim, status: int, media_type: str | None, body: bytes) -> None:
    """Store the answer in place of the claim (unless the claim was lost: its lease ran out)."""
    body = without_secrets(media_type, body)
    try:
        IdempotencyRecord(id=claim.record_id).update(
            actions=[IdempotencyRecord.state.set("done"), IdempotencyRecord.status.set(status),
                     IdempotencyRecord.media_type.set(media_type),
                     IdempotencyRecord.body.set(zlib.compress(body)),
                     IdempotencyRecord.expires_at.set(RETENTION)],
            condition=IdempotencyRecord.owner == claim.owner)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        logger.warning("idempotency claim lost before the answer was stored", extra={"record": claim.record_id})


def release(claim: Claim) -> None:
    """Give the key back: the call did not run (refused) or failed unexpectedly, so a retry may run."""
    try:
        IdempotencyRecord(id=claim.record_id).delete(condition=IdempotencyRecord.owner == claim.owner)
    except DeleteError as error:
        if not condition_failed(error):
            raise


def stored_error(error: ApiError) -> bool:
    """Whether an error answer is the request's result (stored) or a refusal to run it (not stored)."""
    return error.code not in UNSTORED_CODES and error.status not in (401, 403, 429) and error.status < 500
