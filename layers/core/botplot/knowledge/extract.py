"""From a fetched page to its title, headings and text blocks, without the page's chrome.

Links are collected from the whole page (navigation is how a crawler finds pages); content comes
from the main element (``<main>``, ``[role=main]``, the largest ``<article>``, else ``<body>``) after
navigation, headers and footers outside it, asides, scripts, forms and cookie or consent banners
are dropped. Blocks keep document order, so chunks can follow the headings.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urldefrag

from bs4 import BeautifulSoup, NavigableString, Tag

from botplot.knowledge.document import Block, Page

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
DROP_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "form", "button", "select", "input",
             "textarea", "canvas", "video", "audio", "object", "embed", "dialog", "nav", "aside",
             # images and what describes them: a caption read out mid-answer makes no sense without the picture
             "img", "picture", "figcaption", "map"}
CHROME_TAGS = {"header", "footer"}
LEAF_BLOCKS = {"p", "li", "dt", "dd", "blockquote", "caption", "summary", "address"}
#: what makes an element of LEAF_BLOCKS a container after all
NESTED_BLOCKS = set(HEADINGS) | {"pre", "table", "p", "li"}
CONTAINERS = {"div", "section", "article", "main", "ul", "ol", "dl", "details", "figure", "body", "center",
              "hgroup", "header", "footer", "fieldset"}
BOILERPLATE_WORDS = {"cookie", "cookies", "consent", "gdpr", "cookiebanner", "nav", "navbar", "navigation", "menu",
                     "footer", "sidebar", "breadcrumb", "breadcrumbs", "toc", "skip", "skiplink", "advert", "ads",
                     "advertisement", "social", "share", "sharing", "newsletter", "popup", "modal",
                     "masthead", "pagination", "edit", "feedback", "related"}
BOILERPLATE_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alert"}
_SPACE = re.compile(r"\s+")
_ROBOTS = re.compile("^robots$", re.I)
#: permalink anchors docs generators put in headings ("¶" in Sphinx, "#" in many others)
PERMALINK_TEXT = {"¶", "#", "§", "🔗", "link"}


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _is_boilerplate(tag: Tag) -> bool:
    if tag.get("role", "").lower() in BOILERPLATE_ROLES:
        return True
    if tag.get("aria-hidden") == "true" or tag.has_attr("hidden"):
        return True
    words: set[str] = set()
    for value in (tag.get("id") or "", tag.get("class") or ""):
        words.update(w for w in re.split(r"[\s_\-]+", value.lower()) if w)
    return bool(words & BOILERPLATE_WORDS)


def _drop_chrome(root: Tag) -> None:
    """Remove headers and footers outside an article or main element, and boilerplate, inside
    ``root``. What is inside a removed element is never looked at: asking bs4 whether an element
    was already removed (``.decomposed``) searches the element's whole subtree for a tag of that
    name, which made this step quadratic in the page's size."""
    pending = [child for child in root.children if isinstance(child, Tag)]
    while pending:
        tag = pending.pop()
        if (tag.name in CHROME_TAGS and tag.find_parent(["article", "main"]) is None) or _is_boilerplate(tag):
            tag.decompose()
        else:
            pending.extend(child for child in tag.children if isinstance(child, Tag))


def _has_nested_blocks(tag: Tag) -> bool:
    """Whether a leaf-looking block holds headings, code, tables, paragraphs or list items (a
    plain walk over its descendants: bs4's ``find`` builds a filter per call, a crawl's hot spot)."""
    return any(isinstance(d, Tag) and d.name in NESTED_BLOCKS for d in tag.descendants)


def _tags(node: Tag) -> list[Tag]:
    """Every element under ``node``, in document order. The extractor filters this list in Python:
    bs4's ``find_all`` runs a generic filter object over every element, per call."""
    return [t for t in node.descendants if isinstance(t, Tag)]


def _main_root(soup: BeautifulSoup, tags: list[Tag]) -> Tag:
    candidates = [t for t in tags if t.name == "main"] + [t for t in tags if t.get("role") == "main"]
    if not candidates:
        candidates = [t for t in tags if t.name == "article"]
    if candidates:
        return max(candidates, key=lambda t: len(t.get_text(" ", strip=True)))
    return soup.body or soup


