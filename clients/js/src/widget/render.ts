/**
 * Answers into DOM nodes, from a small safe subset of Markdown: paragraphs, fenced code blocks,
 * bulleted and numbered lists, `inline code`, **bold**, and [links](https://...) to the pages the
 * answer cites. Answers quote pages anyone could write, so every piece of text becomes a Text node
 * (never HTML) and a link is made only for an http(s) URL.
 */

/** The URL if it is absolute http(s), else null (javascript:, data:, relative, garbage). */
export function safeUrl(raw: unknown): string | null {
  if (typeof raw !== "string") return null;
  try {
    const url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function withoutFragment(url: string): string {
  const hash = url.indexOf("#");
  return hash < 0 ? url : url.slice(0, hash);
}

export function link(doc: Document, href: string, text: string): HTMLAnchorElement {
  const a = doc.createElement("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  a.textContent = text;
  return a;
}

const INLINE = /`([^`\n]+)`|\*\*([^*\n]+)\*\*|\[([^\]\n]+)\]\(([^)\s]+)\)/g;

function inline(doc: Document, parent: Node, text: string, allowed: Set<string>): void {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    const at = match.index ?? 0;
    if (at > last) parent.appendChild(doc.createTextNode(text.slice(last, at)));
    last = at + match[0].length;
    if (match[1] !== undefined) {
      const code = doc.createElement("code");
      code.textContent = match[1];
      parent.appendChild(code);
    } else if (match[2] !== undefined) {
      const strong = doc.createElement("strong");
      strong.textContent = match[2];
      parent.appendChild(strong);
    } else {
      const href = safeUrl(match[4]);
      // only to a page the answer cites: an answer quoting a hostile page cannot plant a link elsewhere
      if (href && allowed.has(withoutFragment(href))) parent.appendChild(link(doc, href, match[3]));
      else parent.appendChild(doc.createTextNode(match[3]));
    }
  }
  if (last < text.length) parent.appendChild(doc.createTextNode(text.slice(last)));
}

const BULLET = /^\s*[-*•]\s+(.*)$/;
const NUMBERED = /^\s*\d{1,3}[.)]\s+(.*)$/;

/** Replace `target`'s children with the rendered `text`; links only to `citedUrls`. */
export function renderAnswer(doc: Document, target: Element, text: string, citedUrls: string[] = []): void {
  const allowed = new Set(citedUrls.map((u) => safeUrl(u)).filter((u): u is string => !!u).map(withoutFragment));
  const fragment = doc.createDocumentFragment();
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let paragraph: string[] = [];
  let list: HTMLElement | null = null;
  const flush = () => {
    if (paragraph.length) {
      const p = doc.createElement("p");
      paragraph.forEach((line, i) => {
        if (i) p.appendChild(doc.createElement("br"));
        inline(doc, p, line, allowed);
      });
      fragment.appendChild(p);
    }
    paragraph = [];
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*```/.test(line)) {
      flush();
      const code: string[] = [];
      while (++i < lines.length && !/^\s*```/.test(lines[i])) code.push(lines[i]);
      const pre = doc.createElement("pre");
      const element = doc.createElement("code");
      element.textContent = code.join("\n");
      pre.appendChild(element);
      fragment.appendChild(pre);
      continue;
    }
    const bullet = BULLET.exec(line);
    const numbered = bullet ? null : NUMBERED.exec(line);
    if (bullet || numbered) {
      const kind = bullet ? "UL" : "OL";
      if (!list || list.tagName !== kind) {
        flush();
        list = doc.createElement(kind.toLowerCase());
        fragment.appendChild(list);
      }
      const item = doc.createElement("li");
      inline(doc, item, (bullet ?? numbered)![1], allowed);
      list.appendChild(item);
      continue;
    }
    if (!line.trim()) {
      flush();
      continue;
    }
    list = null;
    paragraph.push(line);
  }
  flush();
  target.replaceChildren(fragment);
}
