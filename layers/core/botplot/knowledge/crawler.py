"""Crawl one site: the start URL, same-site pages reachable from it, and its sitemap.

Polite by construction: robots.txt is honoured (including ``Crawl-delay``, which also makes the
crawl sequential), at most ``concurrency`` requests are in flight, every request carries the
``BotPlot-Crawler/1.0`` user agent, and the crawl stops at the plan's page limit or time budget.
Every fetch goes through the SSRF-guarded fetcher with its timeout, 5 MB cap and redirect checks.
Pages that cannot be used are reported with the reason, so customers can see why one is missing.
"""

from __future__ import annotations

import hashlib
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urldefrag, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from botplot.knowledge.document import Page
from botplot.knowledge.extract import extract_html, extract_pdf, extract_text
from botplot.net.fetch import Fetcher, FetchError

USER_AGENT = "BotPlot-Crawler/1.0"
HTML_TYPES = {"text/html", "application/xhtml+xml"}
SKIP_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico", ".css", ".js", ".mjs", ".json",
                   ".xml", ".zip", ".gz", ".tar", ".tgz", ".mp3", ".mp4", ".mov", ".avi", ".woff", ".woff2", ".ttf",
                   ".eot", ".exe", ".dmg", ".iso", ".apk", ".rss", ".atom", ".csv", ".xls", ".xlsx", ".doc", ".docx"}
MAX_SITEMAPS = 10


def normalize_url(url: str) -> str:
    """One spelling per page: no fragment, lower-case scheme and host, no default port.

    Raises ``ValueError`` for a URL that cannot be read (an invalid port or IPv6 address)."""
    url = urldefrag(url)[0]
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets, or the port would be read from the address
        host = f"[{host}]"
    default = (parts.scheme == "http" and parts.port in (None, 80)) or (parts.scheme == "https" and parts.port in (None, 443))
    netloc = host if default else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def readable(urls) -> list[str]:
    """The normalized spellings of the URLs that can be read; a malformed link is skipped, not fatal."""
    found = []
    for url in urls:
        try:
            found.append(normalize_url(url))
        except ValueError:
            continue
    return found


def same_site(url: str, root: str) -> bool:
    try:
        a, b = urlsplit(url), urlsplit(root)
        return a.scheme in ("http", "https") and (a.hostname or "").lower() == (b.hostname or "").lower() \
            and (a.port or {"http": 80, "https": 443}[a.scheme]) == (b.port or {"http": 80, "https": 443}[b.scheme])
    except ValueError:  # an unreadable port or address is no page of this site
        return False


@dataclass
class CrawledPage:
    url: str
    page: Page
    content_hash: str

    @property
    def word_count(self) -> int:
        return len(self.page.text.split())


@dataclass
class CrawlResult:
    pages: list[CrawledPage] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # url → reason
    skipped: dict[str, str] = field(default_factory=dict)  # url → reason (robots, noindex, duplicate)
    truncated: str | None = None  # why the crawl stopped early, if it did
    start_error: str | None = None  # the start URL itself could not be crawled


def content_hash(page: Page) -> str:
    return hashlib.sha256((page.title + "\n" + page.text).encode()).hexdigest()


