"""``source.synced`` and ``source.failed``: how a crawl ended, for webhooks.

Every crawl or resync of a URL source ends in exactly one of them, sent by whoever records the
outcome on the source (the crawl worker, its last attempt, the sweeper) and only when that
conditional write succeeded, so a crawl that a newer one superseded, or a source deleted meanwhile,
announces nothing. A Q&A pair that fails to index sends ``source.failed`` too. Field names are
snake_case, like every webhook payload; the report is the source's ``crawlReport`` in that spelling.
"""

from __future__ import annotations

import json
import re

from botplot import clock
from botplot.db.knowledge import Source
from botplot.events import Event

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(value):
    if isinstance(value, dict):
        return {_CAMEL.sub("_", k).lower(): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


def _base(source: Source) -> dict:
    return {"source_id": source.source_id, "type": source.type, "name": source.name, "url": source.url,
            "sync_frequency": source.sync_frequency}


def synced(source: Source, report_json: str, chunk_count: int, word_count: int, at: str) -> Event:
    """A crawl that finished: the source is ``ready`` with what the crawl changed."""
    return Event(source.project_id, "source.synced", {
        **_base(source), "status": "ready", "chunk_count": chunk_count, "word_count": word_count,
        "synced_at": at, "report": _snake(json.loads(report_json)),
    }, at=clock.parse(at))


def failed(source: Source, error: str, at: str, report_json: str | None = None) -> Event:
    """A crawl (or a Q&A pair's indexing) that failed: the source is ``failed`` with ``error``; the
    report when the crawl got far enough to make one, else null."""
    return Event(source.project_id, "source.failed", {
        **_base(source), "status": "failed", "error": error, "failed_at": at,
        "report": _snake(json.loads(report_json)) if report_json else None,
    }, at=clock.parse(at))
