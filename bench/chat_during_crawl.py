"""How long a visitor's question waits for its embedding while a crawl embeds, offline (MiniLM).

A question is one short text; a crawl embeds its chunks in batches. The run embeds the questions
alone (the floor), then during a bulk embedding with today's embedder (a question is encoded at
once in its own thread; the crawl's batches go through the embedder's pool), then with one lock
held around each whole ``embed()`` call, as the embedder was before: a question waited for the
crawl's last batch.
The baseline is that old embedder, measured in the same run on the same machine.
"""

from __future__ import annotations

import statistics
import threading
import time

from botplot.knowledge.embeddings import MiniLMEmbedder

CHUNKS = 160  # five batches of crawl chunks
QUESTIONS = ["What is your return policy?", "How long does shipping take?", "Do you ship to Canada?"]


class WholeCallLock(MiniLMEmbedder):
    """The embedder before: one lock around the whole call, questions included."""

    def __init__(self):
        super().__init__()
        self._whole = threading.Lock()

    def embed(self, texts):
        with self._whole:
            return super().embed(texts)


def _chunks() -> list[str]:
    words = "tent stove lantern trail river summit canyon forest meadow ridge glacier valley".split()
    return [" ".join(words[(n * 7 + i * 5) % len(words)] + str((n + i) % 23) for i in range(170))
            for n in range(CHUNKS)]


def _question_latencies(embedder, during_bulk: bool) -> tuple[list[float], float]:
    """Seconds per question (asked one after another), and how long the bulk embedding took."""
    bulk_seconds = [0.0]

    def bulk():
        started = time.perf_counter()
        embedder.embed(_chunks())
        bulk_seconds[0] = time.perf_counter() - started

    worker = threading.Thread(target=bulk)
    if during_bulk:
        worker.start()
        time.sleep(0.5)  # the crawl is under way
    latencies = []
    for n in range(6):
        started = time.perf_counter()
        embedder.embed([f"{QUESTIONS[n % len(QUESTIONS)]} ({n})"])
        latencies.append(time.perf_counter() - started)
    if during_bulk:
        worker.join()
    return latencies, bulk_seconds[0]


def main() -> None:
    today, before = MiniLMEmbedder(), WholeCallLock()
    today.embed(["warm up"])
    before.embed(["warm up"])
    alone, _ = _question_latencies(today, during_bulk=False)
    during, bulk_today = _question_latencies(today, during_bulk=True)
    baseline, bulk_before = _question_latencies(before, during_bulk=True)
    print(f"question embedding while {CHUNKS} crawl chunks embed (6 questions, one after another):")
    rows = (("no crawl running", alone, None), ("during a crawl, today", during, bulk_today),
            ("during a crawl, before (baseline)", baseline, bulk_before))
    for label, latencies, bulk_seconds in rows:
        crawl = f"   the crawl's embedding took {bulk_seconds:.1f} s" if bulk_seconds else ""
        print(f"  {label:36} first {latencies[0] * 1000:7.0f} ms, median {statistics.median(latencies) * 1000:6.0f} ms"
              + crawl)

if __name__ == "__main__":
    main()
