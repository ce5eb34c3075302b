"""The client. Written once in its asynchronous form (``_async/client.py``); ``generate.py`` derives
the synchronous form (``_sync/client.py``) from it with unasync, so the two cannot drift apart."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx

from botplot_client import models
from botplot_client.events import StreamEvent
from botplot_client.errors import BotPlotError, ConnectionError, from_response  # noqa: F401 - re-exported

_UNSET: Any = object()
Period = Literal["7d", "30d", "90d"]


def _drop_unset(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not _UNSET and v is not None}


class AsyncBotPlot:
    """``AsyncBotPlot(api_key="pk_...", base_url="http://127.0.0.1:3000")``; use it as an async context
    manager, or call :meth:`aclose`. A public key reaches the chat routes, a secret key every route."""

    def __init__(self, api_key: str, base_url: str, *, timeout: float = 60.0,
                 http_client: httpx.AsyncClient | None = None):
        if not api_key:
            raise ValueError("api_key is required")
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}
        #: ``X-RateLimit-*`` of the last answer: limit, remaining, reset (epoch seconds)
        self.rate_limit: dict[str, int] | None = None
        #: whether the last answer was the stored answer of an earlier call with its Idempotency-Key
        self.replayed = False
        self.chat = AsyncChat(self)
        self.knowledge = AsyncKnowledge(self)
        self.conversations = AsyncConversations(self)
        self.leads = AsyncLeads(self)
        self.visitors = AsyncVisitors(self)
        self.analytics = AsyncAnalytics(self)
        self.projects = AsyncProjects(self)
        self.webhooks = AsyncWebhooks(self)

    async def __aenter__(self) -> AsyncBotPlot:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _note_limits(self, response: httpx.Response) -> None:
        self.replayed = response.headers.get("Idempotent-Replayed") == "true"
        if "X-RateLimit-Limit" in response.headers:
            self.rate_limit = {name: int(response.headers.get(f"X-RateLimit-{name.title()}", 0))
                               for name in ("limit", "remaining", "reset")}

    def _headers_with(self, idempotency_key: str | None) -> dict[str, str]:
        """``idempotency_key``: a POST or PATCH runs once per key; a retry with it within 24 hours gets the
        first answer again (``replayed`` is then true) and changes nothing."""
        return {**self._headers, "Idempotency-Key": idempotency_key} if idempotency_key else self._headers

    async def request(self, method: str, path: str, *, json_body: Any = None,
                      params: dict[str, Any] | None = None, idempotency_key: str | None = None) -> Any:
        """One call: the answer's JSON, or a :class:`BotPlotError`."""
        try:
            response = await self._http.request(method, self._base + path, json=json_body,
                                                headers=self._headers_with(idempotency_key),
                                                params=_drop_unset(params or {}))
        except httpx.TransportError as error:
            raise ConnectionError(f"Could not reach the BotPlot API: {error}", 0, "NETWORK_ERROR") from error
        self._note_limits(response)
        if response.is_error:
            raise from_response(response, response.content)
        return response.json()

    async def stream_events(self, path: str, body: dict[str, Any], idempotency_key: str | None = None
                            ) -> AsyncIterator[StreamEvent]:
        try:
            async with self._http.stream("POST", self._base + path, json=body,
                                         headers=self._headers_with(idempotency_key)) as response:
                self._note_limits(response)
                if response.is_error:
                    raise from_response(response, await response.aread())
                finished = False
                data: list[str] = []
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        data.append(line[6:] if line.startswith("data: ") else line[5:])
                    elif not line and data:
                        event = json.loads("\n".join(data))
                        data = []
                        finished = event.get("type") in ("done", "error")
                        yield event
        except httpx.TransportError as error:
            raise ConnectionError(f"The connection was lost during the answer: {error}", 0,
                                  "NETWORK_ERROR") from error
        if not finished:
            raise ConnectionError("The answer ended before it was complete", 0, "STREAM_INCOMPLETE")


async def _walk(fetch, key: str, page_size: int) -> AsyncIterator[Any]:
    """Every item of a cursor list: each page starts where the previous one's ``nextCursor`` points,
    so a page costs the API the same at any depth."""
    cursor = None
    while True:
        page = await fetch(limit=page_size, cursor=cursor)
        for item in page[key]:
            yield item
        cursor = page.get("nextCursor")
        if not cursor:
            return


