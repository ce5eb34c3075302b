"""Knowledge sources and the pages crawled for them (chunks live in the chunk index)."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from botplot.db.base import table_meta


class BySchedule(GlobalSecondaryIndex):
    """Sparse: only sources synced daily or weekly carry ``syncSchedule``."""

    class Meta:
        index_name = "bySchedule"
        projection = KeysOnlyProjection()

    sync_schedule = UnicodeAttribute(hash_key=True, attr_name="syncSchedule")
    source_id = UnicodeAttribute(range_key=True, attr_name="sourceId")


class ByCrawlDeadline(GlobalSecondaryIndex):
    """Sparse: only sources waiting for a crawl carry ``crawlDeadline`` (the sweeper's worklist)."""

    class Meta:
        index_name = "byCrawlDeadline"
        projection = KeysOnlyProjection()

    status = UnicodeAttribute(hash_key=True)
    crawl_deadline = UnicodeAttribute(range_key=True, attr_name="crawlDeadline")


class Source(Model):
    Meta = table_meta("SOURCES")

    project_id = UnicodeAttribute(hash_key=True, attr_name="projectId")
    source_id = UnicodeAttribute(range_key=True, attr_name="sourceId")
    type = UnicodeAttribute()  # "url" | "qa"
    name = UnicodeAttribute()
    url = UnicodeAttribute(null=True)
    question = UnicodeAttribute(null=True)
    answer = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="processing")  # processing | ready | failed
    error = UnicodeAttribute(null=True)
    chunk_count = NumberAttribute(attr_name="chunkCount", default=0)
    word_count = NumberAttribute(attr_name="wordCount", default=0)
    sync_frequency = UnicodeAttribute(attr_name="syncFrequency", default="manual")
    sync_schedule = UnicodeAttribute(attr_name="syncSchedule", null=True)
    created_at = UnicodeAttribute(attr_name="createdAt")
    updated_at = UnicodeAttribute(attr_name="updatedAt", null=True)
    last_crawled_at = UnicodeAttribute(attr_name="lastCrawledAt", null=True)
    crawl_job_id = UnicodeAttribute(attr_name="crawlJobId", null=True)
    crawl_report = UnicodeAttribute(attr_name="crawlReport", null=True)  # JSON of the last crawl
    progress = UnicodeAttribute(null=True)  # JSON of the running crawl's progress, removed when it ends
    #: while processing: when the crawl must have finished, retries included, or it never will
    crawl_deadline = UnicodeAttribute(attr_name="crawlDeadline", null=True)
    by_schedule = BySchedule()
    by_crawl_deadline = ByCrawlDeadline()


class Page(Model):
    """One crawled page of a URL source: its content hash decides whether a resync re-embeds it."""

    Meta = table_meta("PAGES")

    source_id = UnicodeAttribute(hash_key=True, attr_name="sourceId")
    url = UnicodeAttribute(range_key=True)
    project_id = UnicodeAttribute(attr_name="projectId")
    title = UnicodeAttribute(null=True)
    content_hash = UnicodeAttribute(attr_name="contentHash")
    chunk_ids = ListAttribute(attr_name="chunkIds", of=UnicodeAttribute, null=True)
    word_count = NumberAttribute(attr_name="wordCount", default=0)
    crawled_at = UnicodeAttribute(attr_name="crawledAt")
