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
import { readEvents } from "./sse.js";

export type { components, paths } from "./schema.js";
export type Schemas = components["schemas"];
export type ChatRequest = Schemas["ChatRequest"];
export type ChatResponse = Schemas["ChatResponse"];
export type Citation = Schemas["Citation"];
export type WidgetConfig = Schemas["WidgetConfig"];
export type WebhookPayload = Schemas["WebhookPayload"];

/** The events of `POST /chat/stream`, as the API documents them. */
export type TokenEvent = { type: "token"; content: string };
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
export class BotPlotError extends Error {
  /** HTTP status; 0 when the API could not be reached or the connection was lost. */
  readonly status: number;
  /** The API's code (`RATE_LIMIT_EXCEEDED`, `INVALID_API_KEY`, ...), or `NETWORK_ERROR`, `STREAM_INCOMPLETE`. */
  readonly code: string;
  /** Seconds until the quota resets, from `X-RateLimit-Reset`, on a 429. */
  readonly retryAfter?: number;

  constructor(message: string, status: number, code: string, retryAfter?: number) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}
export class AuthenticationError extends BotPlotError {}
export class PermissionDeniedError extends BotPlotError {}
export class NotFoundError extends BotPlotError {}
export class ValidationError extends BotPlotError {}
export class RateLimitError extends BotPlotError {}
export class ServerError extends BotPlotError {}
export class ConnectionError extends BotPlotError {}

const ERROR_CLASSES: Record<number, typeof BotPlotError> = {
  400: ValidationError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  413: ValidationError,
  429: RateLimitError,
};

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
export const OPERATIONS: Record<OperationKey, string> = {
  "POST /api/v1/chat": "chat.send",
  "POST /api/v1/chat/stream": "chat.stream",
  "GET /api/v1/chat/config": "chat.config",
  "POST /api/v1/chat/rating": "chat.rate",
  "POST /api/v1/chat/lead": "chat.lead",
  "POST /api/v1/chat/handoff": "chat.handoff",
  "GET /api/v1/knowledge": "knowledge.list",
  "POST /api/v1/knowledge/url": "knowledge.addUrl",
  "POST /api/v1/knowledge/qa": "knowledge.addQa",
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
  "PATCH /api/v1/projects/{projectId}/branding": "projects.updateBranding",
  "PATCH /api/v1/projects/{projectId}/subdomain": "projects.setSubdomain",
  "POST /api/v1/projects/{projectId}/verify-domain": "projects.verifyDomain",
  "GET /api/v1/projects/{projectId}/settings": "projects.getSettings",
  "PATCH /api/v1/projects/{projectId}/settings": "projects.updateSettings",
  "POST /api/v1/projects/{projectId}/identity-secret": "projects.rotateIdentitySecret",
  "GET /api/v1/projects/{projectId}/webhooks": "webhooks.list",
  "POST /api/v1/projects/{projectId}/webhooks": "webhooks.create",
  "PATCH /api/v1/projects/{projectId}/webhooks/{webhookId}": "webhooks.update",
  "DELETE /api/v1/projects/{projectId}/webhooks/{webhookId}": "webhooks.delete",
  "GET /api/v1/projects/{projectId}/webhooks/{webhookId}/deliveries": "webhooks.deliveries",
  "POST /api/v1/projects/{projectId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver": "webhooks.redeliver",
  "POST /api/v1/projects/{projectId}/webhooks/{webhookId}/test": "webhooks.test",
};

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

function segment(value: string): string {
  return encodeURIComponent(value);
}