class _Resource:
    def __init__(self, client: AsyncBotPlot):
        self._client = client


class AsyncChat(_Resource):
    async def send(self, message: str, *, conversation_id: str | None = None,
                   visitor_id: str | None = None, visitor_hash: str | None = None,
                   idempotency_key: str | None = None) -> models.ChatResponse:
        """``POST /chat``: the whole answer at once. ``visitor_hash`` (hex HMAC-SHA256 of ``visitor_id`` with
        the project's identity secret) is required when the project requires identity."""
        return await self._client.request("POST", "/api/v1/chat", json_body=_drop_unset(
            {"message": message, "conversationId": conversation_id, "visitorId": visitor_id,
             "visitorHash": visitor_hash}),
            idempotency_key=idempotency_key)

    async def stream(self, message: str, *, conversation_id: str | None = None,
                     visitor_id: str | None = None, visitor_hash: str | None = None,
                     idempotency_key: str | None = None) -> AsyncIterator[StreamEvent]:
        """``POST /chat/stream``: ``token`` events as the answer is produced, then ``done`` (or ``error``
        when the answer was interrupted, e.g. ``LLM_UNAVAILABLE``). A connection lost before the end
        raises :class:`ConnectionError`."""
        body = _drop_unset({"message": message, "conversationId": conversation_id, "visitorId": visitor_id,
                            "visitorHash": visitor_hash})
        async for event in self._client.stream_events("/api/v1/chat/stream", body, idempotency_key):
            yield event

    async def config(self) -> models.WidgetConfig:
        """``GET /chat/config``: what the widget shows (name, branding, logo, greeting)."""
        return await self._client.request("GET", "/api/v1/chat/config")

    async def rate(self, conversation_id: str, rating: Literal[1, -1], *,
                   message_id: str | None = None, visitor_id: str | None = None, visitor_hash: str | None = None,
                   idempotency_key: str | None = None) -> models.RatingResponse:
        return await self._client.request("POST", "/api/v1/chat/rating", json_body=_drop_unset(
            {"conversationId": conversation_id, "messageId": message_id, "rating": rating, "visitorId": visitor_id,
             "visitorHash": visitor_hash}),
            idempotency_key=idempotency_key)

    async def lead(self, *, conversation_id: str | None = None, visitor_id: str | None = None,
                   name: str | None = None, email: str | None = None, phone: str | None = None,
                   visitor_hash: str | None = None, idempotency_key: str | None = None) -> models.LeadResponse:
        return await self._client.request("POST", "/api/v1/chat/lead", json_body=_drop_unset(
            {"conversationId": conversation_id, "visitorId": visitor_id, "name": name, "email": email,
             "visitorHash": visitor_hash,
             "phone": phone}), idempotency_key=idempotency_key)

    async def handoff(self, conversation_id: str, *, reason: str | None = None, visitor_id: str | None = None,
                      visitor_hash: str | None = None, idempotency_key: str | None = None) -> models.HandoffResponse:
        return await self._client.request("POST", "/api/v1/chat/handoff", json_body=_drop_unset(
            {"conversationId": conversation_id, "reason": reason, "visitorId": visitor_id,
             "visitorHash": visitor_hash}), idempotency_key=idempotency_key)


