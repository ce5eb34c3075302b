/**
 * The BotPlot chat widget: `<script src=".../widget.js" data-public-key="pk_..." async></script>`.
 *
 * Adds a launcher button and a chat panel inside a shadow root (the page's styles cannot reach
 * them, theirs cannot reach the page). Answers stream from `/chat/stream` through the typed client;
 * nothing the API returns is ever parsed as HTML (see render.ts). Optional attributes:
 * `data-api-url` (default: the origin the script is served from), `data-theme` (`light`, `dark`,
 * default `auto`), `data-open` (`true` opens the panel on load), and for projects that require
 * verified visitors `data-visitor-id` with `data-visitor-hash` (hex HMAC-SHA256 of the id with the
 * project's identity secret, computed by the page's server), sent with every call.
 */
import { BotPlot, BotPlotError, type Citation, type WidgetConfig } from "../index.js";
import { link, renderAnswer, safeUrl } from "./render.js";
import { Store, type StoredMessage } from "./store.js";
import { CSS } from "./styles.js";

type Attrs = Record<string, string | boolean | undefined>;
/** A visitor the customer's server vouched for (projects that require identity). */
type Identity = { visitorId: string; visitorHash: string };

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]):
  HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === true) element.setAttribute(name, "");
    else if (typeof value === "string") element.setAttribute(name, value);
  }
  element.append(...children); // strings become Text nodes
  return element;
}

const CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
const THUMB_ICON = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 " +
  "7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";
const CONFIG_TTL_MS = 5 * 60 * 1000;

/** What a visitor should read for each failure; the API's own words only for bad input. */
export function humanError(error: unknown): { text: string; retry: boolean; contact?: boolean } {
  if (error instanceof BotPlotError) {
    switch (error.code) {
      case "RATE_LIMIT_EXCEEDED":
        return { text: "This assistant has answered all the questions it can for now. Please try again later, or " +
                        "leave your contact details and we will get back to you.", retry: false, contact: true };
      case "LLM_UNAVAILABLE":
        return { text: "The answer was interrupted by a temporary problem on our side. Please try again.", retry: true };
      case "NETWORK_ERROR":
      case "STREAM_INCOMPLETE":
        return { text: "The connection was lost. Check your internet connection and try again.", retry: true };
      case "INVALID_VISITOR_HASH":  // the page vouched for this visitor with a hash the project does not accept
        return { text: "We could not confirm who you are, so this chat cannot start. Please sign in again or " +
                        "reload the page.", retry: false };
    }
    if (error.status === 401 || error.status === 403) {
      return { text: "This chat is not available right now.", retry: false };
    }
    if (error.status === 400) return { text: error.message, retry: false };
    if (error.status === 404) return { text: "This conversation has ended. Start a new one to keep chatting.", retry: false };
  }
  return { text: "Something went wrong on our side. Please try again in a moment.", retry: true };
}

class Widget {
  private readonly api: BotPlot;
  private readonly store: Store;
  private readonly root: HTMLDivElement;
  private readonly launcher: HTMLButtonElement;
  private readonly panel: HTMLElement;
  private readonly title: HTMLHeadingElement;
  private readonly logo: HTMLImageElement;
  private readonly log: HTMLDivElement;
  private readonly alert: HTMLDivElement;
  private readonly input: HTMLTextAreaElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly leadForm: HTMLFormElement;
  private readonly footer: HTMLElement;
  private readonly brand: HTMLAnchorElement;
  private readonly handoffButton: HTMLButtonElement;
  private config?: WidgetConfig;
  private busy = false;
  private lastQuestion?: string;
  private readonly visitorHash?: string;

