"""What extraction produces and chunking consumes: a page's title, its blocks and its links.

Kept apart from ``extract`` (which needs BeautifulSoup, shipped only in the crawl worker's
CrawlLayer) so that the functions that chunk Q&A pairs or reindex without crawling (knowledge,
sync scheduler) import no HTML parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Block:
    kind: str  # "heading" | "text" | "code"
    text: str
    level: int = 0


@dataclass
class Page:
    title: str
    blocks: list[Block]
    links: list[str] = field(default_factory=list)
    noindex: bool = False
    nofollow: bool = False

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)
