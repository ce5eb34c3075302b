"""Response shapes of the public API, as the reference shows them (plus documented additions).

They document the API (the OpenAPI document is generated from the apps) and check what the routes
return; routes answer with ``response_model_exclude_unset`` so fields a route leaves out (such as
a source's ``error``) stay out, exactly as before.
"""

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ErrorResponse(Model):
    error: str = Field(examples=["Description of the error"])
    code: str = Field(examples=["ERROR_CODE"])


def errors(*statuses: int) -> dict:
    text = {400: "Invalid request parameters or body", 401: "Missing or invalid API key",
            403: "API access requires a paid plan, or action not allowed", 404: "Resource not found",
            409: "Conflict with the resource's state (a code such as WEBHOOK_INACTIVE or SUBDOMAIN_TAKEN says which)",
            413: "Request body over 1 MB", 429: "Monthly API limit exceeded",
            500: "Something went wrong on our end", 503: "A dependency (DNS) did not answer in time; try again"}
    return {s: {"model": ErrorResponse, "description": text[s]} for s in statuses}


COMMON_ERRORS = errors(400, 401, 403, 404, 429, 500)


def documented(**keywords):
    """A field's ``json_schema_extra`` that publishes a rule its validator enforces (a pattern, a
    bound) in the OpenAPI document, on the value's own schema: on an optional field, the non-null
    branch, so the rule reads "a string matching …, or null"."""

    def apply(schema: dict) -> None:
        branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
        for branch in branches:
            branch.update(keywords)

    return apply


# ---------------------------------------------------------------- chat and widget
class Citation(Model):
    sourceId: str
    url: str | None = Field(description="The page, with a #:~:text= fragment on HTML pages; null for Q&A")
    title: str
    snippet: str
    score: float


class ChatResponse(Model):
    response: str
    conversationId: str
    messageId: str
    sources: int
    citations: list[Citation] = Field(default_factory=list, description="Sources used, best first (an addition)")


class RatingResponse(Model):
    success: bool
    conversationId: str
    rating: int
    messageId: str | None = None


class LeadResponse(Model):
    success: bool
    leadId: str


class HandoffResponse(Model):
    success: bool
    conversationId: str
    handoffStatus: str
    status: str


# ---------------------------------------------------------------- knowledge
class WidgetConfig(Model):
    """What the embeddable widget needs to render a project's chat (public key)."""

    name: str = Field(description="The project's name, shown in the panel's header")
    showBranding: bool = Field(description="False on white-label projects: hide 'Powered by BotPlot'")
    logoUrl: str | None = Field(None, description="The project's custom logo (Enterprise), or null")
    greeting: str = Field(description="The first message the widget shows")


class CrawlProgress(Model):
    """How far a running crawl is (an addition): present only while the source is processing."""

    phase: str = Field(description='"queued", "crawling", "embedding" or "indexing"')
    pagesFetched: int = Field(0, description="Pages fetched so far")
    pagesQueued: int = Field(0, description="Pages found and waiting to be fetched")
    pagesEmbedded: int = Field(0, description="Changed pages embedded and indexed so far")
    pagesToEmbed: int = Field(0, description="Changed pages to embed in all (known once crawling ends)")
    startedAt: str | None = Field(None, description="When the crawl worker started this crawl")
    updatedAt: str | None = None


class SourceSummary(Model):
    id: str
    type: str
    name: str
    status: str
    chunkCount: int
    wordCount: int
    syncFrequency: str
    createdAt: str
    error: str | None = None
    lastCrawledAt: str | None = None
    progress: CrawlProgress | None = None


class SourceDetail(SourceSummary):
    url: str | None = None
    question: str | None = None
    answer: str | None = None


class SourceList(Model):
    sources: list[SourceSummary]
    nextCursor: str | None = Field(None, description="With limit or cursor: pass as `cursor` for the next page; "
                                                     "null on the last (an addition)")


class ChunkView(Model):
    id: str
    content: str
    tokenCount: int
    url: str | None = None
    title: str | None = None
    heading: str | None = None


class SourceResponse(Model):
    source: SourceDetail
    chunks: list[ChunkView]
    crawlReport: dict | None = Field(None, description="The last crawl's change report (an addition)")
    nextCursor: str | None = Field(None, description="Pass as `cursor` for the next page of chunks; "
                                                     "null on the last (an addition)")


class SourceCreated(Model):
    sourceId: str
    status: str


class RecrawlResponse(Model):
    success: bool
    status: str


class SuccessResponse(Model):
    success: bool


# ---------------------------------------------------------------- conversations and leads
class ConversationSummary(Model):
    id: str
    visitorId: str | None
    status: str
    overallRating: int | None
    handoffStatus: str
    messageCount: int
    firstMessage: str | None
    createdAt: str
    lastMessageAt: str


class MessageView(Model):
    id: str
    role: str
    content: str
    createdAt: str
    rating: int | None = None
    confidence: float | None = None
    citations: list[Citation] | None = None