  constructor(host: HTMLElement, private readonly publicKey: string, apiUrl: string, theme: string,
              identity?: Identity) {
    this.api = new BotPlot({ apiKey: publicKey, baseUrl: apiUrl });
    this.store = new Store(publicKey, identity?.visitorId);
    this.visitorHash = identity?.visitorHash;
    const shadow = host.attachShadow({ mode: "open" });
    adoptStyles(shadow);

    this.title = h("h2", { id: "bp-title" }, "Chat");
    this.logo = h("img", { alt: "", hidden: true });
    this.handoffButton = h("button", { type: "button", class: "link" }, "Talk to a person");
    const close = h("button", { type: "button", class: "icon", "aria-label": "Close chat" }, "\u00d7");
    this.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
    this.alert = h("div", { class: "alert", role: "alert", hidden: true });
    this.input = h("textarea", { id: "bp-input", rows: "1", maxlength: "4000", placeholder: "Ask a question…",
                                 autocomplete: "off" });
    this.sendButton = h("button", { type: "submit", class: "primary" }, "Send");
    const composer = h("form", { class: "composer" },
                       h("label", { class: "sr", for: "bp-input" }, "Your message"), this.input, this.sendButton);
    this.leadForm = this.buildLeadForm();
    const contact = h("button", { type: "button", class: "link" }, "Leave your contact details");
    this.brand = h("a", { href: "https://botplot.app", target: "_blank", rel: "noopener noreferrer" },
                   "Powered by BotPlot");
    this.footer = h("footer", {}, contact, this.brand);
    this.panel = h("section", { class: "panel", id: "bp-panel", role: "dialog", "aria-labelledby": "bp-title",
                                hidden: true },
                   h("header", {}, this.logo, this.title, this.handoffButton, close),
                   this.log, this.alert, this.leadForm, composer, this.footer);
    this.launcher = h("button", { type: "button", class: "launcher", "aria-label": "Open chat",
                                  "aria-expanded": "false", "aria-controls": "bp-panel" });
    this.launcher.appendChild(icon(CHAT_ICON));
    this.root = h("div", { class: `root ${theme}` }, this.panel, this.launcher);
    shadow.appendChild(this.root);

    this.launcher.addEventListener("click", () => (this.panel.hidden ? this.open() : this.close()));
    close.addEventListener("click", () => this.close());
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        if (!this.leadForm.hidden) this.leadForm.hidden = true;
        else this.close();
      }
    });
    composer.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.ask(this.input.value);
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.ask(this.input.value);
      }
    });
    contact.addEventListener("click", () => this.showLeadForm());
    this.handoffButton.addEventListener("click", () => void this.handoff());

    for (const message of this.store.state.messages) this.log.appendChild(this.messageNode(message));
    if (this.store.state.open) this.open(false);
  }

  private buildLeadForm(): HTMLFormElement {
    const field = (label: string, name: string, type: string, autocomplete: string) =>
      h("label", {}, label, h("input", { name, type, autocomplete, maxlength: "254" }));
    const cancel = h("button", { type: "button", class: "link" }, "Cancel");
    const form = h("form", { class: "lead", hidden: true, "aria-label": "Your contact details" },
                   field("Name", "name", "text", "name"), field("Email", "email", "email", "email"),
                   field("Phone", "phone", "tel", "tel"),
                   h("div", { class: "row" }, cancel, h("button", { type: "submit", class: "primary" }, "Send details")));
    cancel.addEventListener("click", () => {
      form.hidden = true;
      this.input.focus();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.sendLead(form);
    });
    return form;
  }

  open(focus = true): void {
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.launcher.setAttribute("aria-label", "Close chat");
    this.store.state.open = true;
    this.store.save();
    void this.loadConfig();
    this.log.scrollTop = this.log.scrollHeight;
    if (focus) this.input.focus();
  }

  close(): void {
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.setAttribute("aria-label", "Open chat");
    this.store.state.open = false;
    this.store.save();
    this.launcher.focus();
  }

  /** Branding, fetched when the panel first opens (a page view alone costs the project no API call). */
  private async loadConfig(): Promise<void> {
    if (this.config) return;
    const cacheKey = `botplot-config:${this.publicKey.slice(0, 20)}`;
    try {
      const cached = JSON.parse(sessionStorage.getItem(cacheKey) ?? "null");
      if (cached && Date.now() - cached.at < CONFIG_TTL_MS) this.applyConfig(cached.config);
    } catch {
      // no session storage: fetch it
    }
    if (this.config) return;
    try {
      const config = await this.api.chat.config();
      this.applyConfig(config);
      try {
        sessionStorage.setItem(cacheKey, JSON.stringify({ at: Date.now(), config }));
      } catch {
        // not cached: fetched again on the next page
      }
    } catch (error) {
      if (error instanceof BotPlotError && (error.status === 401 || error.status === 403)) {
        console.warn("BotPlot widget: the public key was refused:", error.code);
        this.showAlert(humanError(error));
      }
    }
  }

  private applyConfig(config: WidgetConfig): void {
    this.config = config;
    this.title.textContent = config.name;
    this.launcher.setAttribute("aria-label", this.panel.hidden ? `Open chat with ${config.name}` : "Close chat");
    const logo = safeUrl(config.logoUrl);
    if (logo) {
      this.logo.src = logo;
      this.logo.hidden = false;
    }
    this.brand.hidden = !config.showBranding;
    if (!this.store.state.messages.length && !this.log.querySelector(".greeting")) {
      const greeting = this.messageNode({ role: "bot", text: config.greeting });
      greeting.classList.add("greeting");
      this.log.prepend(greeting);
    }
  }

  private messageNode(message: StoredMessage): HTMLElement {
    const node = h("div", { class: `msg ${message.role}` });
    if (message.role === "user") {
      node.appendChild(h("span", { class: "sr" }, "You: "));
      node.append(message.text);
      return node;
    }
    if (message.role === "note") {
      node.textContent = message.text;
      return node;
    }
    node.appendChild(h("span", { class: "sr" }, "Assistant: "));
    const body = h("div", { class: "body" });
    node.appendChild(body);
    this.fillAnswer(node, body, message);
    return node;
  }

  private fillAnswer(node: HTMLElement, body: HTMLElement, message: StoredMessage): void {
    const citations = message.citations ?? [];
    renderAnswer(document, body, message.text, citations.map((c) => c.url ?? ""));
    node.querySelector(".sources")?.remove();
    node.querySelector(".actions")?.remove();
    if (citations.length) node.appendChild(sourcesNode(citations));
    if (message.messageId) node.appendChild(this.ratingNode(message));
  }

  private ratingNode(message: StoredMessage): HTMLElement {
    const up = h("button", { type: "button", "aria-label": "Helpful", "aria-pressed": String(message.rating === 1) },
                 icon(THUMB_ICON));
    const down = h("button", { type: "button", class: "down", "aria-label": "Not helpful",
                               "aria-pressed": String(message.rating === -1) }, icon(THUMB_ICON));
    const status = h("span", { role: "status" });
    const rate = async (rating: 1 | -1) => {
      try {
        await this.api.chat.rate({ conversationId: this.store.state.conversationId!, messageId: message.messageId!,
                                   rating, ...this.visitor() });
        message.rating = rating;
        this.store.save();
        up.setAttribute("aria-pressed", String(rating === 1));
        down.setAttribute("aria-pressed", String(rating === -1));
        status.textContent = "Thanks for your feedback";
      } catch (error) {
        status.textContent = humanError(error).text;
      }
    };
    up.addEventListener("click", () => void rate(1));
    down.addEventListener("click", () => void rate(-1));
    return h("div", { class: "actions" }, h("span", {}, "Was this helpful?"), up, down, status);
  }

  private showAlert(problem: { text: string; retry: boolean; contact?: boolean }): void {
    this.alert.replaceChildren(problem.text);
    if (problem.retry && this.lastQuestion) {
      const retry = h("button", { type: "button" }, "Try again");
      retry.addEventListener("click", () => void this.ask(this.lastQuestion!, true));
      this.alert.appendChild(retry);
    }
    if (problem.contact) {
      const contact = h("button", { type: "button" }, "Leave details");
      contact.addEventListener("click", () => this.showLeadForm());
      this.alert.appendChild(contact);
    }
    this.alert.hidden = false;
  }

  /** Who is asking: the visitor id, and its hash when the page's server vouched for it. */
  private visitor(): { visitorId: string; visitorHash?: string } {
    return this.visitorHash ? { visitorId: this.store.state.visitorId, visitorHash: this.visitorHash }
      : { visitorId: this.store.state.visitorId };
  }

  private add(message: StoredMessage): HTMLElement {
    if (message.role !== "note" || message.text) this.store.state.messages.push(message);
    this.store.save();
    const node = this.messageNode(message);
    this.log.appendChild(node);
    this.log.scrollTop = this.log.scrollHeight;
    return node;
  }

  async ask(raw: string, retrying = false): Promise<void> {
    const question = raw.trim();
    if (!question || this.busy) return;
    this.busy = true;
    this.sendButton.disabled = true;
    this.alert.hidden = true;
    this.lastQuestion = question;
    if (!retrying) {
      this.input.value = "";
      this.add({ role: "user", text: question });
    }
    const answer: StoredMessage = { role: "bot", text: "" };
    const node = this.messageNode(answer);
    node.setAttribute("aria-busy", "true");
    const body = node.querySelector(".body") as HTMLElement;
    this.log.appendChild(node);
    let frame = 0;
    const paint = () => {
      frame = 0;
      renderAnswer(document, body, answer.text);
      this.log.scrollTop = this.log.scrollHeight;
    };
    try {
      const request = { message: question, conversationId: this.store.state.conversationId,
                        ...this.visitor() };
      for await (const event of this.api.chat.stream(request)) {
        if (event.type === "token") {
          answer.text += event.content;
          frame ||= requestAnimationFrame(paint);
        } else if (event.type === "done") {
          this.store.state.conversationId = event.conversationId;
          answer.messageId = event.messageId;
          answer.citations = event.citations ?? [];
        } else {
          if (event.conversationId) this.store.state.conversationId = event.conversationId;
          answer.interrupted = true;
          this.showAlert(humanError(new BotPlotError(event.error, 200, event.code)));
        }
      }
    } catch (error) {
      answer.interrupted = true;
      if (error instanceof BotPlotError && error.status === 404 && this.store.state.conversationId) {
        this.store.state.conversationId = undefined; // deleted by the site: the next question starts anew
      }
      this.showAlert(humanError(error));
    } finally {
      if (frame) cancelAnimationFrame(frame);
      node.removeAttribute("aria-busy");
      if (answer.text) {
        this.store.state.messages.push(answer);
        this.store.save();
        this.fillAnswer(node, body, answer);
      } else {
        node.remove();
      }
      this.log.scrollTop = this.log.scrollHeight;
      this.busy = false;
      this.sendButton.disabled = false;
    }
  }

  private showLeadForm(): void {
    this.leadForm.hidden = false;
    (this.leadForm.querySelector("input") as HTMLInputElement).focus();
  }

  private async sendLead(form: HTMLFormElement): Promise<void> {
    const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim() || undefined;
    const email = value("email");
    const phone = value("phone");
    if (!email && !phone) {
      this.showAlert({ text: "Please give an email address or a phone number so we can reach you.", retry: false });
      return;
    }
    try {
      await this.api.chat.lead({ conversationId: this.store.state.conversationId,
                                 ...this.visitor(), name: value("name"), email, phone });
      form.reset();
      form.hidden = true;
      this.alert.hidden = true;
      this.add({ role: "note", text: "Thanks! We have your details and will get back to you." });
      this.input.focus();
    } catch (error) {
      this.showAlert(humanError(error));
    }
  }

  private async handoff(): Promise<void> {
    const conversationId = this.store.state.conversationId;
    if (!conversationId) {
      this.showAlert({ text: "Ask your question first, then a person can take over the conversation.", retry: false });
      this.input.focus();
      return;
    }
    try {
      await this.api.chat.handoff({ conversationId, ...this.visitor() });
      this.alert.hidden = true;
      this.add({ role: "note", text: "A person will take over this conversation. Leave your contact details so " +
                                     "they can reach you." });
      this.showLeadForm();
    } catch (error) {
      this.showAlert(humanError(error));
    }
  }
}

