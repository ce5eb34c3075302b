"""Run benchmarks: `python -m bench` (all) or `python -m bench coldstart requests_per_route`.

Each runs in a fresh interpreter of its own, so that none inherits another's emulator or settings.
"""

from __future__ import annotations

import subprocess
import sys

ALL = ["coldstart", "requests_per_route", "analytics_cost", "chunk_pages", "crawl", "retrieval", "opensearch", "load", "chat_during_crawl"]


def main(names: list[str]) -> int:
    failed = []
    for name in names or ALL:
        print(f"\n=== {name}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"]).returncode:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
