/**
 * What survives a reload, in localStorage under one key per public key: the visitor id, the
 * conversation id, the transcript the visitor saw (the API keeps it too, but reading it back needs
 * the secret key) and whether the panel was open. Storage can be missing or full (private modes,
 * quotas): the widget then simply forgets on reload.
 */
import type { Citation } from "../index.js";

export interface StoredMessage {
  role: "user" | "bot" | "note";
  text: string;
  messageId?: string;
  citations?: Citation[];
  rating?: 1 | -1;
  interrupted?: boolean;
}

export interface State {
  visitorId: string;
  conversationId?: string;
  messages: StoredMessage[];
  open: boolean;
}

const KEEP_MESSAGES = 60;

function uuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class Store {
  readonly state: State;
  private readonly key: string;

  /** `visitorId`: the page's verified visitor (data-visitor-id); a conversation kept for another
   * visitor in this browser (someone else signed in) is not shown to this one. */
  constructor(publicKey: string, visitorId?: string) {
    this.key = `botplot:${publicKey.slice(0, 20)}`;
    let saved: Partial<State> = {};
    try {
      saved = JSON.parse(localStorage.getItem(this.key) ?? "{}") ?? {};
    } catch {
      saved = {};
    }
    if (visitorId !== undefined && saved.visitorId !== visitorId) saved = { visitorId };
    this.state = {
      visitorId: typeof saved.visitorId === "string" ? saved.visitorId : uuid(),
      conversationId: typeof saved.conversationId === "string" ? saved.conversationId : undefined,
      messages: Array.isArray(saved.messages) ? saved.messages.filter((m) => m && typeof m.text === "string") : [],
      open: saved.open === true,
    };
  }

  save(): void {
    this.state.messages = this.state.messages.slice(-KEEP_MESSAGES);
    try {
      localStorage.setItem(this.key, JSON.stringify(this.state));
    } catch {
      // storage unavailable: the conversation lasts as long as the page
    }
  }

  /** Start over: a new conversation (the visitor stays the same visitor). */
  reset(): void {
    this.state.conversationId = undefined;
    this.state.messages = [];
    this.save();
  }
}
