"""Run benchmarks: `python -m bench` (all) or `python -m bench coldstart requests_per_route`."""

from __future__ import annotations

import importlib
import sys

ALL = ["coldstart", "requests_per_route", "analytics_cost", "retrieval", "load"]


def main(names: list[str]) -> None:
    for name in names or ALL:
        print(f"\n=== {name}")
        importlib.import_module(f"bench.{name}").run()


if __name__ == "__main__":
    main(sys.argv[1:])