class Crawler:
    def __init__(self, fetcher: Fetcher | None = None, page_limit: int = 100, concurrency: int = 4,
                 time_budget: float = 600):
        self.fetcher = fetcher or Fetcher(USER_AGENT)
        self.page_limit = page_limit
        self.concurrency = concurrency
        self.time_budget = time_budget

    def _robots(self, root: str) -> tuple[RobotFileParser, float, list[str]]:
        robots = RobotFileParser()
        parts = urlsplit(root)
        url = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
        try:
            response = self.fetcher.request("GET", url)
            if response.status >= 500:
                robots.disallow_all = True  # as Google does: a failing robots.txt means "not now"
            elif response.status < 400:
                robots.parse(response.text().splitlines())
            else:
                robots.allow_all = True
        except FetchError:
            robots.allow_all = True
        delay = robots.crawl_delay(USER_AGENT) or 0
        return robots, min(float(delay), 5.0), list(robots.site_maps() or [])

    def _sitemap_urls(self, sitemaps: list[str], root: str) -> list[str]:
        found: list[str] = []
        queue, seen = list(dict.fromkeys(sitemaps)), set()
        while queue and len(seen) < MAX_SITEMAPS and len(found) < self.page_limit * 2:
            url = queue.pop(0)
            if url in seen or not same_site(url, root):
                continue
            seen.add(url)
            try:
                response = self.fetcher.request("GET", url)
                if response.status != 200:
                    continue
                tree = ET.fromstring(response.body)
            except (FetchError, ET.ParseError):
                continue
            for loc in tree.iter():
                if not loc.tag.endswith("loc") or not (loc.text or "").strip():
                    continue
                target = loc.text.strip()
                if tree.tag.endswith("sitemapindex"):
                    queue.append(target)
                else:
                    found.append(target)
        return found

    def _page(self, url: str) -> tuple[str, Page | None, str | None]:
        """(final url, extracted page or None, failure reason or None)."""
        try:
            response = self.fetcher.request("GET", url, accept="text/html,application/xhtml+xml,text/plain;q=0.9,"
                                                               "application/pdf;q=0.8,*/*;q=0.1")
        except FetchError as error:
            return url, None, str(error)
        final = normalize_url(response.url)
        if response.status != 200:
            return final, None, f"HTTP {response.status}"
        kind = response.content_type
        if kind in HTML_TYPES or (not kind and response.body.lstrip()[:1] == b"<"):
            return final, extract_html(response.text(), final), None
        if kind == "text/plain":
            return final, extract_text(response.text(), urlsplit(final).path.rsplit("/", 1)[-1] or final), None
        if kind == "application/pdf":
            try:
                return final, extract_pdf(response.body, urlsplit(final).path.rsplit("/", 1)[-1]), None
            except Exception as error:  # malformed PDFs raise many kinds of errors
                return final, None, f"unreadable PDF ({type(error).__name__})"
        return final, None, f"unsupported content type '{kind or 'unknown'}'"

    def crawl(self, start_url: str, on_progress: Callable[[int, int], None] | None = None,
              on_page: Callable[[CrawledPage], None] | None = None) -> CrawlResult:
        """Crawl from ``start_url``; ``on_progress(fetched, queued)`` is called after every batch,
        ``on_page(page)`` for every page kept, as soon as it is (so its processing can start while
        the crawl goes on), in the order of ``result.pages``."""
        started = time.monotonic()
        fetched = 0
        result = CrawlResult()
        try:
            root = normalize_url(start_url)
        except ValueError as error:
            result.start_error = f"the URL cannot be read ({error})"
            return result
        robots, delay, sitemaps = self._robots(root)
        if not robots.can_fetch(USER_AGENT, root):
            result.start_error = "robots.txt does not allow BotPlot-Crawler to fetch this URL"
            return result
        parts = urlsplit(root)
        sitemaps.append(urlunsplit((parts.scheme, parts.netloc, "/sitemap.xml", "", "")))
        # the sitemap adds pages under the start URL's directory (the whole site when it is the root)
        scope = root.rsplit("/", 1)[0] + "/"
        frontier = [root] + [u for u in readable(self._sitemap_urls(sitemaps, root)) if u.startswith(scope)]
        seen: set[str] = set()
        hashes: dict[str, str] = {}
        lock = threading.Lock()
        workers = 1 if delay else self.concurrency

        def allowed(url: str) -> bool:
            if not same_site(url, root):
                return False
            path = urlsplit(url).path.lower()
            if any(path.endswith(ext) for ext in SKIP_EXTENSIONS):
                return False
            if not robots.can_fetch(USER_AGENT, url):
                result.skipped.setdefault(url, "disallowed by robots.txt")
                return False
            return True

        with ThreadPoolExecutor(max_workers=workers) as pool:
            while frontier:
                if time.monotonic() - started > self.time_budget:
                    result.truncated = f"time budget of {self.time_budget:.0f} s reached"
                    break
                batch: list[str] = []
                while frontier and len(batch) < workers:
                    url = frontier.pop(0)
                    if url in seen:
                        continue
                    seen.add(url)
                    if allowed(url):
                        batch.append(url)
                if not batch:
                    continue
                for url, (final, page, error) in zip(batch, pool.map(self._page, batch)):
                    fetched += 1
                    if delay:
                        time.sleep(delay)
                    with lock:
                        if error:
                            result.failed[url] = error
                            if url == root:  # nothing else is crawled when the start URL fails
                                result.start_error = error
                                return result
                            continue
                        if final != url and (final in seen or not same_site(final, root)):
                            if not same_site(final, root):
                                result.skipped[url] = f"redirects off-site to {final}"
                            continue
                        seen.add(final)
                        if page.noindex:
                            result.skipped[final] = "marked noindex"
                        elif not page.blocks:
                            result.skipped[final] = "no text content"
                        else:
                            digest = content_hash(page)
                            if digest in hashes:
                                result.skipped[final] = f"same content as {hashes[digest]}"
                            else:
                                hashes[digest] = final
                                result.pages.append(CrawledPage(final, page, digest))
                                if on_page:
                                    on_page(result.pages[-1])
                                if len(result.pages) >= self.page_limit:
                                    result.truncated = f"page limit of {self.page_limit} reached"
                                    return result
                        if not page.nofollow:
                            frontier.extend(u for u in readable(page.links) if same_site(u, root) and u not in seen)
                if on_progress:
                    on_progress(fetched, len(set(frontier) - seen))
        return result
