/**
 * The BotPlot API client: one method per route of openapi.yaml, typed by the types
 * openapi-typescript generates from it (src/schema.ts), errors as {@link BotPlotError}s.
 *
 * ```ts
 * const bot = new BotPlot({ apiKey: "pk_...", baseUrl: "https://api.example.com" });
 * for await (const event of bot.chat.stream({ message: "How do I get started?" })) {
 *   if (event.type === "token") process.stdout.write(event.content);
 * }
 * ```
 */
import type { components, paths } from "./schema.js";
export type { components, paths } from "./schema.js";
export type Schemas = components["schemas"];
export type ChatRequest = Schemas["ChatRequest"];
export type ChatResponse = Schemas["ChatResponse"];
export type Citation = Schemas["Citation"];
export type WidgetConfig = Schemas["WidgetConfig"];
export type WebhookPayload = Schemas["WebhookPayload"];
/** The events of `POST /chat/stream`, as the API documents them. */
export type TokenEvent = {
    type: "token";
    content: string;
};
export type DoneEvent = {
    type: "done";
    messageId: string;
    conversationId: string;
    sources: number;
    citations: Citation[];
};
/** The answer was interrupted after some tokens (e.g. `LLM_UNAVAILABLE`); what was sent is stored. */
export type ErrorEvent = {
    type: "error";
    error: string;
    code: string;
    conversationId?: string;
    messageId?: string | null;
};
export type StreamEvent = TokenEvent | DoneEvent | ErrorEvent;
/** An error answer of the API (`{"error", "code"}` with its HTTP status), or a failure to reach it. */
export declare class BotPlotError extends Error {
    /** HTTP status; 0 when the API could not be reached or the connection was lost. */
    readonly status: number;
    /** The API's code (`RATE_LIMIT_EXCEEDED`, `INVALID_API_KEY`, ...), or `NETWORK_ERROR`, `STREAM_INCOMPLETE`. */
    readonly code: string;
    /** Seconds until the quota resets, from `X-RateLimit-Reset`, on a 429. */
    readonly retryAfter?: number;
    constructor(message: string, status: number, code: string, retryAfter?: number);
}
export declare class AuthenticationError extends BotPlotError {
}
export declare class PermissionDeniedError extends BotPlotError {
}
export declare class NotFoundError extends BotPlotError {
}
export declare class ValidationError extends BotPlotError {
}
export declare class RateLimitError extends BotPlotError {
}
export declare class ServerError extends BotPlotError {
}
export declare class ConnectionError extends BotPlotError {
}
type Method = "get" | "post" | "put" | "patch" | "delete";
/** "METHOD /path" of every operation in openapi.yaml (from the generated types). */
export type OperationKey = {
    [P in keyof paths]: {
        [M in Method]: [NonNullable<paths[P][M]>] extends [never] ? never : `${Uppercase<M>} ${P & string}`;
    }[Method];
}[keyof paths];
/**
 * Which client method calls each operation. Typed as a Record over every operation of the
 * generated types, so the build fails when openapi.yaml gains a route this client lacks.
 */
