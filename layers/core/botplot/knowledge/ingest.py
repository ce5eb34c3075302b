"""Turning crawls and Q&A pairs into indexed chunks, incrementally and idempotently.

A resync re-embeds only pages whose content hash changed; pages that disappeared (no longer
linked, 404/410, now disallowed or noindex) lose their chunks; pages that failed for a passing
reason (timeout, 5xx) keep theirs and are reported. Chunk ids are content-addressed, so processing
the same job twice leaves one copy of every chunk. Every crawl leaves a change report on its source.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from botplot import clock, events
from botplot.config import settings
from botplot.db.base import condition_failed, connection
from botplot.db.knowledge import Page, Source
from botplot.db.projects import Project
from botplot.knowledge import embeddings, source_events
from botplot.knowledge.chunking import WHOLE, chunk_page, sizes_for
from botplot.knowledge.crawler import Crawler, CrawlResult, CrawledPage
from botplot.knowledge.embeddings import EmbeddingError
from botplot.knowledge.index import default_index
from botplot.knowledge.index.base import ChunkRecord
from botplot.knowledge.indexing import embed, records, remove_source_content
from botplot.observability import count, logger

REPORT_LIST_LIMIT = 100
#: failures after which a page's old chunks are dropped; others (timeouts, 5xx) keep them
GONE = ("HTTP 404", "HTTP 410")
#: chunks embedded per call (OpenAI takes 96 inputs a request) and written to the index at once;
#: progress moves between slices
EMBED_SLICE = 96


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


class Progress:
    """The running crawl's progress, kept on its source (``progress``) for the API to show.

    Each phase is logged at INFO and written at once; counts within a phase at most every
    ``interval`` seconds, so a big crawl does not spend a write per page. Writes are conditional
    on the source still running this job: a newer crawl or a deleted source is left alone. The
    crawl and its embedding (a thread of its own) both report here, one at a time.
    """

    interval = 2.0

    def __init__(self, source: Source, job_id: str, started_at: str):
        """The crawl begins: its ``crawling`` phase is logged and written."""
        self.source, self.job_id = source, job_id
        self.state = {"pagesFetched": 0, "pagesQueued": 0, "pagesEmbedded": 0, "pagesToEmbed": 0,
                      "startedAt": started_at}
        self._lock = threading.Lock()
        self.phase("crawling")

    def phase(self, name: str, **counts: int) -> None:
        with self._lock:
            self.state.update(phase=name, **counts)
            logger.info(f"crawl {name}", extra={"url": self.source.url, "job_id": self.job_id,
                                                 **{k: v for k, v in self.state.items() if k != "phase"}})
            self._write()

    def update(self, **counts: int) -> None:
        """New counts, written when the last write is ``interval`` old."""
        with self._lock:
            self.state.update(counts)
            if time.monotonic() - self._written >= self.interval:
                self._write()

    def _write(self) -> None:
        self._written = time.monotonic()
        state = {**self.state, "updatedAt": clock.iso(clock.now())}
        try:
            Source(self.source.project_id, self.source.source_id).update(
                actions=[Source.progress.set(json.dumps(state))], condition=Source.crawl_job_id == self.job_id)
        except UpdateError as failure:
            if not condition_failed(failure):
                raise


def _page_limit(project_id: str) -> int:
    """The project's plan's page limit (every plan has one); the free plan's for a project deleted
    since its crawl was queued."""
    try:
        plan = Project.get(project_id).plan
    except DoesNotExist:
        plan = "free"
    return settings().page_limits[plan]


class _Pipeline:
    """A crawl's changed pages embedded and indexed while the crawl goes on.

    The crawler hands over every page it keeps (:meth:`add`, in the crawl's thread): an unchanged
    page is only reported; a changed one is chunked and joins the next slice of about
    ``EMBED_SLICE`` chunks. The first slices are smaller (an eighth of that, then twice the last
    until ``EMBED_SLICE``): the embedder starts with the crawl's first page or two instead of
    waiting for a tenth of a site (on Flask's docs a quarter of the crawl's time went by before its
    first slice of 96 chunks), and the next slice is ready by the time the last is done. Each slice is embedded (one embedder call) by one background thread,
    then written in bulk (one index write, one delete of the chunks its pages no longer have, one
    batch of page records) by another, slices in order. So the crawl (network waits, and the
    extractor holding the GIL), the embedder (numpy, which releases it, or the model endpoint's
    round trips) and the writes (OpenSearch waits for a refresh) overlap instead of following
    each other.
    """

    def __init__(self, source: Source, report: Report, progress: Progress):
        self.source, self.report, self.progress = source, report, progress
        self.index = default_index()
        self.sizes = sizes_for(embeddings.window())
        self.existing = {p.url: p for p in Page.query(source.source_id)}
        self.now = clock.iso_ms(clock.now())
        self.to_embed = self.embedded = 0
        self._pending: list[tuple[CrawledPage, Page | None, list[ChunkRecord]]] = []
        self._pending_chunks = 0
        self._slice_chunks = max(1, EMBED_SLICE // 8)  # the first slice's size; doubles up to EMBED_SLICE
        self._slices: list[Future] = []
        self._failed = threading.Event()  # set by the first failure: the slices after it are skipped
        self._embedding = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="crawl-embedding",  # pragma: no mutate (a name for stack dumps, nothing reads it)
        )
        self._writing = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="crawl-writing",  # pragma: no mutate (a name for stack dumps, nothing reads it)
        )

    def _stored_hash(self, crawled: CrawledPage) -> str:
        """What a page record keeps to tell an unchanged page: its text's hash and the chunk sizes
        its chunks were made with, so that chunks of other sizes (after a change of embedder, or of
        the sizes) are made again. The text's hash alone for ``WHOLE``, as records kept it before
        sizes depended on the embedder: their pages stay unchanged instead of all being embedded
        again."""
        if self.sizes == WHOLE:
            return crawled.content_hash
        return f"{self.sizes.version}:{crawled.content_hash}"

    def add(self, crawled: CrawledPage) -> None:
        old = self.existing.get(crawled.url)
        if old is not None and old.content_hash == self._stored_hash(crawled):
            self.report.unchanged.append(crawled.url)
            return
        (self.report.changed if old else self.report.added).append(crawled.url)
        page_records = records(self.source.project_id, self.source.source_id, crawled.url, crawled.page.title,
                               chunk_page(crawled.page.title, crawled.page.blocks, self.sizes))
        self._pending.append((crawled, old, page_records))
        self._pending_chunks += len(page_records)
        self.to_embed += 1
        self.progress.update(pagesToEmbed=self.to_embed)
        if self._pending_chunks >= self._slice_chunks:
            self._submit()

    def _submit(self) -> None:
        if self._pending:
            part, self._pending, self._pending_chunks = self._pending, [], 0
            self._slice_chunks = min(EMBED_SLICE, 2 * self._slice_chunks)
            embedded = self._embedding.submit(self._embed, part)
            self._slices.append(self._writing.submit(self._write, part, embedded))

    def _embed(self, part: list[tuple[CrawledPage, Page | None, list[ChunkRecord]]]) -> None:
        """Vectors for the slice's chunks (in place); none once an earlier slice failed (the crawl
        fails with that slice's error: no more model calls)."""
        if self._failed.is_set():
            return
        try:
            chunk_records = [r for _, _, page_records in part for r in page_records]
            calls = embed(chunk_records)
        except BaseException:
            self._failed.set()
            raise
        self.report.embedding_calls += calls
        self.report.chunks_embedded += len(chunk_records) if calls else 0

    def _write(self, part: list[tuple[CrawledPage, Page | None, list[ChunkRecord]]], embedded: Future) -> None:
        embedded.result()  # raises the slice's embedding failure
        if self._failed.is_set():  # this slice's embedding was skipped, or the crawl or another slice failed
            return
        try:
            self.index.upsert([r for _, _, page_records in part for r in page_records])
            stale = [cid for _, old, page_records in part if old is not None and old.chunk_ids
                     for cid in set(old.chunk_ids) - {r.chunk_id for r in page_records}]
            self.index.delete(self.source.project_id, stale)
            with Page.batch_write() as batch:
                for crawled, _, page_records in part:
                    batch.save(Page(self.source.source_id, crawled.url, project_id=self.source.project_id,
                                    title=crawled.page.title, content_hash=self._stored_hash(crawled),
                                    chunk_ids=[r.chunk_id for r in page_records], word_count=crawled.word_count,
                                    crawled_at=self.now))
        except BaseException:
            self._failed.set()
            raise
        self.embedded += len(part)
        self.progress.update(pagesEmbedded=self.embedded)

    def finish(self) -> None:
        """After the crawl: the last slice, then every slice written; the first failure is raised."""
        self._submit()
        self.progress.phase("embedding", pagesQueued=0)  # the crawl is over: nothing is left to fetch
        try:
            for written in self._slices:
                written.result()
        finally:
            self._stop()
        self.progress.phase("indexing")

    def abandon(self) -> None:
        """The crawl itself failed: let the slices under way finish; those queued behind them return
        at once (``_failed``), so no more model calls or writes."""
        self._failed.set()
        self._stop()

    def _stop(self) -> None:
        self._embedding.shutdown()
        self._writing.shutdown()


def _remove_gone(source: Source, result: CrawlResult, existing: dict[str, Page], report: Report) -> None:
    """Pages of the last crawl that this one did not find lose their chunks, unless they failed for
    a passing reason or the crawl stopped before reaching them."""
    index = default_index()
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


def crawl_source(project_id: str, source_id: str, job_id: str, time_budget: float) -> dict:
    """The crawl worker's job. Returns a summary (what Powertools Idempotency stores)."""
    try:
        source = Source.get(project_id, source_id)
    except DoesNotExist:
        return {"status": "skipped", "reason": "source deleted"}
    if source.crawl_job_id and source.crawl_job_id != job_id:
        return {"status": "skipped", "reason": "superseded by a newer crawl"}
    report = Report(job_id=job_id, started_at=clock.iso(clock.now()))
    progress = Progress(source, job_id, report.started_at)
    pipeline = _Pipeline(source, report, progress)
    try:
        result = Crawler(page_limit=_page_limit(project_id), time_budget=time_budget).crawl(
            source.url, lambda fetched, queued: progress.update(pagesFetched=fetched, pagesQueued=queued),
            on_page=pipeline.add)
    except BaseException:
        pipeline.abandon()
        raise
    count("CrawlPages", len(result.pages), service="crawl")
    count("CrawlFailures", len(result.failed), service="crawl")
    if result.start_error and not result.pages:
        pipeline.abandon()
        report.failed, report.skipped = result.failed, result.skipped
        _finish(source, report, error=f"Could not crawl {source.url}: {result.start_error}")
        return {"status": "failed", "error": result.start_error}
    try:
        pipeline.finish()
        _remove_gone(source, result, pipeline.existing, report)
    except EmbeddingError as failure:
        if not failure.permanent:
            raise  # the queue delivers the job again
        _finish(source, report, error=str(failure))
        return {"status": "failed", "error": str(failure)}
    _finish(source, report, error=None)
    return {"status": "ready", "pages": len(result.pages), "embeddingCalls": report.embedding_calls}


def fail_job(project_id: str, source_id: str, job_id: str, error: str) -> bool:
    """Leave a source whose crawl job cannot finish ``failed`` with ``error``; False when the job is
    no longer the source's (deleted, superseded) or its outcome is already recorded."""
    try:
        # consistent: the job's own last write is seen; the transaction's condition decides either way
        # (and moto's reads are always consistent), so consistent_read's mutants are equivalent here
        source = Source.get(project_id, source_id, consistent_read=True)  # pragma: no mutate
    except DoesNotExist:
        return False
    now = clock.iso_ms(clock.now())
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(source, actions=[
                Source.status.set("failed"), Source.error.set(error), Source.crawl_deadline.remove(),
                Source.progress.remove(), Source.updated_at.set(now),
            ], condition=(Source.status == "processing") & (Source.crawl_job_id == job_id))
            events.save(tx, source_events.failed(source, error, now))
    except TransactWriteError as failure:
        if not condition_failed(failure):
            raise
        return False
    return True


def _finish(source: Source, report: Report, error: str | None) -> None:
    logger.info("crawl failed" if error else "crawl finished",
                extra={"url": source.url, "job_id": report.job_id, "error": error, "added": len(report.added),
                       "changed": len(report.changed), "removed": len(report.removed),
                       "failed": len(report.failed)})
    pages = list(Page.query(source.source_id))
    now, report_json = clock.iso_ms(clock.now()), report.as_json()
    chunk_count, word_count = sum(len(p.chunk_ids or []) for p in pages), sum(p.word_count for p in pages)
    outcome = (source_events.failed(source, error, now, report_json) if error
               else source_events.synced(source, report_json, chunk_count, word_count, now))
    try:
        with TransactWrite(connection=connection()) as tx:  # the outcome and its event, together
            tx.update(source, actions=[
                Source.status.set("failed" if error else "ready"),
                Source.error.set(error) if error else Source.error.remove(),
                Source.crawl_deadline.remove(),
                Source.chunk_count.set(chunk_count),
                Source.word_count.set(word_count),
                Source.last_crawled_at.set(now),
                Source.updated_at.set(now),
                Source.crawl_report.set(report_json),
                Source.progress.remove(),
            ], condition=Source.source_id.exists())
            events.save(tx, outcome)
    except TransactWriteError as failure:
        if not condition_failed(failure):
            raise
        logger.info("source deleted during its crawl; removing what the crawl indexed")
        remove_source_content(source.project_id, source.source_id)