export class BotPlot {
  readonly chat: Chat;
  readonly knowledge: Knowledge;
  readonly conversations: Conversations;
  readonly leads: Leads;
  readonly visitors: Visitors;
  readonly analytics: Analytics;
  readonly projects: Projects;
  readonly webhooks: Webhooks;
  /** `X-RateLimit-*` of the last answer: calls allowed this month, left, and the reset (epoch seconds). */
  rateLimit?: { limit: number; remaining: number; reset: number };
  /** Whether the last answer was the stored answer of an earlier call with its `idempotencyKey`. */
  replayed = false;
  private readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions) {
    if (!options.apiKey) throw new TypeError("apiKey is required");
    this.apiKey = options.apiKey;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.chat = new Chat(this);
    this.knowledge = new Knowledge(this);
    this.conversations = new Conversations(this);
    this.leads = new Leads(this);
    this.visitors = new Visitors(this);
    this.analytics = new Analytics(this);
    this.projects = new Projects(this);
    this.webhooks = new Webhooks(this);
  }

  /** Send a request; resolve with the response if it is 2xx, else throw the API's error. */
  async send(method: string, path: string, body?: unknown, query?: Query, options?: RequestOptions): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { Authorization: `Bearer ${this.apiKey}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (options?.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: options?.signal,
      });
    } catch (error) {
      if ((error as Error)?.name === "AbortError") throw error;
      throw new ConnectionError(`Could not reach the BotPlot API: ${(error as Error)?.message ?? error}`, 0, "NETWORK_ERROR");
    }
    this.replayed = response.headers.get("Idempotent-Replayed") === "true";
    const limit = response.headers.get("X-RateLimit-Limit");
    if (limit !== null) {
      this.rateLimit = {
        limit: Number(limit),
        remaining: Number(response.headers.get("X-RateLimit-Remaining")),
        reset: Number(response.headers.get("X-RateLimit-Reset")),
      };
    }
    if (!response.ok) throw await toError(response);
    return response;
  }

  async json<T>(method: string, path: string, body?: unknown, query?: Query, options?: RequestOptions): Promise<T> {
    const response = await this.send(method, path, body, query, options);
    return (await response.json()) as T;
  }
}

async function toError(response: Response): Promise<BotPlotError> {
  let error = `HTTP ${response.status}`;
  let code = response.status >= 500 ? "INTERNAL_ERROR" : "HTTP_ERROR";
  try {
    const body = (await response.json()) as { error?: unknown; code?: unknown };
    if (typeof body.error === "string") error = body.error;
    if (typeof body.code === "string") code = body.code;
  } catch {
    // not JSON (a proxy's page): keep the status
  }
  const reset = Number(response.headers.get("X-RateLimit-Reset"));
  const retryAfter = response.status === 429 && reset ? Math.max(0, reset - Math.floor(Date.now() / 1000)) : undefined;
  const Kind = ERROR_CLASSES[response.status] ?? (response.status >= 500 ? ServerError : BotPlotError);
  return new Kind(error, response.status, code, retryAfter);
}

/** Every item of a cursor list: each page starts where the previous one's `nextCursor` points, so a
 * page costs the API the same at any depth. */
async function* walk<T>(fetchPage: (cursor?: string) => Promise<{ items: T[]; nextCursor?: string | null }>):
  AsyncGenerator<T> {
  let cursor: string | undefined;
  for (;;) {
    const { items, nextCursor } = await fetchPage(cursor);
    yield* items;
    if (!nextCursor) return;
    cursor = nextCursor;
  }
}

class Chat {
  constructor(private readonly api: BotPlot) {}

  /** `POST /chat`: the whole answer at once. */
  send(body: ChatRequest, options?: RequestOptions): Promise<ChatResponse> {
    return this.api.json("POST", "/api/v1/chat", body, undefined, options);
  }

  /**
   * `POST /chat/stream`: the answer's events as they arrive. An `error` event (the answer was
   * interrupted) is yielded like the others; a connection lost before `done` throws a
   * {@link ConnectionError} (`STREAM_INCOMPLETE` or `NETWORK_ERROR`).
   */
  async *stream(body: ChatRequest, options?: RequestOptions): AsyncGenerator<StreamEvent> {
    const response = await this.api.send("POST", "/api/v1/chat/stream", body, undefined, options);
    if (!response.body) throw new ConnectionError("The answer has no body", 0, "STREAM_INCOMPLETE");
    let finished = false;
    try {
      for await (const data of readEvents(response.body)) {
        const event = JSON.parse(data) as StreamEvent;
        finished = event.type === "done" || event.type === "error";
        yield event;
      }
    } catch (error) {
      if ((error as Error)?.name === "AbortError") throw error;
      throw new ConnectionError(`The connection was lost during the answer: ${(error as Error)?.message ?? error}`,
                                0, "NETWORK_ERROR");
    }
    if (!finished) throw new ConnectionError("The answer ended before it was complete", 0, "STREAM_INCOMPLETE");
  }

  /** `GET /chat/config`: what the widget shows (name, branding, logo, greeting). */
  config(options?: RequestOptions): Promise<WidgetConfig> {
    return this.api.json("GET", "/api/v1/chat/config", undefined, undefined, options);
  }

  /** `POST /chat/rating`: rate an assistant message (or the whole conversation) 1 or -1. */
  rate(body: Schemas["RatingRequest"], options?: RequestOptions): Promise<Schemas["RatingResponse"]> {
    return this.api.json("POST", "/api/v1/chat/rating", body, undefined, options);
  }

  /** `POST /chat/lead`: leave contact details (an email or a phone). */
  lead(body: Schemas["LeadRequest"], options?: RequestOptions): Promise<Schemas["LeadResponse"]> {
    return this.api.json("POST", "/api/v1/chat/lead", body, undefined, options);
  }

  /** `POST /chat/handoff`: ask for a human. */
  handoff(body: Schemas["HandoffRequest"], options?: RequestOptions): Promise<Schemas["HandoffResponse"]> {
    return this.api.json("POST", "/api/v1/chat/handoff", body, undefined, options);
  }
}

class Knowledge {
  constructor(private readonly api: BotPlot) {}

  /** Every source (the reference's list), or with `limit` a page; `cursor`: the previous page's `nextCursor`. */
  list(query: QueryOf<"/api/v1/knowledge"> = {}, options?: RequestOptions): Promise<Schemas["SourceList"]> {
    return this.api.json("GET", "/api/v1/knowledge", undefined, query, options);
  }

  /** Every source (newest first), page by page (with `cursor`). */
  all(pageSize = 100): AsyncGenerator<Schemas["SourceSummary"]> {
    return walk(async (cursor) => {
      const result = await this.list({ limit: pageSize, cursor });
      return { items: result.sources, nextCursor: result.nextCursor };
    });
  }

  /** Crawl a website (queued: the source is `pending`, then `processing`, then `ready` or `failed`). */
  addUrl(body: Schemas["AddUrl"], options?: RequestOptions): Promise<Schemas["SourceCreated"]> {
    return this.api.json("POST", "/api/v1/knowledge/url", body, undefined, options);
  }

  addQa(body: Schemas["AddQa"], options?: RequestOptions): Promise<Schemas["SourceCreated"]> {
    return this.api.json("POST", "/api/v1/knowledge/qa", body, undefined, options);
  }

  /** A source with a page of its chunks (`limit`, and `offset` or `cursor`: the previous page's `nextCursor`). */
  get(sourceId: string, page: QueryOf<"/api/v1/knowledge/{sourceId}"> = {}, options?: RequestOptions): Promise<Schemas["SourceResponse"]> {
    return this.api.json("GET", `/api/v1/knowledge/${segment(sourceId)}`, undefined, page, options);
  }

  /** Every chunk of a source, page by page (with `cursor`). */
  chunks(sourceId: string, pageSize = 100): AsyncGenerator<Schemas["ChunkView"]> {
    return walk(async (cursor) => {
      const result = await this.get(sourceId, { limit: pageSize, cursor });
      return { items: result.chunks, nextCursor: result.nextCursor };
    });
  }

  delete(sourceId: string, options?: RequestOptions): Promise<Schemas["SuccessResponse"]> {
    return this.api.json("DELETE", `/api/v1/knowledge/${segment(sourceId)}`, undefined, undefined, options);
  }

  recrawl(sourceId: string, options?: RequestOptions): Promise<Schemas["RecrawlResponse"]> {
    return this.api.json("POST", `/api/v1/knowledge/${segment(sourceId)}/recrawl`, undefined, undefined, options);
  }
}

type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;
type ConversationQuery = QueryOf<"/api/v1/conversations">;

class Conversations {
  constructor(private readonly api: BotPlot) {}

  list(query: ConversationQuery = {}, options?: RequestOptions): Promise<Schemas["ConversationList"]> {
    return this.api.json("GET", "/api/v1/conversations", undefined, query, options);
  }

  /** Every conversation (newest first), page by page (with `cursor`). */
  all(query: Omit<ConversationQuery, "limit" | "offset" | "cursor"> = {}, pageSize = 100):
    AsyncGenerator<Schemas["ConversationSummary"]> {
    return walk(async (cursor) => {
      const result = await this.list({ ...query, limit: pageSize, cursor });
      return { items: result.conversations, nextCursor: result.nextCursor };
    });
  }

  get(id: string, options?: RequestOptions): Promise<Schemas["ConversationResponse"]> {
    return this.api.json("GET", `/api/v1/conversations/${segment(id)}`, undefined, undefined, options);
  }

  delete(id: string, options?: RequestOptions): Promise<Schemas["SuccessResponse"]> {
    return this.api.json("DELETE", `/api/v1/conversations/${segment(id)}`, undefined, undefined, options);
  }
}

type LeadQuery = QueryOf<"/api/v1/leads">;

class Leads {
  constructor(private readonly api: BotPlot) {}

  list(query: LeadQuery = {}, options?: RequestOptions): Promise<Schemas["LeadList"]> {
    return this.api.json("GET", "/api/v1/leads", undefined, query, options);
  }

  /** Every lead (newest first), page by page (with `cursor`). */
  all(query: Omit<LeadQuery, "limit" | "offset" | "cursor"> = {}, pageSize = 100): AsyncGenerator<Schemas["LeadView"]> {
    return walk(async (cursor) => {
      const result = await this.list({ ...query, limit: pageSize, cursor });
      return { items: result.leads, nextCursor: result.nextCursor };
    });
  }

  delete(id: string, options?: RequestOptions): Promise<Schemas["SuccessResponse"]> {
    return this.api.json("DELETE", `/api/v1/leads/${segment(id)}`, undefined, undefined, options);
  }
}

/** A visitor's data rights: everything stored about them, exported or erased. */
class Visitors {
  constructor(private readonly api: BotPlot) {}

  /** `GET /visitors/:visitorId/export`: their conversations (with messages), ratings and leads. */
  export(visitorId: string, options?: RequestOptions): Promise<Schemas["VisitorExport"]> {
    return this.api.json("GET", `/api/v1/visitors/${segment(visitorId)}/export`, undefined, undefined, options);
  }

  /** `DELETE /visitors/:visitorId`: erase all of it (and what it counted); answers with the counts. */
  erase(visitorId: string, options?: RequestOptions): Promise<Schemas["VisitorErased"]> {
    return this.api.json("DELETE", `/api/v1/visitors/${segment(visitorId)}`, undefined, undefined, options);
  }
}

type Period = QueryOf<"/api/v1/analytics">;

class Analytics {
  constructor(private readonly api: BotPlot) {}

  get(query: Period = {}, options?: RequestOptions): Promise<Schemas["AnalyticsResponse"]> {
    return this.api.json("GET", "/api/v1/analytics", undefined, query, options);
  }

  ratings(query: Period = {}, options?: RequestOptions): Promise<Schemas["RatingsResponse"]> {
    return this.api.json("GET", "/api/v1/analytics/ratings", undefined, query, options);
  }

  /** `GET /analytics/gaps`: the questions the bot could not answer, grouped, with a suggested Q&A question. */
  gaps(query: QueryOf<"/api/v1/analytics/gaps"> = {}, options?: RequestOptions): Promise<Schemas["GapsResponse"]> {
    return this.api.json("GET", "/api/v1/analytics/gaps", undefined, query, options);
  }
}

class Projects {
  constructor(private readonly api: BotPlot) {}

  updateBranding(projectId: string, body: Schemas["Branding"], options?: RequestOptions):
    Promise<Schemas["BrandingResponse"]> {
    return this.api.json("PATCH", `/api/v1/projects/${segment(projectId)}/branding`, body, undefined, options);
  }

  setSubdomain(projectId: string, body: Schemas["SubdomainRequest"], options?: RequestOptions):
    Promise<Schemas["SubdomainResponse"]> {
    return this.api.json("PATCH", `/api/v1/projects/${segment(projectId)}/subdomain`, body, undefined, options);
  }

  verifyDomain(projectId: string, options?: RequestOptions): Promise<Schemas["VerifyDomainResponse"]> {
    return this.api.json("POST", `/api/v1/projects/${segment(projectId)}/verify-domain`, undefined, undefined, options);
  }

  /** `GET /projects/:projectId/settings`: the origins allowed to use the public key, whether identity is required. */
  getSettings(projectId: string, options?: RequestOptions): Promise<Schemas["ProjectSettings"]> {
    return this.api.json("GET", `/api/v1/projects/${segment(projectId)}/settings`, undefined, undefined, options);
  }

  /** `PATCH /projects/:projectId/settings`: change only the settings passed (`allowed_origins: []` allows any;
   * `require_identity` needs an identity secret first). */
  updateSettings(projectId: string, body: Schemas["SettingsUpdate"], options?: RequestOptions):
    Promise<Schemas["ProjectSettings"]> {
    return this.api.json("PATCH", `/api/v1/projects/${segment(projectId)}/settings`, body, undefined, options);
  }

  /** `POST /projects/:projectId/identity-secret`: create or rotate it; the answer is the only time it is shown. */
  rotateIdentitySecret(projectId: string, options?: RequestOptions): Promise<Schemas["IdentitySecretResponse"]> {
    return this.api.json("POST", `/api/v1/projects/${segment(projectId)}/identity-secret`, undefined, undefined,
                         options);
  }
}

class Webhooks {
  constructor(private readonly api: BotPlot) {}

  private base(projectId: string, webhookId?: string): string {
    const root = `/api/v1/projects/${segment(projectId)}/webhooks`;
    return webhookId === undefined ? root : `${root}/${segment(webhookId)}`;
  }

  /** Every webhook (the reference's list), or with `limit` a page; `cursor`: the previous page's `nextCursor`. */
  list(projectId: string, query: QueryOf<"/api/v1/projects/{projectId}/webhooks"> = {}, options?: RequestOptions):
    Promise<Schemas["WebhookList"]> {
    return this.api.json("GET", this.base(projectId), undefined, query, options);
  }

  /** Every webhook (oldest first), page by page (with `cursor`). */
  all(projectId: string, pageSize = 100): AsyncGenerator<Schemas["WebhookView"]> {
    return walk(async (cursor) => {
      const result = await this.list(projectId, { limit: pageSize, cursor });
      return { items: result.webhooks, nextCursor: result.nextCursor };
    });
  }

  /** The answer carries the signing `secret`, shown only this once. */
  create(projectId: string, body: Schemas["CreateWebhook"], options?: RequestOptions):
    Promise<Schemas["WebhookResponse"]> {
    return this.api.json("POST", this.base(projectId), body, undefined, options);
  }

  update(projectId: string, webhookId: string, body: Schemas["UpdateWebhook"], options?: RequestOptions):
    Promise<Schemas["WebhookResponse"]> {
    return this.api.json("PATCH", this.base(projectId, webhookId), body, undefined, options);
  }

  delete(projectId: string, webhookId: string, options?: RequestOptions): Promise<Schemas["OkResponse"]> {
    return this.api.json("DELETE", this.base(projectId, webhookId), undefined, undefined, options);
  }

  /** Recent delivery attempts, newest first (`limit`; `cursor`: the previous page's `nextCursor`). */
  deliveries(projectId: string, webhookId: string,
             query: QueryOf<"/api/v1/projects/{projectId}/webhooks/{webhookId}/deliveries"> = {}, options?: RequestOptions):
    Promise<Schemas["DeliveryList"]> {
    return this.api.json("GET", `${this.base(projectId, webhookId)}/deliveries`, undefined, query, options);
  }

  /** Every delivery attempt of a webhook (newest first), page by page (with `cursor`). */
  allDeliveries(projectId: string, webhookId: string, pageSize = 100): AsyncGenerator<Schemas["DeliveryView"]> {
    return walk(async (cursor) => {
      const result = await this.deliveries(projectId, webhookId, { limit: pageSize, cursor });
      return { items: result.deliveries, nextCursor: result.nextCursor };
    });
  }

  redeliver(projectId: string, webhookId: string, deliveryId: string, options?: RequestOptions):
    Promise<Schemas["RedeliveryResponse"]> {
    return this.api.json("POST", `${this.base(projectId, webhookId)}/deliveries/${segment(deliveryId)}/redeliver`,
                         undefined, undefined, options);
  }

  /** Send a signed `ping` now and report how the endpoint answered. */
  test(projectId: string, webhookId: string, options?: RequestOptions): Promise<Schemas["TestDeliveryResponse"]> {
    return this.api.json("POST", `${this.base(projectId, webhookId)}/test`, undefined, undefined, options);
  }
}