export declare const OPERATIONS: Record<OperationKey, string>;
export interface ClientOptions {
    /** `pk_...` (chat routes, safe in a browser) or `sk_...` (every route; keep it on a server). */
    apiKey: string;
    /** Where the API is, e.g. `http://127.0.0.1:3000` for `make run`. */
    baseUrl: string;
    /** A fetch implementation (default: the global one). */
    fetch?: typeof fetch;
}
export interface RequestOptions {
    signal?: AbortSignal;
    /**
     * POST and PATCH: run the request once per key. A retry with the same key and body within 24 hours
     * gets the first answer again (`replayed` is then true) and changes nothing; the same key with
     * another body is a 409 `IDEMPOTENCY_KEY_REUSED`, and while the first is running 409
     * `IDEMPOTENCY_IN_PROGRESS`. 1-255 printable ASCII characters (a UUID).
     */
    idempotencyKey?: string;
}
type Query = Record<string, string | number | null | undefined>;
export declare class BotPlot {
    readonly chat: Chat;
    readonly knowledge: Knowledge;
    readonly conversations: Conversations;
    readonly leads: Leads;
    readonly visitors: Visitors;
    readonly analytics: Analytics;
    readonly projects: Projects;
    readonly webhooks: Webhooks;
    /** `X-RateLimit-*` of the last answer: calls allowed this month, left, and the reset (epoch seconds). */
    rateLimit?: {
        limit: number;
        remaining: number;
        reset: number;
    };
    /** Whether the last answer was the stored answer of an earlier call with its `idempotencyKey`. */
    replayed: boolean;
    private readonly baseUrl;
    private readonly apiKey;
    private readonly fetchImpl;
    constructor(options: ClientOptions);
    /** Send a request; resolve with the response if it is 2xx, else throw the API's error. */
    send(method: string, path: string, body?: unknown, query?: Query, options?: RequestOptions): Promise<Response>;
    json<T>(method: string, path: string, body?: unknown, query?: Query, options?: RequestOptions): Promise<T>;
}
declare class Chat {
    private readonly api;
    constructor(api: BotPlot);
    /** `POST /chat`: the whole answer at once. */
    send(body: ChatRequest, options?: RequestOptions): Promise<ChatResponse>;
    /**
     * `POST /chat/stream`: the answer's events as they arrive. An `error` event (the answer was
     * interrupted) is yielded like the others; a connection lost before `done` throws a
     * {@link ConnectionError} (`STREAM_INCOMPLETE` or `NETWORK_ERROR`).
     */
    stream(body: ChatRequest, options?: RequestOptions): AsyncGenerator<StreamEvent>;
    /** `GET /chat/config`: what the widget shows (name, branding, logo, greeting). */
    config(options?: RequestOptions): Promise<WidgetConfig>;
    /** `POST /chat/rating`: rate an assistant message (or the whole conversation) 1 or -1. */
    rate(body: Schemas["RatingRequest"], options?: RequestOptions): Promise<Schemas["RatingResponse"]>;
    /** `POST /chat/lead`: leave contact details (an email or a phone). */
    lead(body: Schemas["LeadRequest"], options?: RequestOptions): Promise<Schemas["LeadResponse"]>;
    /** `POST /chat/handoff`: ask for a human. */
    handoff(body: Schemas["HandoffRequest"], options?: RequestOptions): Promise<Schemas["HandoffResponse"]>;
}
declare class Knowledge {
    private readonly api;
    constructor(api: BotPlot);
    /** Every source (the reference's list), or with `limit` a page; `cursor`: the previous page's `nextCursor`. */
    list(query?: QueryOf<"/api/v1/knowledge">, options?: RequestOptions): Promise<Schemas["SourceList"]>;
    /** Every source (newest first), page by page (with `cursor`). */
    all(pageSize?: number): AsyncGenerator<Schemas["SourceSummary"]>;
    /** Crawl a website (queued: the source is `pending`, then `processing`, then `ready` or `failed`). */
    addUrl(body: Schemas["AddUrl"], options?: RequestOptions): Promise<Schemas["SourceCreated"]>;
    addQa(body: Schemas["AddQa"], options?: RequestOptions): Promise<Schemas["SourceCreated"]>;
    /** A source with a page of its chunks (`limit`, and `offset` or `cursor`: the previous page's `nextCursor`). */
    get(sourceId: string, page?: QueryOf<"/api/v1/knowledge/{sourceId}">, options?: RequestOptions): Promise<Schemas["SourceResponse"]>;
    /** Every chunk of a source, page by page (with `cursor`). */
    chunks(sourceId: string, pageSize?: number): AsyncGenerator<Schemas["ChunkView"]>;
    delete(sourceId: string, options?: RequestOptions): Promise<Schemas["SuccessResponse"]>;
    recrawl(sourceId: string, options?: RequestOptions): Promise<Schemas["RecrawlResponse"]>;
}
type QueryOf<P extends keyof paths> = paths[P] extends {
    get: {
        parameters: {
            query?: infer Q;
        };
    };
} ? NonNullable<Q> : never;
type ConversationQuery = QueryOf<"/api/v1/conversations">;
declare class Conversations {
    private readonly api;
    constructor(api: BotPlot);
    list(query?: ConversationQuery, options?: RequestOptions): Promise<Schemas["ConversationList"]>;
    /** Every conversation (newest first), page by page (with `cursor`). */
    all(query?: Omit<ConversationQuery, "limit" | "offset" | "cursor">, pageSize?: number): AsyncGenerator<Schemas["ConversationSummary"]>;
    get(id: string, options?: RequestOptions): Promise<Schemas["ConversationResponse"]>;
    delete(id: string, options?: RequestOptions): Promise<Schemas["SuccessResponse"]>;
}
type LeadQuery = QueryOf<"/api/v1/leads">;
declare class Leads {
    private readonly api;
    constructor(api: BotPlot);
    list(query?: LeadQuery, options?: RequestOptions): Promise<Schemas["LeadList"]>;
    /** Every lead (newest first), page by page (with `cursor`). */
    all(query?: Omit<LeadQuery, "limit" | "offset" | "cursor">, pageSize?: number): AsyncGenerator<Schemas["LeadView"]>;
    delete(id: string, options?: RequestOptions): Promise<Schemas["SuccessResponse"]>;
}
/** A visitor's data rights: everything stored about them, exported or erased. */
declare class Visitors {
    private readonly api;
    constructor(api: BotPlot);
    /** `GET /visitors/:visitorId/export`: their conversations (with messages), ratings and leads. */
    export(visitorId: string, options?: RequestOptions): Promise<Schemas["VisitorExport"]>;
    /** `DELETE /visitors/:visitorId`: erase all of it (and what it counted); answers with the counts. */
    erase(visitorId: string, options?: RequestOptions): Promise<Schemas["VisitorErased"]>;
}
type Period = QueryOf<"/api/v1/analytics">;
declare class Analytics {
    private readonly api;
    constructor(api: BotPlot);
    get(query?: Period, options?: RequestOptions): Promise<Schemas["AnalyticsResponse"]>;
    ratings(query?: Period, options?: RequestOptions): Promise<Schemas["RatingsResponse"]>;
    /** `GET /analytics/gaps`: the questions the bot could not answer, grouped, with a suggested Q&A question. */
    gaps(query?: QueryOf<"/api/v1/analytics/gaps">, options?: RequestOptions): Promise<Schemas["GapsResponse"]>;
}
declare class Projects {
    private readonly api;
    constructor(api: BotPlot);
    updateBranding(projectId: string, body: Schemas["Branding"], options?: RequestOptions): Promise<Schemas["BrandingResponse"]>;
    setSubdomain(projectId: string, body: Schemas["SubdomainRequest"], options?: RequestOptions): Promise<Schemas["SubdomainResponse"]>;
    verifyDomain(projectId: string, options?: RequestOptions): Promise<Schemas["VerifyDomainResponse"]>;
    /** `GET /projects/:projectId/settings`: the origins allowed to use the public key, whether identity is required. */
    getSettings(projectId: string, options?: RequestOptions): Promise<Schemas["ProjectSettings"]>;
    /** `PATCH /projects/:projectId/settings`: change only the settings passed (`allowed_origins: []` allows any;
     * `require_identity` needs an identity secret first). */
    updateSettings(projectId: string, body: Schemas["SettingsUpdate"], options?: RequestOptions): Promise<Schemas["ProjectSettings"]>;
    /** `POST /projects/:projectId/identity-secret`: create or rotate it; the answer is the only time it is shown. */
    rotateIdentitySecret(projectId: string, options?: RequestOptions): Promise<Schemas["IdentitySecretResponse"]>;
}
declare class Webhooks {
    private readonly api;
    constructor(api: BotPlot);
    private base;
    /** Every webhook (the reference's list), or with `limit` a page; `cursor`: the previous page's `nextCursor`. */
    list(projectId: string, query?: QueryOf<"/api/v1/projects/{projectId}/webhooks">, options?: RequestOptions): Promise<Schemas["WebhookList"]>;
    /** Every webhook (oldest first), page by page (with `cursor`). */
    all(projectId: string, pageSize?: number): AsyncGenerator<Schemas["WebhookView"]>;
    /** The answer carries the signing `secret`, shown only this once. */
    create(projectId: string, body: Schemas["CreateWebhook"], options?: RequestOptions): Promise<Schemas["WebhookResponse"]>;
    update(projectId: string, webhookId: string, body: Schemas["UpdateWebhook"], options?: RequestOptions): Promise<Schemas["WebhookResponse"]>;
    delete(projectId: string, webhookId: string, options?: RequestOptions): Promise<Schemas["OkResponse"]>;
    /** Recent delivery attempts, newest first (`limit`; `cursor`: the previous page's `nextCursor`). */
    deliveries(projectId: string, webhookId: string, query?: QueryOf<"/api/v1/projects/{projectId}/webhooks/{webhookId}/deliveries">, options?: RequestOptions): Promise<Schemas["DeliveryList"]>;
    /** Every delivery attempt of a webhook (newest first), page by page (with `cursor`). */
    allDeliveries(projectId: string, webhookId: string, pageSize?: number): AsyncGenerator<Schemas["DeliveryView"]>;
    redeliver(projectId: string, webhookId: string, deliveryId: string, options?: RequestOptions): Promise<Schemas["RedeliveryResponse"]>;
    /** Send a signed `ping` now and report how the endpoint answered. */
    test(projectId: string, webhookId: string, options?: RequestOptions): Promise<Schemas["TestDeliveryResponse"]>;
}