class AsyncKnowledge(_Resource):
    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> models.SourceList:
        """Every source (the reference's list), or with ``limit`` a page; ``cursor``: a ``nextCursor``."""
        return await self._client.request("GET", "/api/v1/knowledge", params={"limit": limit, "cursor": cursor})

    async def iter(self, *, page_size: int = 100) -> AsyncIterator[models.SourceSummary]:
        """Every source, newest first, page by page (with cursors)."""
        async for source in _walk(self.list, "sources", page_size):
            yield source

    async def add_url(self, url: str, *, sync_frequency: Literal["manual", "daily", "weekly"] = "manual",
                      idempotency_key: str | None = None) -> models.SourceCreated:
        """Crawl a website (queued: ``pending``, then ``processing``, then ``ready`` or ``failed``)."""
        return await self._client.request("POST", "/api/v1/knowledge/url",
                                          json_body={"url": url, "syncFrequency": sync_frequency},
                                          idempotency_key=idempotency_key)

    async def add_qa(self, question: str, answer: str, *, idempotency_key: str | None = None
                     ) -> models.SourceCreated:
        return await self._client.request("POST", "/api/v1/knowledge/qa",
                                          json_body={"question": question, "answer": answer},
                                          idempotency_key=idempotency_key)

    async def get(self, source_id: str, *, limit: int | None = None, offset: int | None = None,
                  cursor: str | None = None) -> models.SourceResponse:
        """A source with a page of its chunks: by ``offset``, or after ``cursor`` (a ``nextCursor``)."""
        return await self._client.request("GET", f"/api/v1/knowledge/{_segment(source_id)}",
                                          params={"limit": limit, "offset": offset, "cursor": cursor})

    async def chunks(self, source_id: str, *, page_size: int = 100) -> AsyncIterator[models.ChunkView]:
        """Every chunk of a source, in order, page by page (with cursors)."""
        async def fetch(**page):
            return await self.get(source_id, **page)

        async for chunk in _walk(fetch, "chunks", page_size):
            yield chunk

    async def delete(self, source_id: str) -> models.SuccessResponse:
        return await self._client.request("DELETE", f"/api/v1/knowledge/{_segment(source_id)}")

    async def recrawl(self, source_id: str, *, idempotency_key: str | None = None) -> models.RecrawlResponse:
        return await self._client.request("POST", f"/api/v1/knowledge/{_segment(source_id)}/recrawl",
                                          idempotency_key=idempotency_key)


class AsyncConversations(_Resource):
    async def list(self, *, limit: int | None = None, offset: int | None = None,
                   status: str | None = None, cursor: str | None = None) -> models.ConversationList:
        """A page by ``offset``, or after ``cursor`` (a ``nextCursor``; not with ``offset``)."""
        return await self._client.request("GET", "/api/v1/conversations", params={
            "limit": limit, "offset": offset, "status": status, "cursor": cursor})

    async def iter(self, *, status: str | None = None, page_size: int = 100
                   ) -> AsyncIterator[models.ConversationSummary]:
        """Every conversation, newest first, page by page (with cursors)."""
        async def fetch(**page):
            return await self.list(status=status, **page)

        async for conversation in _walk(fetch, "conversations", page_size):
            yield conversation

    async def get(self, conversation_id: str) -> models.ConversationResponse:
        return await self._client.request("GET", f"/api/v1/conversations/{_segment(conversation_id)}")

    async def delete(self, conversation_id: str) -> models.SuccessResponse:
        return await self._client.request("DELETE", f"/api/v1/conversations/{_segment(conversation_id)}")


class AsyncLeads(_Resource):
    async def list(self, *, limit: int | None = None, offset: int | None = None,
                   search: str | None = None, cursor: str | None = None) -> models.LeadList:
        """A page by ``offset``, or after ``cursor`` (a ``nextCursor``; not with ``offset``)."""
        return await self._client.request("GET", "/api/v1/leads", params={
            "limit": limit, "offset": offset, "search": search, "cursor": cursor})

    async def iter(self, *, search: str | None = None, page_size: int = 100) -> AsyncIterator[models.LeadView]:
        """Every lead, newest first, page by page (with cursors)."""
        async def fetch(**page):
            return await self.list(search=search, **page)

        async for lead in _walk(fetch, "leads", page_size):
            yield lead

    async def delete(self, lead_id: str) -> models.SuccessResponse:
        return await self._client.request("DELETE", f"/api/v1/leads/{_segment(lead_id)}")


class AsyncVisitors(_Resource):
    """A visitor's data rights: everything stored about them, exported or erased."""

    async def export(self, visitor_id: str) -> models.VisitorExport:
        return await self._client.request("GET", f"/api/v1/visitors/{_segment(visitor_id)}/export")

    async def erase(self, visitor_id: str) -> models.VisitorErased:
        return await self._client.request("DELETE", f"/api/v1/visitors/{_segment(visitor_id)}")


class AsyncAnalytics(_Resource):
    async def get(self, *, period: Period | None = None) -> models.AnalyticsResponse:
        return await self._client.request("GET", "/api/v1/analytics", params={"period": period})

    async def ratings(self, *, period: Period | None = None) -> models.RatingsResponse:
        return await self._client.request("GET", "/api/v1/analytics/ratings", params={"period": period})

    async def gaps(self, *, period: Period | None = None, limit: int | None = None) -> models.GapsResponse:
        """The questions the bot could not answer, grouped, each with a suggested Q&A question."""
        return await self._client.request("GET", "/api/v1/analytics/gaps", params={"period": period, "limit": limit})


