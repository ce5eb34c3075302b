"""The chunk index: one contract (``base.ChunkIndex``), two backends (OpenSearch, embedded SQLite)."""

from __future__ import annotations

import threading
from functools import lru_cache

from botplot.config import settings
from botplot.knowledge.index.base import ChunkIndex


_creating = threading.Lock()


def default_index() -> ChunkIndex:
    """``BOTPLOT_INDEX``: ``opensearch`` (AWS, ``OPENSEARCH_URL``, k-NN engine ``BOTPLOT_KNN_ENGINE``,
    vector encoding ``BOTPLOT_KNN_ENCODING``)
    or ``sqlite`` (local stack, tests);
    created once per process, however many requests ask at once."""
    with _creating:
        return _default_index()


@lru_cache(maxsize=1)
def _default_index() -> ChunkIndex:
    s = settings()
    if s.index_backend == "opensearch":
        from botplot.knowledge.index.opensearch import OpenSearchIndex

        return OpenSearchIndex(s.opensearch_url, service=s.opensearch_service, engine=s.knn_engine,
                               encoding=s.knn_encoding, sign=s.opensearch_sigv4)
    from botplot.knowledge.index.sqlite import SqliteIndex

    return SqliteIndex(s.index_path)


default_index.cache_clear = _default_index.cache_clear  # for tests and tools that change the configuration
