"""Projects and their API keys."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, ListAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from botplot.db.base import table_meta


class Project(Model):
    Meta = table_meta("PROJECTS")

    project_id = UnicodeAttribute(hash_key=True, attr_name="projectId")
    name = UnicodeAttribute()
    plan = UnicodeAttribute()
    created_at = UnicodeAttribute(attr_name="createdAt")
    instructions = UnicodeAttribute(null=True)
    white_label = BooleanAttribute(attr_name="whiteLabel", default=False)
    logo_url = UnicodeAttribute(attr_name="logoUrl", null=True)
    subdomain = UnicodeAttribute(null=True)
    custom_domain = UnicodeAttribute(attr_name="customDomain", null=True)
    domain_verified_at = UnicodeAttribute(attr_name="domainVerifiedAt", null=True)
    #: origins whose pages may use the public key (canonical, see services/origins.py); none: any
    allowed_origins = ListAttribute(of=UnicodeAttribute, attr_name="allowedOrigins", null=True)
    #: public-key chat calls must carry visitorId and its visitorHash (services/identity.py)
    require_identity = BooleanAttribute(attr_name="requireIdentity", null=True)


class KeysByProject(GlobalSecondaryIndex):
    class Meta:
        index_name = "byProject"
        projection = KeysOnlyProjection()

    project_id = UnicodeAttribute(hash_key=True, attr_name="projectId")


class ApiKey(Model):
    """An API key, found by the SHA-256 of the key itself; the key is never stored."""

    Meta = table_meta("API_KEYS")

    key_hash = UnicodeAttribute(hash_key=True, attr_name="keyHash")
    project_id = UnicodeAttribute(attr_name="projectId")
    kind = UnicodeAttribute()  # "public" | "secret"
    status = UnicodeAttribute(default="active")  # "active" | "revoked"
    key_prefix = UnicodeAttribute(attr_name="keyPrefix")
    created_at = UnicodeAttribute(attr_name="createdAt")
    revoked_at = UnicodeAttribute(attr_name="revokedAt", null=True)
    by_project = KeysByProject()


class Subdomain(Model):
    """One item per claimed subdomain: a conditional put makes the name unique across projects."""

    Meta = table_meta("SUBDOMAINS")

    subdomain = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute(attr_name="projectId")
    claimed_at = UnicodeAttribute(attr_name="claimedAt")



class IdentitySecret(Model):
    """A project's visitor-identity secret, kept apart from the project item so that only the
    functions that need it (chat reads it, projects writes it) may read it."""

    Meta = table_meta("IDENTITY_SECRETS")

    project_id = UnicodeAttribute(hash_key=True, attr_name="projectId")
    secret = UnicodeAttribute()  # the HMAC key; returned by the call that creates it only, never logged
    created_at = UnicodeAttribute(attr_name="createdAt")