class ConversationDetail(ConversationSummary):
    messages: list[MessageView]


class ConversationList(Model):
    conversations: list[ConversationSummary]
    total: int
    nextCursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last "
                                                     "(an addition: the reference pages with offset)")


class ConversationResponse(Model):
    conversation: ConversationDetail


class LeadView(Model):
    id: str
    name: str | None
    email: str | None
    phone: str | None
    conversationId: str | None
    visitorId: str | None
    createdAt: str


class LeadList(Model):
    leads: list[LeadView]
    total: int
    nextCursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last "
                                                     "(an addition: the reference pages with offset)")


# ---------------------------------------------------------------- visitor data rights
class VisitorConversation(ConversationDetail):
    handoffReason: str | None = None


class VisitorRating(Model):
    conversationId: str
    messageId: str | None = Field(description="null: the rating of the whole conversation")
    rating: int = Field(description="1 or -1")
    ratedAt: str | None


class VisitorExport(Model):
    visitorId: str
    exportedAt: str
    lastActiveDay: str | None = Field(description="The visitor's last active day (YYYY-MM-DD, UTC) as analytics count it")
    conversations: list[VisitorConversation]
    ratings: list[VisitorRating]
    leads: list[LeadView]


class ErasedCounts(Model):
    conversations: int
    messages: int
    ratings: int
    leads: int


class VisitorErased(Model):
    success: bool
    visitorId: str
    erased: ErasedCounts


# ---------------------------------------------------------------- analytics
class Overview(Model):
    totalConversations: int
    totalMessages: int
    uniqueVisitors: int
    avgMessagesPerConversation: float
    leadsCollected: int
    resolutionRate: float


class DayPoint(Model):
    date: str
    messages: int
    conversations: int


class TopQuestion(Model):
    question: str
    count: int


class AnalyticsResponse(Model):
    overview: Overview
    messagesOverTime: list[DayPoint]
    topQuestions: list[TopQuestion]


class KnowledgeGap(Model):
    question: str = Field(description="A suggested question for a Q&A pair that would answer the group")
    count: int = Field(description="Times it went unanswered in the period (below the confidence threshold, or rated down)")
    ratedDown: int = Field(description="How many of those were answers rated down (-1)")
    examples: list[str] = Field(description="Wordings visitors used, most frequent first (at most 3)")
    lastAskedAt: str | None


class GapsResponse(Model):
    gaps: list[KnowledgeGap]
    totalGroups: int = Field(description="Open groups in the period (the list shows the first `limit`)")


class RatingsSummary(Model):
    totalRatings: int
    positive: int
    negative: int
    satisfactionRate: float


class RatingPoint(Model):
    date: str
    positive: int
    negative: int


class RatingsResponse(Model):
    summary: RatingsSummary
    ratingsTrend: list[RatingPoint]


# ---------------------------------------------------------------- webhooks and settings
class WebhookView(Model):
    id: str
    url: str
    description: str | None
    events: list[str]
    is_active: bool
    created_at: str
    secret: str | None = Field(None, description="Only in the answer to the create call")
    disabled_reason: str | None = None


class WebhookList(Model):
    webhooks: list[WebhookView]
    nextCursor: str | None = Field(None, description="With limit or cursor: pass as `cursor` for the next page; "
                                                     "null on the last (an addition)")


class WebhookResponse(Model):
    webhook: WebhookView


class OkResponse(Model):
    ok: bool


class TestDelivery(Model):
    deliveryId: str
    statusCode: int | None
    responseBody: str | None
    success: bool
    durationMs: int | None = None
    error: str | None = None


class TestDeliveryResponse(Model):
    delivery: TestDelivery


class DeliveryView(Model):
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


class DeliveryList(Model):
    deliveries: list[DeliveryView]
    nextCursor: str | None = Field(None, description="Pass as `cursor` for the next (older) page; null on the last")


class Redelivery(Model):
    deliveryId: str
    status: str


class RedeliveryResponse(Model):
    delivery: Redelivery


class BrandingResponse(Model):
    white_label: bool
    custom_logo: bool
    logo_url: str | None = None
    custom_domain: str | None = None


class ProjectSettings(Model):
    allowed_origins: list[str] = Field(description="Origins whose pages may use the public key (empty: any origin)")
    require_identity: bool = Field(description="Public-key chat calls must carry visitorId and its visitorHash")
    identity_secret_created_at: str | None = Field(description="When the identity secret was created or rotated; "
                                                               "null while there is none (the secret is never shown "
                                                               "again)")


class IdentitySecretResponse(Model):
    identity_secret: str | None = Field(description="The HMAC-SHA256 key for visitorHash; shown only this once: "
                                                    "null when the answer is an Idempotency-Key replay")
    created_at: str
    rotated: bool = Field(description="true when it replaced a previous secret, which no longer works")


class SubdomainResponse(Model):
    subdomain: str


class VerifyDomainResponse(Model):
    verified: bool
    domain: str
    expected: str
    found: str | None
    verifiedAt: str | None = None