class AsyncProjects(_Resource):
    async def update_branding(self, project_id: str, *, white_label: bool | None = _UNSET,
                              custom_logo: str | None = _UNSET, custom_domain: str | None = _UNSET,
                              idempotency_key: str | None = None) -> models.BrandingResponse:
        """Change only what is passed; ``None`` removes the logo or the custom domain."""
        body = {k: v for k, v in {"white_label": white_label, "custom_logo": custom_logo,
                                  "custom_domain": custom_domain}.items() if v is not _UNSET}
        return await self._client.request("PATCH", f"/api/v1/projects/{_segment(project_id)}/branding",
                                          json_body=body, idempotency_key=idempotency_key)

    async def set_subdomain(self, project_id: str, subdomain: str, *, idempotency_key: str | None = None
                            ) -> models.SubdomainResponse:
        return await self._client.request("PATCH", f"/api/v1/projects/{_segment(project_id)}/subdomain",
                                          json_body={"subdomain": subdomain}, idempotency_key=idempotency_key)

    async def verify_domain(self, project_id: str, *, idempotency_key: str | None = None
                            ) -> models.VerifyDomainResponse:
        return await self._client.request("POST", f"/api/v1/projects/{_segment(project_id)}/verify-domain",
                                          idempotency_key=idempotency_key)

    async def get_settings(self, project_id: str) -> models.ProjectSettings:
        """The origins allowed to use the public key."""
        return await self._client.request("GET", f"/api/v1/projects/{_segment(project_id)}/settings")

    async def update_settings(self, project_id: str, *, allowed_origins: list[str] | None = None,
                              require_identity: bool | None = None) -> models.ProjectSettings:
        """Change only what is passed; ``allowed_origins=[]`` allows any origin again."""
        return await self._client.request("PATCH", f"/api/v1/projects/{_segment(project_id)}/settings",
                                          json_body=_drop_unset({"allowed_origins": allowed_origins,
                                                                 "require_identity": require_identity}))

    async def rotate_identity_secret(self, project_id: str) -> models.IdentitySecretResponse:
        """Create or rotate the identity secret: the answer is the only time it is shown."""
        return await self._client.request("POST", f"/api/v1/projects/{_segment(project_id)}/identity-secret")


class AsyncWebhooks(_Resource):
    @staticmethod
    def _path(project_id: str, webhook_id: str | None = None) -> str:
        path = f"/api/v1/projects/{_segment(project_id)}/webhooks"
        return path if webhook_id is None else f"{path}/{_segment(webhook_id)}"

    async def list(self, project_id: str, *, limit: int | None = None, cursor: str | None = None
                   ) -> models.WebhookList:
        """Every webhook (the reference's list), or with ``limit`` a page; ``cursor``: a ``nextCursor``."""
        return await self._client.request("GET", self._path(project_id), params={"limit": limit, "cursor": cursor})

    async def iter(self, project_id: str, *, page_size: int = 100) -> AsyncIterator[models.WebhookView]:
        """Every webhook, oldest first, page by page (with cursors)."""
        async def fetch(**page):
            return await self.list(project_id, **page)

        async for webhook in _walk(fetch, "webhooks", page_size):
            yield webhook

    async def create(self, project_id: str, url: str, events: list[str], *,
                     description: str | None = None, idempotency_key: str | None = None) -> models.WebhookResponse:
        """The answer carries the signing ``secret``, shown only this once (and again to a retry with the
        same ``idempotency_key`` within 24 hours)."""
        return await self._client.request("POST", self._path(project_id), json_body=_drop_unset(
            {"url": url, "events": events, "description": description}), idempotency_key=idempotency_key)

    async def update(self, project_id: str, webhook_id: str, *, url: str | None = None,
                     events: list[str] | None = None, description: str | None = None,
                     is_active: bool | None = None, idempotency_key: str | None = None) -> models.WebhookResponse:
        return await self._client.request("PATCH", self._path(project_id, webhook_id), json_body=_drop_unset(
            {"url": url, "events": events, "description": description, "is_active": is_active}),
            idempotency_key=idempotency_key)

    async def delete(self, project_id: str, webhook_id: str) -> models.OkResponse:
        return await self._client.request("DELETE", self._path(project_id, webhook_id))

    async def deliveries(self, project_id: str, webhook_id: str, *, limit: int | None = None,
                         cursor: str | None = None) -> models.DeliveryList:
        """Recent delivery attempts, newest first; ``cursor``: the previous page's ``nextCursor``."""
        return await self._client.request("GET", f"{self._path(project_id, webhook_id)}/deliveries",
                                          params={"limit": limit, "cursor": cursor})

    async def iter_deliveries(self, project_id: str, webhook_id: str, *, page_size: int = 100
                              ) -> AsyncIterator[models.DeliveryView]:
        """Every delivery attempt of a webhook, newest first, page by page (with cursors)."""
        async def fetch(**page):
            return await self.deliveries(project_id, webhook_id, **page)

        async for delivery in _walk(fetch, "deliveries", page_size):
            yield delivery

    async def redeliver(self, project_id: str, webhook_id: str, delivery_id: str, *,
                        idempotency_key: str | None = None) -> models.RedeliveryResponse:
        return await self._client.request(
            "POST", f"{self._path(project_id, webhook_id)}/deliveries/{_segment(delivery_id)}/redeliver",
            idempotency_key=idempotency_key)

    async def test(self, project_id: str, webhook_id: str, *, idempotency_key: str | None = None
                   ) -> models.TestDeliveryResponse:
        """Send a signed ``ping`` now and report how the endpoint answered."""
        return await self._client.request("POST", f"{self._path(project_id, webhook_id)}/test",
                                          idempotency_key=idempotency_key)


