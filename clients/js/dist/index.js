import { readEvents } from "./sse.js";
/** An error answer of the API (`{"error", "code"}` with its HTTP status), or a failure to reach it. */
export class BotPlotError extends Error {
    constructor(message, status, code, retryAfter) {
        super(message);
        this.name = new.target.name;
        this.status = status;
        this.code = code;
        this.retryAfter = retryAfter;
    }
}
export class AuthenticationError extends BotPlotError {
}
export class PermissionDeniedError extends BotPlotError {
}
export class NotFoundError extends BotPlotError {
}
export class ValidationError extends BotPlotError {
}
export class RateLimitError extends BotPlotError {
}
export class ServerError extends BotPlotError {
}
export class ConnectionError extends BotPlotError {
}
const ERROR_CLASSES = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: ValidationError,
    429: RateLimitError,
};
/**
 * Which client method calls each operation. Typed as a Record over every operation of the
 * generated types, so the build fails when openapi.yaml gains a route this client lacks.
 */
export const OPERATIONS = {
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
function segment(value) {
    return encodeURIComponent(value);
}
export class BotPlot {
    constructor(options) {
        /** Whether the last answer was the stored answer of an earlier call with its `idempotencyKey`. */
        this.replayed = false;
        if (!options.apiKey)
            throw new TypeError("apiKey is required");
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
    async send(method, path, body, query, options) {
        const url = new URL(this.baseUrl + path);
        for (const [name, value] of Object.entries(query ?? {})) {
            if (value !== undefined && value !== null)
                url.searchParams.set(name, String(value));
        }
        const headers = { Authorization: `Bearer ${this.apiKey}` };
        if (body !== undefined)
            headers["Content-Type"] = "application/json";
        if (options?.idempotencyKey)
            headers["Idempotency-Key"] = options.idempotencyKey;
        let response;
        try {
            response = await this.fetchImpl(url, {
                method,
                headers,
                body: body === undefined ? undefined : JSON.stringify(body),
                signal: options?.signal,
            });
        }
        catch (error) {
            if (error?.name === "AbortError")
                throw error;
            throw new ConnectionError(`Could not reach the BotPlot API: ${error?.message ?? error}`, 0, "NETWORK_ERROR");
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
        if (!response.ok)
            throw await toError(response);
        return response;
    }
    async json(method, path, body, query, options) {
        const response = await this.send(method, path, body, query, options);
        return (await response.json());
    }
}
async function toError(response) {
    let error = `HTTP ${response.status}`;
    let code = response.status >= 500 ? "INTERNAL_ERROR" : "HTTP_ERROR";
    try {
        const body = (await response.json());
        if (typeof body.error === "string")
            error = body.error;
        if (typeof body.code === "string")
            code = body.code;
    }
    catch {
        // not JSON (a proxy's page): keep the status
    }
    const reset = Number(response.headers.get("X-RateLimit-Reset"));
    const retryAfter = response.status === 429 && reset ? Math.max(0, reset - Math.floor(Date.now() / 1000)) : undefined;
    const Kind = ERROR_CLASSES[response.status] ?? (response.status >= 500 ? ServerError : BotPlotError);
    return new Kind(error, response.status, code, retryAfter);
}
/** Every item of a cursor list: each page starts where the previous one's `nextCursor` points, so a
 * page costs the API the same at any depth. */
async function* walk(fetchPage) {
    let cursor;
    for (;;) {
        const { items, nextCursor } = await fetchPage(cursor);
        yield* items;
        if (!nextCursor)
            return;
        cursor = nextCursor;
    }
}
class Chat {
    constructor(api) {
        this.api = api;
    }
    /** `POST /chat`: the whole answer at once. */
    send(body, options) {
        return this.api.json("POST", "/api/v1/chat", body, undefined, options);
    }
    /**
     * `POST /chat/stream`: the answer's events as they arrive. An `error` event (the answer was
     * interrupted) is yielded like the others; a connection lost before `done` throws a
     * {@link ConnectionError} (`STREAM_INCOMPLETE` or `NETWORK_ERROR`).
     */
    async *stream(body, options) {
        const response = await this.api.send("POST", "/api/v1/chat/stream", body, undefined, options);
        if (!response.body)
            throw new ConnectionError("The answer has no body", 0, "STREAM_INCOMPLETE");
        let finished = false;
        try {
            for await (const data of readEvents(response.body)) {
                const event = JSON.parse(data);
                finished = event.type === "done" || event.type === "error";
                yield event;
            }
        }
        catch (error) {
            if (error?.name === "AbortError")
                throw error;
            throw new ConnectionError(`The connection was lost during the answer: ${error?.message ?? error}`, 0, "NETWORK_ERROR");
        }
        if (!finished)
            throw new ConnectionError("The answer ended before it was complete", 0, "STREAM_INCOMPLETE");
    }
    /** `GET /chat/config`: what the widget shows (name, branding, logo, greeting). */
    config(options) {
        return this.api.json("GET", "/api/v1/chat/config", undefined, undefined, options);
    }
    /** `POST /chat/rating`: rate an assistant message (or the whole conversation) 1 or -1. */
    rate(body, options) {
        return this.api.json("POST", "/api/v1/chat/rating", body, undefined, options);
    }
    /** `POST /chat/lead`: leave contact details (an email or a phone). */
    lead(body, options) {
        return this.api.json("POST", "/api/v1/chat/lead", body, undefined, options);
    }
    /** `POST /chat/handoff`: ask for a human. */
    handoff(body, options) {
        return this.api.json("POST", "/api/v1/chat/handoff", body, undefined, options);
    }
}
class Knowledge {
    constructor(api) {
        this.api = api;
    }
    /** Every source (the reference's list), or with `limit` a page; `cursor`: the previous page's `nextCursor`. */
    list(query = {}, options) {
        return this.api.json("GET", "/api/v1/knowledge", undefined, query, options);
    }
    /** Every source (newest first), page by page (with `cursor`). */
    all(pageSize = 100) {
        return walk(async (cursor) => {
            const result = await this.list({ limit: pageSize, cursor });
            return { items: result.sources, nextCursor: result.nextCursor };
        });
    }
    /** Crawl a website (queued: the source is `pending`, then `processing`, then `ready` or `failed`). */
    addUrl(body, options) {
        return this.api.json("POST", "/api/v1/knowledge/url", body, undefined, options);
    }
    addQa(body, options) {
        return this.api.json("POST", "/api/v1/knowledge/qa", body, undefined, options);
    }
    /** A source with a page of its chunks (`limit`, and `offset` or `cursor`: the previous page's `nextCursor`). */
    get(sourceId, page = {}, options) {
        return this.api.json("GET", `/api/v1/knowledge/${segment(sourceId)}`, undefined, page, options);
    }
    /** Every chunk of a source, page by page (with `cursor`). */
    chunks(sourceId, pageSize = 100) {
        return walk(async (cursor) => {
            const result = await this.get(sourceId, { limit: pageSize, cursor });
            return { items: result.chunks, nextCursor: result.nextCursor };
        });
    }
    delete(sourceId, options) {
        return this.api.json("DELETE", `/api/v1/knowledge/${segment(sourceId)}`, undefined, undefined, options);
    }
    recrawl(sourceId, options) {
        return this.api.json("POST", `/api/v1/knowledge/${segment(sourceId)}/recrawl`, undefined, undefined, options);
    }
}
class Conversations {
    constructor(api) {
        this.api = api;
    }
    list(query = {}, options) {
        return this.api.json("GET", "/api/v1/conversations", undefined, query, options);
    }
    /** Every conversation (newest first), page by page (with `cursor`). */
    all(query = {}, pageSize = 100) {
        return walk(async (cursor) => {
            const result = await this.list({ ...query, limit: pageSize, cursor });
            return { items: result.conversations, nextCursor: result.nextCursor };
        });
    }
    get(id, options) {
        return this.api.json("GET", `/api/v1/conversations/${segment(id)}`, undefined, undefined, options);
    }
    delete(id, options) {
        return this.api.json("DELETE", `/api/v1/conversations/${segment(id)}`, undefined, undefined, options);
    }
}
class Leads {
    constructor(api) {
        this.api = api;
    }
    list(query = {}, options) {
        return this.api.json("GET", "/api/v1/leads", undefined, query, options);
    }
    /** Every lead (newest first), page by page (with `cursor`). */
    all(query = {}, pageSize = 100) {
        return walk(async (cursor) => {
            const result = await this.list({ ...query, limit: pageSize, cursor });
            return { items: result.leads, nextCursor: result.nextCursor };
        });
    }
    delete(id, options) {
        return this.api.json("DELETE", `/api/v1/leads/${segment(id)}`, undefined, undefined, options);
    }
}
/** A visitor's data rights: everything stored about them, exported or erased. */
class Visitors {
    constructor(api) {
        this.api = api;
    }
    /** `GET /visitors/:visitorId/export`: their conversations (with messages), ratings and leads. */
    export(visitorId, options) {
        return this.api.json("GET", `/api/v1/visitors/${segment(visitorId)}/export`, undefined, undefined, options);
    }
    /** `DELETE /visitors/:visitorId`: erase all of it (and what it counted); answers with the counts. */
    erase(visitorId, options) {
        return this.api.json("DELETE", `/api/v1/visitors/${segment(visitorId)}`, undefined, undefined, options);
    }
}
class Analytics {
    constructor(api) {
        this.api = api;
    }
    get(query = {}, options) {
        return this.api.json("GET", "/api/v1/analytics", undefined, query, options);
    }
    ratings(query = {}, options) {
        return this.api.json("GET", "/api/v1/analytics/ratings", undefined, query, options);
    }
    /** `GET /analytics/gaps`: the questions the bot could not answer, grouped, with a suggested Q&A question. */
    gaps(query = {}, options) {
        return this.api.json("GET", "/api/v1/analytics/gaps", undefined, query, options);
    }
}
class Projects {
    constructor(api) {
        this.api = api;
    }
    updateBranding(projectId, body, options) {
        return this.api.json("PATCH", `/api/v1/projects/${segment(projectId)}/branding`, body, undefined, options);
    }
    setSubdomain(projectId, body, options) {
        return this.api.json("PATCH", `/api/v1/projects/${segment(projectId)}/subdomain`, body, undefined, options);
    }
    verifyDomain(projectId, options) {
        return this.api.json("POST", `/api/v1/projects/${segment(projectId)}/verify-domain`, undefined, undefined, options);
    }
    /** `GET /projects/:projectId/settings`: the origins allowed to use the public key, whether identity is required. */
    getSettings(projectId, options) {
        return this.api.json("GET", `/api/v1/projects/${segment(projectId)}/settings`, undefined, undefined, options);
    }
    /** `PATCH /projects/:projectId/settings`: change only the settings passed (`allowed_origins: []` allows any;
     * `require_identity` needs an identity secret first). */
    updateSettings(projectId, body, options) {
        return this.api.json("PATCH", `/api/v1/projects/${segment(projectId)}/settings`, body, undefined, options);
    }
    /** `POST /projects/:projectId/identity-secret`: create or rotate it; the answer is the only time it is shown. */
    rotateIdentitySecret(projectId, options) {
        return this.api.json("POST", `/api/v1/projects/${segment(projectId)}/identity-secret`, undefined, undefined, options);
    }
}
class Webhooks {
    constructor(api) {
        this.api = api;
    }
    base(projectId, webhookId) {
        const root = `/api/v1/projects/${segment(projectId)}/webhooks`;
        return webhookId === undefined ? root : `${root}/${segment(webhookId)}`;
    }
    /** Every webhook (the reference's list), or with `limit` a page; `cursor`: the previous page's `nextCursor`. */
    list(projectId, query = {}, options) {
        return this.api.json("GET", this.base(projectId), undefined, query, options);
    }
    /** Every webhook (oldest first), page by page (with `cursor`). */
    all(projectId, pageSize = 100) {
        return walk(async (cursor) => {
            const result = await this.list(projectId, { limit: pageSize, cursor });
            return { items: result.webhooks, nextCursor: result.nextCursor };
        });
    }
    /** The answer carries the signing `secret`, shown only this once. */
    create(projectId, body, options) {
        return this.api.json("POST", this.base(projectId), body, undefined, options);
    }
    update(projectId, webhookId, body, options) {
        return this.api.json("PATCH", this.base(projectId, webhookId), body, undefined, options);
    }
    delete(projectId, webhookId, options) {
        return this.api.json("DELETE", this.base(projectId, webhookId), undefined, undefined, options);
    }
    /** Recent delivery attempts, newest first (`limit`; `cursor`: the previous page's `nextCursor`). */
    deliveries(projectId, webhookId, query = {}, options) {
        return this.api.json("GET", `${this.base(projectId, webhookId)}/deliveries`, undefined, query, options);
    }
    /** Every delivery attempt of a webhook (newest first), page by page (with `cursor`). */
    allDeliveries(projectId, webhookId, pageSize = 100) {
        return walk(async (cursor) => {
            const result = await this.deliveries(projectId, webhookId, { limit: pageSize, cursor });
            return { items: result.deliveries, nextCursor: result.nextCursor };
        });
    }
    redeliver(projectId, webhookId, deliveryId, options) {
        return this.api.json("POST", `${this.base(projectId, webhookId)}/deliveries/${segment(deliveryId)}/redeliver`, undefined, undefined, options);
    }
    /** Send a signed `ping` now and report how the endpoint answered. */
    test(projectId, webhookId, options) {
        return this.api.json("POST", `${this.base(projectId, webhookId)}/test`, undefined, undefined, options);
    }
}