function sourcesNode(citations: Citation[]): HTMLElement {
  const list = h("ol");
  for (const citation of citations) {
    const href = safeUrl(citation.url);
    const title = citation.title || (href ? new URL(href).hostname : "Source");
    const item = h("li", {}, href ? link(document, href, title) : title);
    if (citation.snippet) item.appendChild(h("span", {}, citation.snippet));
    list.appendChild(item);
  }
  return h("div", { class: "sources" }, h("strong", {}, "Sources"), list);
}

function icon(shape: string): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", shape);
  svg.appendChild(path);
  return svg;
}

function adoptStyles(shadow: ShadowRoot): void {
  if ("adoptedStyleSheets" in shadow && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    shadow.appendChild(h("style", {}, CSS)); // older browsers (needs style-src to allow it under a CSP)
  }
}

function start(): void {
  const script = (document.currentScript as HTMLScriptElement | null) ??
    document.querySelector<HTMLScriptElement>("script[data-public-key]");
  const publicKey = script?.dataset.publicKey;
  if (!script || !publicKey) {
    console.warn("BotPlot widget: add data-public-key=\"pk_...\" to its <script> tag");
    return;
  }
  const apiUrl = script.dataset.apiUrl || new URL(script.src, location.href).origin;
  const theme = ["light", "dark"].includes(script.dataset.theme ?? "") ? script.dataset.theme! : "auto";
  const { visitorId, visitorHash } = script.dataset;
  if (Boolean(visitorId) !== Boolean(visitorHash)) {
    console.warn("BotPlot widget: data-visitor-id and data-visitor-hash go together; both are ignored");
  }
  const identity = visitorId && visitorHash ? { visitorId, visitorHash } : undefined;
  const mount = () => {
    if (document.getElementById("botplot-widget")) return; // the snippet pasted twice
    const host = document.createElement("div");
    host.id = "botplot-widget";
    document.body.appendChild(host);
    const widget = new Widget(host, publicKey, apiUrl, theme, identity);
    if (script.dataset.open === "true") widget.open(false);
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
}

start();
