"""A source's chunk list paged deep: a page by ``offset`` (the baseline) against a page by position
(what a ``cursor`` carries), at the start, the middle and the end of a large source.

The embedded SQLite index always; a real OpenSearch node too when ``OPENSEARCH_URL`` names one.
For SQLite the work is also counted in virtual-machine instructions (a progress handler called on
every instruction), which the machine's load does not move. Figures are printed, never asserted.

    python -m bench.chunk_pages [chunks]        (default 20,000 chunks, pages of 100; indexing them takes minutes)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid

from botplot.knowledge.index.base import ChunkPosition, ChunkRecord

PAGE = 100
RUNS = 15


def _chunks(project: str, source: str, count: int) -> list[ChunkRecord]:
    per_page = 20  # chunks per crawled page, as a long documentation page gives
    return [ChunkRecord(chunk_id=f"{source}-{i:07d}", project_id=project, source_id=source,
                        content=f"Paragraph {i} of the documentation, long enough to be a chunk of its own.",
                        token_count=16, title=f"Page {i // per_page}", url=f"https://docs.example.com/p/{i // per_page:06d}",
                        ordinal=i % per_page) for i in range(count)]


def _fill(index, project: str, count: int) -> None:
    chunks = _chunks(project, "big", count)
    for start in range(0, count, 5000):
        index.upsert(chunks[start:start + 5000])
    index.upsert(_chunks(project, "small", 50))  # another source beside it


def _median_ms(read) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _instructions(index, read) -> int:
    counted = [0]

    def tick() -> int:
        counted[0] += 1
        return 0

    db = index._db()
    db.set_progress_handler(tick, 1)
    try:
        read()
    finally:
        db.set_progress_handler(None, 1)
    return counted[0]


def _measure(name: str, index, project: str, count: int) -> None:
    depths = [0, count // 2, count - PAGE]
    everything_at = {d: index.list_source(project, "big", 1, d - 1)[0] if d else None for d in depths}
    print(f"\n{name}: one source of {count:,} chunks, pages of {PAGE} (median of {RUNS} reads, ms)")
    header = f"{'depth':>8} {'offset ms':>10} {'cursor ms':>10} {'ratio':>7}"
    if name == "sqlite":
        header += f" {'offset VM instr':>16} {'cursor VM instr':>16}"
    print(header)
    for depth in depths:
        after = ChunkPosition.of(everything_at[depth]) if everything_at[depth] else None

        def by_offset(depth=depth):
            return index.list_source(project, "big", PAGE + 1, depth)

        def by_cursor(after=after):
            return index.list_source(project, "big", PAGE + 1, after=after)

        assert [c.chunk_id for c in by_offset()] == [c.chunk_id for c in by_cursor()]
        offset_ms, cursor_ms = _median_ms(by_offset), _median_ms(by_cursor)
        line = f"{depth:>8,} {offset_ms:>10.2f} {cursor_ms:>10.2f} {offset_ms / cursor_ms:>6.1f}x"
        if name == "sqlite":
            line += f" {_instructions(index, by_offset):>16,} {_instructions(index, by_cursor):>16,}"
        print(line)


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 20_000
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    from botplot.knowledge.index.sqlite import SqliteIndex

    with tempfile.TemporaryDirectory() as folder:
        index = SqliteIndex(os.path.join(folder, "index.sqlite"))
        started = time.perf_counter()
        _fill(index, "bench", count)
        print(f"sqlite: indexed in {time.perf_counter() - started:.1f} s")
        _measure("sqlite", index, "bench", count)
    url = os.environ.get("OPENSEARCH_URL")
    if not url:
        print("\nopensearch: skipped (set OPENSEARCH_URL to a node, e.g. one started by devkit/opensearch)")
        return 0
    from botplot.knowledge.index.opensearch import OpenSearchIndex

    prefix = f"bench-pages-{uuid.uuid4().hex[:8]}"
    index = OpenSearchIndex(url, prefix=prefix, dimensions=4, engine=os.environ.get("BOTPLOT_KNN_ENGINE", "lucene"))
    try:
        _fill(index, "bench", count)
        _measure("opensearch", index, "bench", count)
    finally:
        index.client.indices.delete(index=f"{prefix}-*", params={"ignore_unavailable": "true"})
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
