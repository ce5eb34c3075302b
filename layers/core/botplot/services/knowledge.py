"""Knowledge sources for the management API: add, list, inspect, recrawl, delete.

Adding a URL returns at once; the crawl worker does the work from the crawl queue. A Q&A pair is
indexed before the call returns, so it is searchable at once.
"""

from __future__ import annotations

import json
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from botplot import clock, events, ids
from botplot.aws import client
from botplot.config import settings
from botplot.db.base import connection
from botplot.db.knowledge import Source
from botplot.errors import bad_request, not_found
from botplot.knowledge import indexing, source_events
from botplot.knowledge.embeddings import EmbeddingError
from botplot.knowledge.index import default_index
from botplot.knowledge.index.base import ChunkPosition, ChunkRecord
from botplot.net import urls
from botplot.observability import logger
from botplot.services import gaps

SYNC_FREQUENCIES = ("manual", "daily", "weekly")
MAX_URL_LENGTH = 2048


def _schedule(frequency: str) -> str | None:
    return frequency if frequency in ("daily", "weekly") else None


def validate_url(url: str) -> str:
    """The URL as given (without surrounding spaces), when it has the published shape (urls.HTTP_URL);
    its length is the string's as sent, as the document's ``maxLength`` counts it."""
    if len(url) > MAX_URL_LENGTH:
        raise bad_request(f"'url' must be at most {MAX_URL_LENGTH} characters")
    url = url.strip(urls.SPACE)
    if not urls.is_http_url(url):
        raise bad_request("'url' must be an http:// or https:// URL with a host, no credentials, a port up to "
                          "65535 and no spaces")
    return url


def crawl_deadline() -> str:
    """When a crawl queued now is over, retries included: past it the sweeper fails the source."""
    return clock.iso_ms(clock.now() + timedelta(seconds=settings().crawl_deadline_seconds))


def enqueue_crawl(source: Source, job_id: str) -> None:
    client("sqs").send_message(QueueUrl=settings().crawl_queue_url, MessageBody=json.dumps(
        {"jobId": job_id, "projectId": source.project_id, "sourceId": source.source_id}))


def add_url(project_id: str, url: str, sync_frequency: str) -> Source:
    now = clock.iso_ms(clock.now())
    job_id = ids.uuid7()
    source = Source(project_id, ids.uuid7(), type="url", name=url, url=url, status="processing",
                    sync_frequency=sync_frequency, sync_schedule=_schedule(sync_frequency), created_at=now,
                    updated_at=now, crawl_job_id=job_id, crawl_deadline=crawl_deadline())
    source.save()
    enqueue_crawl(source, job_id)
    return source


def add_qa(project_id: str, question: str, answer: str) -> Source:
    now = clock.iso_ms(clock.now())
    source = Source(project_id, ids.uuid7(), type="qa", name=question, question=question, answer=answer,
                    status="processing", sync_frequency="manual", created_at=now, updated_at=now,
                    word_count=len(f"{question} {answer}".split()))
    source.save()
    try:
        chunks = indexing.index_qa(source)
    except Exception as failure:
        logger.exception("indexing a Q&A pair failed")
        reason = str(failure) if isinstance(failure, EmbeddingError) else "Indexing failed"
        error, failed_at = f"{reason}; delete this pair and add it again", clock.iso_ms(clock.now())
        with TransactWrite(connection=connection()) as tx:
            tx.update(source, actions=[Source.status.set("failed"), Source.error.set(error),
                                       Source.updated_at.set(failed_at)])
            events.save(tx, source_events.failed(source, error, failed_at))
        source.status, source.error = "failed", error
        return source
    source.update(actions=[Source.status.set("ready"), Source.chunk_count.set(chunks)])
    gaps.record_answer(project_id, source.source_id, question)
    return source


def get(project_id: str, source_id: str) -> Source:
    if not ids.is_uuid(source_id):
        raise not_found("Source", "SOURCE_NOT_FOUND")
    try:
        return Source.get(project_id, source_id)
    except DoesNotExist:
        raise not_found("Source", "SOURCE_NOT_FOUND") from None


