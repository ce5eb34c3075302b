// The client against a running local stack (tests/clients/test_js_client.py starts one and passes
// its URL and keys). Run by hand: BOTPLOT_API_URL=... BOTPLOT_PUBLIC_KEY=... node --test test/
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AuthenticationError, BotPlot, BotPlotError, ConnectionError, NotFoundError, PermissionDeniedError,
  RateLimitError, ValidationError,
} from "../dist/index.js";

const env = process.env;
const baseUrl = env.BOTPLOT_API_URL;
const projectId = env.BOTPLOT_PROJECT_ID;
const skip = !baseUrl && "BOTPLOT_API_URL is not set (tests/clients/test_js_client.py sets it)";
const visitor = new BotPlot({ apiKey: env.BOTPLOT_PUBLIC_KEY ?? "pk_", baseUrl: baseUrl ?? "http://127.0.0.1:9" });
const owner = new BotPlot({ apiKey: env.BOTPLOT_SECRET_KEY ?? "sk_", baseUrl: baseUrl ?? "http://127.0.0.1:9" });

async function until(check, what, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

test("chat.send answers and chat.stream yields tokens then done", { skip }, async () => {
  const { sourceId } = await owner.knowledge.addQa({ question: "What are your opening hours?",
                                                     answer: "We are open Monday to Friday, 9am to 5pm." });
  const answer = await visitor.chat.send({ message: "What are your opening hours?", visitorId: "js-visitor" });
  assert.match(answer.response, /Monday to Friday/);
  assert.equal(answer.sources, 1);
  assert.equal(answer.citations[0].sourceId, sourceId);
  assert.ok(visitor.rateLimit.limit > 0 && visitor.rateLimit.remaining >= 0);

  const events = [];
  for await (const event of visitor.chat.stream({ message: "When are you open?", conversationId: answer.conversationId })) {
    events.push(event);
  }
  const done = events.at(-1);
  assert.equal(done.type, "done");
  assert.equal(done.conversationId, answer.conversationId);
  assert.ok(events.slice(0, -1).length > 0 && events.slice(0, -1).every((e) => e.type === "token"));
  assert.match(events.slice(0, -1).map((e) => e.content).join(""), /9am to 5pm/);

  const rated = await visitor.chat.rate({ conversationId: done.conversationId, messageId: done.messageId, rating: 1 });
  assert.deepEqual(rated, { success: true, conversationId: done.conversationId, rating: 1, messageId: done.messageId });
  const lead = await visitor.chat.lead({ conversationId: done.conversationId, name: "Ada", email: "ada@example.com" });
  assert.equal(lead.success, true);
  const handoff = await visitor.chat.handoff({ conversationId: done.conversationId, reason: "wants a person" });
  assert.equal(handoff.status, "handed_off");

  const { conversation } = await owner.conversations.get(done.conversationId);
  assert.deepEqual(conversation.messages.map((m) => m.role), ["user", "assistant", "user", "assistant"]);
  const found = [];
  for await (const item of owner.leads.all({ search: "ada@example.com" }, 1)) found.push(item.id);
  assert.deepEqual(found, [lead.leadId]);
  await owner.leads.delete(lead.leadId);
  await owner.conversations.delete(done.conversationId);
  await assert.rejects(owner.conversations.get(done.conversationId), NotFoundError);
  await owner.knowledge.delete(sourceId);
});

test("errors are typed and carry status and code", { skip }, async () => {
  const stranger = new BotPlot({ apiKey: "pk_" + "x".repeat(40), baseUrl });
  await assert.rejects(stranger.chat.send({ message: "hi" }),
                       (e) => e instanceof AuthenticationError && e.status === 401 && e.code === "INVALID_API_KEY");
  await assert.rejects(visitor.leads.list(),
                       (e) => e instanceof PermissionDeniedError && e.status === 403 && e.code === "SECRET_KEY_REQUIRED");
  await assert.rejects(visitor.chat.send({ message: "" }),
                       (e) => e instanceof ValidationError && e.status === 400 && e.code === "VALIDATION_ERROR");
  await assert.rejects(visitor.chat.rate({ conversationId: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", rating: 1 }),
                       (e) => e instanceof NotFoundError && e.code === "CONVERSATION_NOT_FOUND");
  const small = new BotPlot({ apiKey: env.BOTPLOT_SMALL_PUBLIC_KEY, baseUrl });
  const error = await until(async () => {
    try {
      await small.chat.send({ message: "hi" });
      return null;
    } catch (e) {
      return e;
    }
  }, "a 429");
  assert.ok(error instanceof RateLimitError && error.status === 429 && error.code === "RATE_LIMIT_EXCEEDED");
  assert.ok(error.retryAfter > 0);
  await assert.rejects(small.chat.stream({ message: "hi" }).next(), RateLimitError);
  const nowhere = new BotPlot({ apiKey: "pk_x", baseUrl: "http://127.0.0.1:9" });
  await assert.rejects(nowhere.chat.send({ message: "hi" }),
                       (e) => e instanceof ConnectionError && e instanceof BotPlotError && e.status === 0 &&
                              e.code === "NETWORK_ERROR");
});

test("knowledge: a site is crawled and its chunks page through", { skip }, async () => {
  const created = await owner.knowledge.addUrl({ url: `${env.BOTPLOT_SITE_URL}/`, syncFrequency: "manual" });
  const ready = await until(async () => {
    const { source } = await owner.knowledge.get(created.sourceId);
    assert.notEqual(source.status, "failed");
    return source.status === "ready" && source;
  }, "the crawl");
  assert.ok(ready.chunkCount >= 3);
  const chunks = [];
  for await (const chunk of owner.knowledge.chunks(created.sourceId, 2)) chunks.push(chunk.id);
  assert.equal(chunks.length, ready.chunkCount);
  assert.equal(new Set(chunks).size, chunks.length);
  assert.deepEqual(chunks, (await owner.knowledge.get(created.sourceId)).chunks.map((c) => c.id));  // in order
  const first = await owner.knowledge.get(created.sourceId, { limit: 2 });
  const after = await owner.knowledge.get(created.sourceId, { limit: 2, cursor: first.nextCursor });
  assert.deepEqual(after.chunks.map((c) => c.id), chunks.slice(2, 4));
  const qa = await owner.knowledge.addQa({ question: "Do you gift wrap?", answer: "Yes, for $2." });
  const sources = (await owner.knowledge.list()).sources.map((s) => s.id);
  assert.ok(sources.includes(created.sourceId) && sources.includes(qa.sourceId));
  assert.ok((await owner.knowledge.list({ limit: 1 })).nextCursor);
  const walked = [];
  for await (const source of owner.knowledge.all(1)) walked.push(source.id);
  assert.deepEqual(walked, sources);
  assert.equal((await owner.knowledge.recrawl(created.sourceId)).success, true);
});

test("conversations page through, analytics and branding answer", { skip }, async () => {
  for (const message of ["one", "two", "three"]) await visitor.chat.send({ message, visitorId: `js-${message}` });
  const { total } = await owner.conversations.list({ limit: 1 });
  const ids = [];
  for await (const conversation of owner.conversations.all({}, 2)) ids.push(conversation.id);
  assert.equal(ids.length, total);
  assert.equal(new Set(ids).size, total);
  const analytics = await owner.analytics.get({ period: "7d" });
  assert.ok(analytics.overview.totalConversations >= 3);
  assert.ok(Array.isArray((await owner.analytics.ratings({ period: "30d" })).ratingsTrend));
  assert.equal((await visitor.chat.config()).showBranding, true);
  assert.equal((await owner.projects.updateBranding(projectId, { white_label: true })).white_label, true);
  assert.equal((await visitor.chat.config()).showBranding, false);
  await owner.projects.updateBranding(projectId, { white_label: false });
});

test("webhooks: create, test, list deliveries, update, delete", { skip }, async () => {
  const { webhook } = await owner.webhooks.create(projectId, { url: `${env.BOTPLOT_SITE_URL}/hook`,
                                                               events: ["lead.captured"] });
  assert.match(webhook.secret, /^whsec_/);
  const tested = await owner.webhooks.test(projectId, webhook.id);
  assert.equal(tested.delivery.statusCode, 501);  // the test site answers no POST: its answer is reported
  assert.equal(tested.delivery.success, false);
  const { deliveries } = await owner.webhooks.deliveries(projectId, webhook.id, { limit: 5 });
  assert.ok(deliveries.length >= 1);
  const listed = await owner.webhooks.list(projectId);
  assert.ok(listed.webhooks.some((w) => w.id === webhook.id && !("secret" in w)));
  // a second webhook and two more attempts: every list walks a page of one at a time by cursor
  const other = (await owner.webhooks.create(projectId, { url: `${env.BOTPLOT_SITE_URL}/other`,
                                                          events: ["lead.captured"] })).webhook;
  await owner.webhooks.test(projectId, webhook.id);
  await owner.webhooks.test(projectId, webhook.id);
  const hooks = (await owner.webhooks.list(projectId)).webhooks.map((w) => w.id);
  assert.ok(hooks.includes(other.id) && (await owner.webhooks.list(projectId, { limit: 1 })).nextCursor);
  const walkedHooks = [];
  for await (const w of owner.webhooks.all(projectId, 1)) walkedHooks.push(w.id);
  assert.deepEqual(walkedHooks, hooks);
  const attempts = (await owner.webhooks.deliveries(projectId, webhook.id, { limit: 100 })).deliveries;
  assert.ok(attempts.length >= 3);
  const walkedAttempts = [];
  for await (const d of owner.webhooks.allDeliveries(projectId, webhook.id, 1)) walkedAttempts.push(d.deliveryId);
  assert.deepEqual(walkedAttempts, attempts.map((d) => d.deliveryId));
  await owner.webhooks.delete(projectId, other.id);
  const updated = await owner.webhooks.update(projectId, webhook.id, { description: "CRM" });
  assert.equal(updated.webhook.description, "CRM");
  await owner.webhooks.delete(projectId, webhook.id);
  await assert.rejects(owner.webhooks.update(projectId, webhook.id, { description: "x" }), NotFoundError);
});

test("idempotencyKey: a retry is answered with the first answer and creates nothing", { skip }, async () => {
  const idempotencyKey = `js-${Date.now()}-${Math.random()}`;
  const first = await visitor.chat.lead({ email: "js-idem@example.com" }, { idempotencyKey });
  assert.equal(visitor.replayed, false);
  const again = await visitor.chat.lead({ email: "js-idem@example.com" }, { idempotencyKey });
  assert.equal(visitor.replayed, true);
  assert.deepEqual(again, first);
  await assert.rejects(visitor.chat.lead({ email: "other@example.com" }, { idempotencyKey }),
                       (error) => error.status === 409 && error.code === "IDEMPOTENCY_KEY_REUSED");
});
