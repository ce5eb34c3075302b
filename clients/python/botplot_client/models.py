# Generated from openapi.yaml by clients/python/generate.py (datamodel-code-generator).

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypeAlias

from typing_extensions import TypedDict


class AddQa(TypedDict):
    question: str
    answer: str


class AddUrl(TypedDict):
    url: str
    syncFrequency: NotRequired[Literal['manual', 'daily', 'weekly']]


class Branding(TypedDict):
    white_label: NotRequired[bool]
    custom_logo: NotRequired[str | None]
    custom_domain: NotRequired[str | None]


class BrandingResponse(TypedDict, closed=True):
    white_label: bool
    custom_logo: bool
    logo_url: NotRequired[str | None]
    custom_domain: NotRequired[str | None]


class ChatRequest(TypedDict):
    message: str
    conversationId: NotRequired[str | None]
    visitorId: NotRequired[str | None]
    visitorHash: NotRequired[str | None]


class ChunkView(TypedDict, closed=True):
    id: str
    content: str
    tokenCount: int
    url: NotRequired[str | None]
    title: NotRequired[str | None]
    heading: NotRequired[str | None]


class Citation(TypedDict, closed=True):
    sourceId: str
    url: str | None
    title: str
    snippet: str
    score: float


class ConversationSummary(TypedDict, closed=True):
    id: str
    visitorId: str | None
    status: str
    overallRating: int | None
    handoffStatus: str
    messageCount: int
    firstMessage: str | None
    createdAt: str
    lastMessageAt: str


class CrawlProgress(TypedDict, closed=True):
    phase: str
    pagesFetched: NotRequired[int]
    pagesQueued: NotRequired[int]
    pagesEmbedded: NotRequired[int]
    pagesToEmbed: NotRequired[int]
    startedAt: NotRequired[str | None]
    updatedAt: NotRequired[str | None]


class CreateWebhook(TypedDict):
    url: str
    events: list[Literal['conversation.started', 'conversation.ended', 'message.created', 'lead.captured', 'handoff.requested', 'rating.received', 'usage.warning', 'usage.exhausted', 'source.synced', 'source.failed']]
    description: NotRequired[str | None]


class DayPoint(TypedDict, closed=True):
    date: str
    messages: int
    conversations: int


class DeliveryView(TypedDict, closed=True):
    deliveryId: str
    event: str
    status: str
    attempts: int
    statusCode: int | None
    durationMs: int | None
    error: str | None
    responseBody: str | None
    createdAt: str
    updatedAt: str | None
    nextAttemptAt: str | None


class ErasedCounts(TypedDict, closed=True):
    conversations: int
    messages: int
    ratings: int
    leads: int


class ErrorResponse(TypedDict, closed=True):
    error: str
    code: str


class HandoffRequest(TypedDict):
    conversationId: str
    reason: NotRequired[str | None]
    visitorId: NotRequired[str | None]
    visitorHash: NotRequired[str | None]


class HandoffResponse(TypedDict, closed=True):
    success: bool
    conversationId: str
    handoffStatus: str
    status: str


class IdentitySecretResponse(TypedDict, closed=True):
    identity_secret: str | None
    created_at: str
    rotated: bool


class KnowledgeGap(TypedDict, closed=True):
    question: str
    count: int
    ratedDown: int
    examples: list[str]
    lastAskedAt: str | None


class LeadRequest1(TypedDict):
    conversationId: NotRequired[str | None]
    visitorId: NotRequired[str | None]
    name: NotRequired[str | None]
    email: str | None
    phone: NotRequired[str | None]
    visitorHash: NotRequired[str | None]


class LeadRequest2(TypedDict):
    conversationId: NotRequired[str | None]
    visitorId: NotRequired[str | None]
    name: NotRequired[str | None]
    email: NotRequired[str | None]
    phone: str | None
    visitorHash: NotRequired[str | None]


LeadRequest: TypeAlias = LeadRequest1 | LeadRequest2


class LeadResponse(TypedDict, closed=True):
    success: bool
    leadId: str


class LeadView(TypedDict, closed=True):
    id: str
    name: str | None
    email: str | None
    phone: str | None
    conversationId: str | None
    visitorId: str | None
    createdAt: str


class MessageView(TypedDict, closed=True):
    id: str
    role: str
    content: str
    createdAt: str
    rating: NotRequired[int | None]
    confidence: NotRequired[float | None]
    citations: NotRequired[list[Citation] | None]


class OkResponse(TypedDict, closed=True):
    ok: bool


class Overview(TypedDict, closed=True):
    totalConversations: int
    totalMessages: int
    uniqueVisitors: int
    avgMessagesPerConversation: float
    leadsCollected: int
    resolutionRate: float


class ProjectSettings(TypedDict, closed=True):
    allowed_origins: list[str]
    require_identity: bool
    identity_secret_created_at: str | None


class RatingPoint(TypedDict, closed=True):
    date: str
    positive: int
    negative: int


class RatingRequest(TypedDict):
    conversationId: str
    messageId: NotRequired[str | None]
    rating: Literal[1, -1]
    visitorId: NotRequired[str | None]
    visitorHash: NotRequired[str | None]


class RatingResponse(TypedDict, closed=True):
    success: bool
    conversationId: str
    rating: int
    messageId: NotRequired[str | None]


class RatingsSummary(TypedDict, closed=True):
    totalRatings: int
    positive: int
    negative: int
    satisfactionRate: float


class RecrawlResponse(TypedDict, closed=True):
    success: bool
    status: str


class Redelivery(TypedDict, closed=True):
    deliveryId: str
    status: str


class RedeliveryResponse(TypedDict, closed=True):
    delivery: Redelivery


AllowedOrigin: TypeAlias = str