class _Walker:
    def __init__(self):
        self.blocks: list[Block] = []
        self.inline: list[str] = []

    def flush(self) -> None:
        text = _clean(" ".join(self.inline))
        self.inline = []
        if text:
            self.blocks.append(Block("text", text))

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if type(child) is NavigableString:  # skip comments, CDATA, doctype
                    self.inline.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name in HEADINGS:
                self.flush()
                text = _clean(child.get_text(" "))
                if text:
                    self.blocks.append(Block("heading", text, HEADINGS[name]))
            elif name == "pre":
                self.flush()
                code = child.get_text().strip("\n")
                if code.strip():
                    self.blocks.append(Block("code", code))
            elif name == "table":
                self.flush()
                for row in child.find_all("tr"):
                    cells = [_clean(c.get_text(" ")) for c in row.find_all(["th", "td"])]
                    line = " | ".join(c for c in cells if c)
                    if line:
                        self.blocks.append(Block("text", line))
            elif name == "br":
                self.inline.append("\n")
            elif name in LEAF_BLOCKS and not _has_nested_blocks(child):
                self.flush()
                text = _clean(child.get_text(" "))
                if text:
                    self.blocks.append(Block("text", ("• " if name == "li" else "") + text))
            elif name in LEAF_BLOCKS or name in CONTAINERS:
                self.flush()
                self.walk(child)
                self.flush()
            else:  # inline element
                self.inline.append(child.get_text(" "))


def extract_html(html: str, base_url: str) -> Page:
    # the standard library's parser: no native code to ship; attributes kept as written (bs4 would
    # split every class and rel into a list as it builds each element: 8 % of the extraction's CPU)
    soup = BeautifulSoup(html, "html.parser", multi_valued_attributes=None)
    tags = _tags(soup)
    robots = " ".join(m.get("content", "") for m in tags
                      if m.name == "meta" and _ROBOTS.search(m.get("name") or ""))
    base = next((t for t in tags if t.name == "base" and t.get("href") is not None), None)
    base_url = urljoin(base_url, base["href"]) if base else base_url
    links = []
    for a in (t for t in tags if t.name == "a" and t.get("href") is not None):
        if "nofollow" in (a.get("rel") or "").split():
            continue
        href = urldefrag(urljoin(base_url, a["href"].strip()))[0]
        if href.startswith(("http://", "https://")):
            links.append(href)

    title_tag = next((t for t in tags if t.name == "title"), None)
    title = _clean(title_tag.get_text()) if title_tag else ""
    if not title:
        og = next((t for t in tags if t.name == "meta" and t.get("property") == "og:title"), None)
        title = _clean(og.get("content", "")) if og else ""

    root = _main_root(soup, tags)
    for tag in [t for t in _tags(root) if t.name in DROP_TAGS]:
        tag.decompose()
    for anchor in [t for t in _tags(root) if t.name == "a"]:
        if anchor.get_text(strip=True) in PERMALINK_TEXT or "headerlink" in (anchor.get("class") or "").split():
            anchor.decompose()
    _drop_chrome(root)
    walker = _Walker()
    walker.walk(root)
    walker.flush()
    blocks = walker.blocks
    if not title:
        first = next((b for b in blocks if b.kind == "heading"), None)
        title = first.text if first else ""
    return Page(title=title, blocks=blocks, links=list(dict.fromkeys(links)),
                noindex="noindex" in robots.lower(), nofollow="nofollow" in robots.lower())


def extract_text(text: str, title: str) -> Page:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return Page(title=title, blocks=[Block("text", _clean(p)) for p in paragraphs])


def extract_pdf(data: bytes, title: str) -> Page:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    meta_title = (reader.metadata.title if reader.metadata else None) or title
    blocks: list[Block] = []
    for number, pdf_page in enumerate(reader.pages, start=1):
        text = pdf_page.extract_text() or ""
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
        if paragraphs:
            blocks.append(Block("heading", f"Page {number}", 2))
            blocks.extend(Block("text", _clean(p)) for p in paragraphs)
    return Page(title=_clean(meta_title), blocks=blocks)