def _segment(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


#: The client method of every operation of openapi.yaml; the tests fail when one is missing.
OPERATIONS: dict[str, str] = {
    "POST /api/v1/chat": "chat.send",
    "POST /api/v1/chat/stream": "chat.stream",
    "GET /api/v1/chat/config": "chat.config",
    "POST /api/v1/chat/rating": "chat.rate",
    "POST /api/v1/chat/lead": "chat.lead",
    "POST /api/v1/chat/handoff": "chat.handoff",
    "GET /api/v1/knowledge": "knowledge.list",
    "POST /api/v1/knowledge/url": "knowledge.add_url",
    "POST /api/v1/knowledge/qa": "knowledge.add_qa",
    "GET /api/v1/knowledge/{sourceId}": "knowledge.get",
    "DELETE /api/v1/knowledge/{sourceId}": "knowledge.delete",
    "POST /api/v1/knowledge/{sourceId}/recrawl": "knowledge.recrawl",
    "GET /api/v1/conversations": "conversations.list",
    "GET /api/v1/conversations/{id}": "conversations.get",
    "DELETE /api/v1/conversations/{id}": "conversations.delete",
    "GET /api/v1/visitors/{visitorId}/export": "visitors.export",
    "DELETE /api/v1/visitors/{visitorId}": "visitors.erase",
    "GET /api/v1/leads": "leads.list",
    "DELETE /api/v1/leads/{id}": "leads.delete",
    "GET /api/v1/analytics": "analytics.get",
    "GET /api/v1/analytics/ratings": "analytics.ratings",
    "GET /api/v1/analytics/gaps": "analytics.gaps",
    "PATCH /api/v1/projects/{projectId}/branding": "projects.update_branding",
    "PATCH /api/v1/projects/{projectId}/subdomain": "projects.set_subdomain",
    "POST /api/v1/projects/{projectId}/verify-domain": "projects.verify_domain",
    "GET /api/v1/projects/{projectId}/settings": "projects.get_settings",
    "PATCH /api/v1/projects/{projectId}/settings": "projects.update_settings",
    "POST /api/v1/projects/{projectId}/identity-secret": "projects.rotate_identity_secret",
    "GET /api/v1/projects/{projectId}/webhooks": "webhooks.list",
    "POST /api/v1/projects/{projectId}/webhooks": "webhooks.create",
    "PATCH /api/v1/projects/{projectId}/webhooks/{webhookId}": "webhooks.update",
    "DELETE /api/v1/projects/{projectId}/webhooks/{webhookId}": "webhooks.delete",
    "GET /api/v1/projects/{projectId}/webhooks/{webhookId}/deliveries": "webhooks.deliveries",
    "POST /api/v1/projects/{projectId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver": "webhooks.redeliver",
    "POST /api/v1/projects/{projectId}/webhooks/{webhookId}/test": "webhooks.test",
}

__all__ = ["AsyncBotPlot", "BotPlotError", "OPERATIONS"]