def list_sources(project_id: str, limit: int | None = None, after: str | None = None) -> tuple[list[Source], bool]:
    """The project's sources, newest first: all of them (the reference's list), or a page of ``limit``
    after the source id ``after``; and whether more follow."""
    query = Source.query(project_id, Source.source_id < after if after else None, scan_index_forward=False,
                         **({} if limit is None else {"limit": limit + 1, "page_size": limit + 1}))
    items = list(query)
    return (items, False) if limit is None else (items[:limit], len(items) > limit)


def chunks(project_id: str, source_id: str, limit: int, offset: int = 0,
           after: str | None = None) -> tuple[list[ChunkRecord], bool]:
    """A page of a source's chunks from the index, after ``offset`` chunks or after the position
    ``after`` (a cursor's, see ``ChunkPosition``); and whether more follow (one more is read to know)."""
    position = ChunkPosition.decode(after) if after is not None else None
    items = default_index().list_source(project_id, source_id, limit + 1, offset, position)
    return items[:limit], len(items) > limit


def recrawl(project_id: str, source_id: str) -> Source:
    source = get(project_id, source_id)
    if source.type != "url":
        raise bad_request("Only URL sources can be re-crawled", "NOT_A_URL_SOURCE")
    job_id = ids.uuid7()
    source.update(actions=[Source.status.set("processing"), Source.crawl_job_id.set(job_id),
                           Source.progress.remove(), Source.crawl_deadline.set(crawl_deadline()),
                           Source.updated_at.set(clock.iso_ms(clock.now()))])
    enqueue_crawl(source, job_id)
    return source


def delete(project_id: str, source_id: str) -> None:
    source = get(project_id, source_id)
    source.delete()
    indexing.remove_source_content(project_id, source_id)
    if source.type == "qa":
        gaps.forget_answer(project_id, source_id)


def scheduled_sources(frequency: str):
    """(projectId, sourceId) of every source synced at this frequency (the sparse schedule index)."""
    for entry in Source.by_schedule.query(frequency):
        yield entry.project_id, entry.source_id


def enqueue_scheduled(frequency: str) -> int:
    """Queue a resync of every source with this ``syncFrequency``; returns how many."""
    sqs, queued, batch = client("sqs"), 0, []
    for project_id, source_id in scheduled_sources(frequency):
        job_id = ids.uuid7()
        try:
            Source(project_id, source_id).update(actions=[Source.crawl_job_id.set(job_id)],
                                                 condition=Source.source_id.exists())
        except Exception:
            continue  # deleted meanwhile
        batch.append({"Id": str(len(batch)), "MessageBody": json.dumps(
            {"jobId": job_id, "projectId": project_id, "sourceId": source_id, "scheduled": frequency})})
        if len(batch) == 10:
            sqs.send_message_batch(QueueUrl=settings().crawl_queue_url, Entries=batch)
            queued, batch = queued + len(batch), []
    if batch:
        sqs.send_message_batch(QueueUrl=settings().crawl_queue_url, Entries=batch)
        queued += len(batch)
    return queued


def view(source: Source, detail: bool = False) -> dict:
    """A source as the API shows it."""
    out = {"id": source.source_id, "type": source.type, "name": source.name, "status": source.status,
           "chunkCount": int(source.chunk_count or 0), "wordCount": int(source.word_count or 0),
           "syncFrequency": source.sync_frequency, "createdAt": clock.api_time(source.created_at)}
    if source.error:
        out["error"] = source.error
    if source.last_crawled_at:
        out["lastCrawledAt"] = clock.api_time(source.last_crawled_at)
    if source.status == "processing" and source.type == "url":
        out["progress"] = json.loads(source.progress) if source.progress else {"phase": "queued"}
    if detail and source.type == "url":
        out["url"] = source.url
    if detail and source.type == "qa":
        out["question"], out["answer"] = source.question, source.answer
    return out