class SettingsUpdate(TypedDict):
    allowed_origins: NotRequired[list[AllowedOrigin]]
    require_identity: NotRequired[bool]


class SourceCreated(TypedDict, closed=True):
    sourceId: str
    status: str


class SourceDetail(TypedDict, closed=True):
    id: str
    type: str
    name: str
    status: str
    chunkCount: int
    wordCount: int
    syncFrequency: str
    createdAt: str
    error: NotRequired[str | None]
    lastCrawledAt: NotRequired[str | None]
    progress: NotRequired[CrawlProgress | None]
    url: NotRequired[str | None]
    question: NotRequired[str | None]
    answer: NotRequired[str | None]


class SourceResponse(TypedDict, closed=True):
    source: SourceDetail
    chunks: list[ChunkView]
    crawlReport: NotRequired[dict[str, Any] | None]
    nextCursor: NotRequired[str | None]


class SourceSummary(TypedDict, closed=True):
    id: str
    type: str
    name: str
    status: str
    chunkCount: int
    wordCount: int
    syncFrequency: str
    createdAt: str
    error: NotRequired[str | None]
    lastCrawledAt: NotRequired[str | None]
    progress: NotRequired[CrawlProgress | None]


class SubdomainRequest(TypedDict):
    subdomain: str


class SubdomainResponse(TypedDict, closed=True):
    subdomain: str


class SuccessResponse(TypedDict, closed=True):
    success: bool


class TestDelivery(TypedDict, closed=True):
    deliveryId: str
    statusCode: int | None
    responseBody: str | None
    success: bool
    durationMs: NotRequired[int | None]
    error: NotRequired[str | None]


class TestDeliveryResponse(TypedDict, closed=True):
    delivery: TestDelivery


class TopQuestion(TypedDict, closed=True):
    question: str
    count: int


class UpdateWebhook(TypedDict):
    url: NotRequired[str | None]
    events: NotRequired[list[Literal['conversation.started', 'conversation.ended', 'message.created', 'lead.captured', 'handoff.requested', 'rating.received', 'usage.warning', 'usage.exhausted', 'source.synced', 'source.failed']] | None]
    description: NotRequired[str | None]
    is_active: NotRequired[bool | None]


class VerifyDomainResponse(TypedDict, closed=True):
    verified: bool
    domain: str
    expected: str
    found: str | None
    verifiedAt: NotRequired[str | None]


class VisitorConversation(TypedDict, closed=True):
    id: str
    visitorId: str | None
    status: str
    overallRating: int | None
    handoffStatus: str
    messageCount: int
    firstMessage: str | None
    createdAt: str
    lastMessageAt: str
    messages: list[MessageView]
    handoffReason: NotRequired[str | None]


class VisitorErased(TypedDict, closed=True):
    success: bool
    visitorId: str
    erased: ErasedCounts


class VisitorRating(TypedDict, closed=True):
    conversationId: str
    messageId: str | None
    rating: int
    ratedAt: str | None


class Data(TypedDict):
    conversation_id: NotRequired[str]
    message_id: NotRequired[str]
    role: NotRequired[str]
    content: NotRequired[str]
    confidence_score: NotRequired[float | None]
    created_at: NotRequired[str]


class WebhookPayload(TypedDict):
    event: Literal['conversation.started', 'conversation.ended', 'message.created', 'lead.captured', 'handoff.requested', 'rating.received', 'ping']
    project_id: str
    timestamp: str
    data: Data


class WebhookView(TypedDict, closed=True):
    id: str
    url: str
    description: str | None
    events: list[str]
    is_active: bool
    created_at: str
    secret: NotRequired[str | None]
    disabled_reason: NotRequired[str | None]


class WidgetConfig(TypedDict, closed=True):
    name: str
    showBranding: bool
    logoUrl: NotRequired[str | None]
    greeting: str


class AnalyticsResponse(TypedDict, closed=True):
    overview: Overview
    messagesOverTime: list[DayPoint]
    topQuestions: list[TopQuestion]


class ChatResponse(TypedDict, closed=True):
    response: str
    conversationId: str
    messageId: str
    sources: int
    citations: NotRequired[list[Citation]]


class ConversationDetail(TypedDict, closed=True):
    id: str
    visitorId: str | None
    status: str
    overallRating: int | None
    handoffStatus: str
    messageCount: int
    firstMessage: str | None
    createdAt: str
    lastMessageAt: str
    messages: list[MessageView]


class ConversationList(TypedDict, closed=True):
    conversations: list[ConversationSummary]
    total: int
    nextCursor: NotRequired[str | None]


class ConversationResponse(TypedDict, closed=True):
    conversation: ConversationDetail


class DeliveryList(TypedDict, closed=True):
    deliveries: list[DeliveryView]
    nextCursor: NotRequired[str | None]


class GapsResponse(TypedDict, closed=True):
    gaps: list[KnowledgeGap]
    totalGroups: int


class LeadList(TypedDict, closed=True):
    leads: list[LeadView]
    total: int
    nextCursor: NotRequired[str | None]


class RatingsResponse(TypedDict, closed=True):
    summary: RatingsSummary
    ratingsTrend: list[RatingPoint]


class SourceList(TypedDict, closed=True):
    sources: list[SourceSummary]
    nextCursor: NotRequired[str | None]


class VisitorExport(TypedDict, closed=True):
    visitorId: str
    exportedAt: str
    lastActiveDay: str | None
    conversations: list[VisitorConversation]
    ratings: list[VisitorRating]
    leads: list[LeadView]


class WebhookList(TypedDict, closed=True):
    webhooks: list[WebhookView]
    nextCursor: NotRequired[str | None]


class WebhookResponse(TypedDict, closed=True):
    webhook: WebhookView
