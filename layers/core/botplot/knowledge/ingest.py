"""Turning crawls and Q&A pairs into indexed chunks, incrementally and idempotently.

A resync re-embeds only pages whose content hash changed; pages that disappeared (no longer
linked, 404/410, now disallowed or noindex) lose their chunks; pages that failed for a passing
reason (timeout, 5xx) keep theirs and are reported. Chunk ids are content-addressed, so processing
the same job twice leaves one copy of every chunk. Every crawl leaves a change report on its source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pynamodb.exceptions import DoesNotExist, UpdateError

from botplot import clock
from botplot.config import settings
from botplot.db.base import condition_failed
from botplot.db.knowledge import Page, Source
from botplot.db.projects import Project
from botplot.knowledge.chunking import chunk_page
from botplot.knowledge.crawler import Crawler, CrawlResult, CrawledPage
from botplot.knowledge.index import default_index
from botplot.knowledge.index.base import ChunkRecord
from botplot.knowledge.indexing import embed, records, remove_source_content
from botplot.observability import count, logger

REPORT_LIST_LIMIT = 100
#: failures after which a page's old chunks are dropped; others (timeouts, 5xx) keep them
GONE = ("HTTP 404", "HTTP 410")


@dataclass
class Report:
    job_id: str
    started_at: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    truncated: str | None = None
    embedding_calls: int = 0
    chunks_embedded: int = 0

    def as_json(self) -> str:
        def capped(urls):
            return urls[:REPORT_LIST_LIMIT]

        def reasons(items: dict[str, str]):
            return [{"url": u, "reason": r} for u, r in list(items.items())[:REPORT_LIST_LIMIT]]

        return json.dumps({
            "jobId": self.job_id, "startedAt": self.started_at, "finishedAt": clock.iso(clock.now()),
            "counts": {"added": len(self.added), "changed": len(self.changed), "unchanged": len(self.unchanged),
                       "removed": len(self.removed), "failed": len(self.failed), "skipped": len(self.skipped)},
            "added": capped(self.added), "changed": capped(self.changed), "unchanged": capped(self.unchanged),
            "removed": capped(self.removed), "failed": reasons(self.failed), "skipped": reasons(self.skipped),
            "truncated": self.truncated, "embeddingCalls": self.embedding_calls,
            "chunksEmbedded": self.chunks_embedded,
        })


def _page_limit(project_id: str) -> int:
    try:
        plan = Project.get(project_id).plan
    except DoesNotExist:
        plan = "free"
    return settings().page_limits.get(plan, 0)


def _apply(source: Source, result: CrawlResult, report: Report) -> None:
    index = default_index()
    existing = {p.url: p for p in Page.query(source.source_id)}
    now = clock.iso_ms(clock.now())
    changed: list[tuple[CrawledPage, Page | None, list[ChunkRecord]]] = []
    for crawled in result.pages:
        old = existing.get(crawled.url)
        if old is not None and old.content_hash == crawled.content_hash:
            report.unchanged.append(crawled.url)
            continue
        (report.changed if old else report.added).append(crawled.url)
        page_records = records(source.project_id, source.source_id, crawled.url, crawled.page.title,
                               chunk_page(crawled.page.title, crawled.page.blocks))
        changed.append((crawled, old, page_records))
    to_embed = [r for _, _, page_records in changed for r in page_records]
    report.embedding_calls += embed(to_embed)
    report.chunks_embedded += len(to_embed) if report.embedding_calls else 0
    for crawled, old, page_records in changed:
        index.upsert(page_records)
        new_ids = [r.chunk_id for r in page_records]
        if old is not None and old.chunk_ids:
            index.delete(source.project_id, [cid for cid in old.chunk_ids if cid not in set(new_ids)])
        Page(source.source_id, crawled.url, project_id=source.project_id, title=crawled.page.title,
             content_hash=crawled.content_hash, chunk_ids=new_ids, word_count=crawled.word_count,
             crawled_at=now).save()
    crawled_urls = {p.url for p in result.pages}
    for url, old in existing.items():
        if url in crawled_urls:
            continue
        failure = result.failed.get(url)
        passing_failure = failure is not None and not failure.startswith(GONE)
        not_reached = result.truncated is not None and url not in result.skipped and failure is None
        if passing_failure or not_reached:
            continue  # keep what we had; the report says why
        index.delete(source.project_id, old.chunk_ids or [])
        old.delete()
        report.removed.append(url)
    report.failed, report.skipped, report.truncated = result.failed, result.skipped, result.truncated


def crawl_source(project_id: str, source_id: str, job_id: str, time_budget: float = 600) -> dict:
    """The crawl worker's job. Returns a summary (what Powertools Idempotency stores)."""
    try:
        source = Source.get(project_id, source_id)
    except DoesNotExist:
        return {"status": "skipped", "reason": "source deleted"}
    if source.crawl_job_id and source.crawl_job_id != job_id:
        return {"status": "skipped", "reason": "superseded by a newer crawl"}
    report = Report(job_id=job_id, started_at=clock.iso(clock.now()))
    result = Crawler(page_limit=_page_limit(project_id), time_budget=time_budget).crawl(source.url)
    count("CrawlPages", len(result.pages), service="crawl")
    count("CrawlFailures", len(result.failed), service="crawl")
    if result.start_error and not result.pages:
        report.failed, report.skipped = result.failed, result.skipped
        _finish(source, report, error=f"Could not crawl {source.url}: {result.start_error}")
        return {"status": "failed", "error": result.start_error}
    _apply(source, result, report)
    _finish(source, report, error=None)
    return {"status": "ready", "pages": len(result.pages), "embeddingCalls": report.embedding_calls}


def _finish(source: Source, report: Report, error: str | None) -> None:
    pages = list(Page.query(source.source_id))
    try:
        source.update(actions=[
            Source.status.set("failed" if error else "ready"),
            Source.error.set(error) if error else Source.error.remove(),
            Source.chunk_count.set(sum(len(p.chunk_ids or []) for p in pages)),
            Source.word_count.set(sum(p.word_count for p in pages)),
            Source.last_crawled_at.set(clock.iso_ms(clock.now())),
            Source.updated_at.set(clock.iso_ms(clock.now())),
            Source.crawl_report.set(report.as_json()),
        ], condition=Source.source_id.exists())
    except UpdateError as failure:
        if not condition_failed(failure):
            raise
        logger.info("source deleted during its crawl; removing what the crawl indexed")
        remove_source_content(source.project_id, source.source_id)
