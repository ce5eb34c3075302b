"""Projects group (secret key): webhooks and their deliveries, branding, subdomain, custom domain, and
access settings (allowed origins of the public key, verified visitor identity)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from botplot.errors import bad_request
from botplot.events import EVENT_TYPES
from botplot.net import urls
from botplot.services import access, identity, origins
from botplot.services import settings as project_settings
from botplot.services import webhooks
from botplot.services.auth import Principal
from botplot.web import paging, schemas
from botplot.web.app import API_PREFIX, create_app
from botplot.web.deps import AuthFirstRoute, secret_key
from botplot.web.handlers import mangum_handler

router = APIRouter(prefix=API_PREFIX, tags=["projects"], responses=schemas.COMMON_ERRORS,
                   route_class=AuthFirstRoute)


def own_project(projectId: str, caller: Annotated[Principal, Depends(secret_key)]) -> Principal:
    """The path's project must be the key's own; any other id is unknown to this key (404)."""
    webhooks.check_project(caller.project_id, projectId)
    return caller


Caller = Annotated[Principal, Depends(own_project)]


#: what webhooks.validate_url checks first; the host must also resolve to a public address
HTTPS_URL = schemas.documented(pattern=urls.HTTPS_URL, maxLength=2048)
EVENT_LIST = schemas.documented(items={"type": "string", "enum": list(EVENT_TYPES)}, minItems=1)


class CreateWebhook(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: StrictStr = Field(description="HTTPS endpoint URL (a public host)", json_schema_extra=HTTPS_URL)
    events: list[StrictStr] = Field(description="Event types to subscribe to", max_length=6,
                                    json_schema_extra=EVENT_LIST)
    description: StrictStr | None = Field(None, max_length=500, description="Friendly description")


class UpdateWebhook(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: StrictStr | None = Field(None, description="HTTPS endpoint URL (a public host)", json_schema_extra=HTTPS_URL)
    events: list[StrictStr] | None = Field(None, max_length=6, json_schema_extra=EVENT_LIST)
    description: StrictStr | None = Field(None, max_length=500)
    is_active: StrictBool | None = Field(None, description="true re-enables a deactivated webhook")


@router.get("/projects/{projectId}/webhooks", response_model=schemas.WebhookList, response_model_exclude_unset=True)
def list_webhooks(
    caller: Caller,
    request: Request,
    limit: Annotated[int | None, Query(ge=1, le=100, description="Max results (default: all, as the reference "
                                                                  "lists them; give it, or cursor, to page)")] = None,
    cursor: paging.Cursor = None,
) -> dict:
    """List all webhooks for a project (never their secrets), oldest first; with `limit` (and then `cursor`, the
    previous page's `nextCursor`) a page at a time."""
    after = paging.after(request, cursor, caller.project_id, "webhooks", {})
    items, more = webhooks.list_webhooks(caller.project_id, limit, after)
    return {"webhooks": [webhooks.view(w) for w in items],
            "nextCursor": paging.next_cursor(caller.project_id, "webhooks", {},
                                             items[-1].webhook_id if items else None, more)}


@router.post("/projects/{projectId}/webhooks", response_model=schemas.WebhookResponse, response_model_exclude_unset=True)
def create_webhook(body: CreateWebhook, caller: Caller) -> dict:
    """Create a webhook. Returns the signing secret (shown only once)."""
    webhook = webhooks.create(caller.project_id, body.url, body.events, body.description)
    return {"webhook": webhooks.view(webhook, with_secret=True)}


@router.patch("/projects/{projectId}/webhooks/{webhookId}", response_model=schemas.WebhookResponse, response_model_exclude_unset=True)
def update_webhook(webhookId: str, body: UpdateWebhook, caller: Caller) -> dict:
    """Change a webhook's URL, events or description, or re-enable it (is_active: true)."""
    webhook = webhooks.update(caller.project_id, webhookId, body.url, body.events, body.description, body.is_active)
    return {"webhook": webhooks.view(webhook)}


@router.delete("/projects/{projectId}/webhooks/{webhookId}", response_model=schemas.OkResponse)
def delete_webhook(webhookId: str, caller: Caller) -> dict:
    """Delete a webhook and all its delivery records."""
    webhooks.delete(caller.project_id, webhookId)
    return {"ok": True}


@router.post("/projects/{projectId}/webhooks/{webhookId}/test", response_model=schemas.TestDeliveryResponse)
def test_webhook(webhookId: str, caller: Caller) -> dict:
    """Send a ping test event. Returns the delivery result immediately."""
    return {"delivery": webhooks.ping(caller.project_id, webhookId)}


@router.get("/projects/{projectId}/webhooks/{webhookId}/deliveries", response_model=schemas.DeliveryList)
def list_deliveries(webhookId: str, caller: Caller, request: Request,
                    limit: Annotated[int, Query(ge=1, le=100, description="Max results (default 20)")] = 20,
                    cursor: paging.Cursor = None) -> dict:
    """Recent delivery attempts, newest first: status code, duration, error. Paged with `cursor`."""
    filters = {"webhookId": webhookId}
    after = paging.after(request, cursor, caller.project_id, "deliveries", filters)
    page, last = webhooks.deliveries(caller.project_id, webhookId, limit, after)
    return {"deliveries": page,
            "nextCursor": paging.next_cursor(caller.project_id, "deliveries", filters, last, last is not None)}


@router.post("/projects/{projectId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
             response_model=schemas.RedeliveryResponse, responses=schemas.errors(409))
def redeliver(webhookId: str, deliveryId: str, caller: Caller) -> dict:
    """Queue one more attempt of a delivery (same delivery id, same bytes). 409 WEBHOOK_INACTIVE while the webhook
    is deactivated."""
    return {"delivery": webhooks.redeliver(caller.project_id, webhookId, deliveryId)}


def _boolean_only(schema: dict) -> None:
    """``white_label`` may be left out but not sent as null (the route refuses it)."""
    schema.pop("anyOf", None)
    schema.pop("default", None)
    schema["type"] = "boolean"


class Branding(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={
        "minProperties": 1, "description": "Send at least one of white_label, custom_logo, custom_domain"})

    white_label: StrictBool | None = Field(None, description="Enable/disable white-label (removes BotPlot branding)",
                                           json_schema_extra=_boolean_only)
    custom_logo: StrictStr | None = Field(None, description="Base64 data URL of logo (PNG/JPG/SVG, max 100KB). "
                                                            "Set to null to remove.")
    custom_domain: StrictStr | None = Field(None, description="Custom domain (e.g. chat.example.com). "
                                                              "Set to null to remove.")


class SubdomainRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subdomain: StrictStr = Field(description="Desired subdomain (e.g. my-client-site)",
                                 json_schema_extra=schemas.documented(
                                     pattern=project_settings.SUBDOMAIN_PATTERN,
                                     **{"not": {"enum": sorted(project_settings.RESERVED_SUBDOMAINS)}}))


@router.patch("/projects/{projectId}/branding", response_model=schemas.BrandingResponse, response_model_exclude_unset=True)
def update_branding(body: Branding, caller: Caller) -> dict:
    """Update white-label, custom logo and custom domain settings (at least one). Requires Enterprise plan."""
    given = {name: getattr(body, name) for name in body.model_fields_set}
    if given.get("white_label", False) is None:
        raise bad_request("'white_label' must be true or false")
    return project_settings.update_branding(caller.project_id, **given)


@router.patch("/projects/{projectId}/subdomain", response_model=schemas.SubdomainResponse,
              responses=schemas.errors(409))
def set_subdomain(body: SubdomainRequest, caller: Caller) -> dict:
    """Configure a custom subdomain. Requires Enterprise plan. Unique, 3-30 chars, lowercase alphanumeric and
    hyphens."""
    return {"subdomain": project_settings.claim_subdomain(caller.project_id, body.subdomain)}


@router.post("/projects/{projectId}/verify-domain", response_model=schemas.VerifyDomainResponse,
             response_model_exclude_unset=True, responses=schemas.errors(409, 503))
def verify_domain(caller: Caller) -> dict:
    """Verify DNS configuration for a custom domain: its CNAME must point at the configured target.

    400 NO_CUSTOM_DOMAIN when the project has no custom_domain (set one with PATCH …/branding first)."""
    return project_settings.verify_domain(caller.project_id)


def _not_null(schema: dict) -> None:
    """A field that may be left out but not sent as null (the route refuses null)."""
    branches = [b for b in schema.pop("anyOf", [schema]) if b.get("type") != "null"]
    schema.pop("default", None)
    if len(branches) == 1 and branches[0] is not schema:
        schema.update(branches[0])


def _origin_list(schema: dict) -> None:
    """The rule services/origins.py enforces on each entry, published in the document."""
    _not_null(schema)
    schema["items"].update(pattern=origins.ORIGIN_PATTERN, maxLength=origins.MAX_ORIGIN_CHARS)


class SettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={
        "minProperties": 1, "description": "Send at least one setting"})

    allowed_origins: list[StrictStr] | None = Field(
        None, max_length=origins.MAX_ORIGINS,
        description="Origins whose pages may use the public key: exact (https://app.example.com, "
                    "http://localhost:3000) or https://*.example.com for every subdomain; [] allows any origin",
        json_schema_extra=lambda schema: _origin_list(schema))
    require_identity: StrictBool | None = Field(
        None, description="Public-key chat calls must carry visitorId and its visitorHash (needs an identity secret)",
        json_schema_extra=_not_null)


