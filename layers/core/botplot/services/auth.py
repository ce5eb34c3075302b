"""Who is calling: API key → project, with a short cache because every request asks.

Keys are looked up by their SHA-256. Positive answers are cached for
``BOTPLOT_KEY_CACHE_SECONDS`` (15 s by default), so a revoked key, a plan change or a change of
the project's access settings (allowed origins, required identity) takes effect within that time on a warm function;
unknown keys are never cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from botplot import ids
from botplot.config import settings
from botplot.db.projects import ApiKey, Project
from botplot.errors import ApiError
from botplot.services.ttl_cache import TTLCache

_KEY_SHAPE = re.compile(r"^(pk|sk)_[A-Za-z0-9_-]{32,200}$")


@dataclass(frozen=True)
class KeyRecord:
    project_id: str
    kind: str
    active: bool


@dataclass(frozen=True)
class ProjectRecord:
    project_id: str
    name: str
    plan: str
    instructions: str | None
    allowed_origins: tuple[str, ...] = ()
    require_identity: bool = False


@dataclass(frozen=True)
class Principal:
    project_id: str
    plan: str
    kind: str  # "public" | "secret"
    project_name: str
    instructions: str | None
    #: origins whose pages may use the public key (empty: any), as cached with the project
    allowed_origins: tuple[str, ...] = ()
    #: public-key chat calls must prove their visitorId (services/identity.py)
    require_identity: bool = False
    #: the visitor id its visitorHash vouched for, once checked (chat and widget routes)
    verified_visitor: str | None = None


_keys: TTLCache[KeyRecord] = TTLCache(lambda: settings().key_cache_seconds)
_projects: TTLCache[ProjectRecord] = TTLCache(lambda: settings().key_cache_seconds)


def _unauthorized(message: str, code: str = "INVALID_API_KEY") -> ApiError:
    return ApiError(401, code, message)


def _load_key(key_hash: str) -> KeyRecord | None:
    try:
        item = ApiKey.get(key_hash)
    except DoesNotExist:
        return None
    return KeyRecord(item.project_id, item.kind, item.status == "active")


def load_project(project_id: str) -> ProjectRecord | None:
    def load() -> ProjectRecord | None:
        try:
            p = Project.get(project_id)
        except DoesNotExist:
            return None
        return ProjectRecord(p.project_id, p.name, p.plan, p.instructions, tuple(p.allowed_origins or ()),
                             bool(p.require_identity))

    return _projects.get_or_load(project_id, load)


def bearer_key(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise _unauthorized("Missing API key: send 'Authorization: Bearer <key>'", "MISSING_API_KEY")
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not _KEY_SHAPE.match(key):
        raise _unauthorized("Malformed Authorization header: expected 'Bearer pk_…' or 'Bearer sk_…'")
    return key


def authenticate(authorization: str | None, require_secret: bool) -> Principal:
    """The caller's project, or a 401/403 in the reference's shape.

    Public keys reach only chat routes; secret keys reach every route (a server may chat too).
    """
    key = bearer_key(authorization)
    key_hash = ids.hash_key(key)
    record = _keys.get_or_load(key_hash, lambda: _load_key(key_hash))
    if record is None or not record.active:
        raise _unauthorized("Invalid or revoked API key")
    project = load_project(record.project_id)
    if project is None:
        raise _unauthorized("Invalid or revoked API key")
    if require_secret and record.kind != "secret":
        raise ApiError(
            403,
            "SECRET_KEY_REQUIRED",
            "This route needs your secret key (sk_…); public keys only reach chat routes",
        )
    if settings().plan_limits.get(project.plan) is None:
        raise ApiError(403, "PLAN_REQUIRED", "API access requires a paid plan (pro, business or enterprise)")
    return Principal(project.project_id, project.plan,
                     record.kind,  # pragma: no mutate (read by no route: the secret-key check above uses the record)
                     project.name, project.instructions, project.allowed_origins, project.require_identity)