@router.get("/projects/{projectId}/settings", response_model=schemas.ProjectSettings)
def get_settings(caller: Caller) -> dict:
    """The project's access settings: the origins allowed to use its public key."""
    return access.view(caller.project_id)


@router.patch("/projects/{projectId}/settings", response_model=schemas.ProjectSettings,
              responses=schemas.errors(409))
def update_settings(body: SettingsUpdate, caller: Caller) -> dict:
    """Change the access settings. A public-key call from an origin not in allowed_origins is 403
    ORIGIN_NOT_ALLOWED (calls without an Origin header, from servers, are not restricted). With
    require_identity, public-key chat calls need visitorId and visitorHash (401 INVALID_VISITOR_HASH);
    409 IDENTITY_SECRET_REQUIRED until an identity secret exists."""
    given = {name: getattr(body, name) for name in body.model_fields_set}
    if not given:
        raise bad_request("Send at least one setting: allowed_origins, require_identity")
    if "allowed_origins" in given and given["allowed_origins"] is None:
        raise bad_request("'allowed_origins' must be a list of origins ([] allows any origin)")
    if "require_identity" in given and given["require_identity"] is None:
        raise bad_request("'require_identity' must be true or false")
    return access.update(caller.project_id, **given)


@router.post("/projects/{projectId}/identity-secret", response_model=schemas.IdentitySecretResponse)
def rotate_identity_secret(caller: Caller) -> dict:
    """Create the project's identity secret, or rotate it (the old one stops working within the cache
    time, 15 s). Shown only in this answer: your server computes visitorHash = hex(HMAC-SHA256(secret,
    visitorId))."""
    return identity.rotate(caller.project_id)


app = create_app(router, service="projects", title="BotPlot projects")
handler = mangum_handler(app)
