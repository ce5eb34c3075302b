"""Remove from a stacked layer the distributions its base layers already carry.

``build-layer.mk``'s ``install_on`` runs this after installing a layer that sits on others (the AI
layer on core, the crawl and server layers on both): ``pip install --dry-run --report`` resolves the
base layers' requirements without installing them, and each distribution the report names is removed
here file by file, as its own ``RECORD`` lists them, with its ``.dist-info``. Before, the base layers
were installed a second time into a scratch folder just to learn their top-level names (most of a
stacked layer's build time), and a shared folder such as ``bin/`` went whole.

Usage: ``python drop_base_packages.py <pip report.json> <layer's python/ folder>``. Standard library
only: it runs under the build's python3.12 (or python3) with nothing installed.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sys
from pathlib import Path


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them (``Typing_Extensions`` == ``typing-extensions``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(target: Path) -> dict[str, Path]:
    """The distributions in ``target``: normalised name -> its ``.dist-info`` folder."""
    found = {}
    for info in target.glob("*.dist-info"):
        metadata = info / "METADATA"
        if metadata.is_file():
            for line in metadata.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("Name:"):
                    found[normalise(line.partition(":")[2].strip())] = info
                    break
    return found


def drop(info: Path, target: Path) -> None:
    """Delete a distribution's files (its ``RECORD``, paths relative to ``target``), then the folders
    that leaves empty, then its ``.dist-info`` (bytecode is compiled only after this runs)."""
    root = target.resolve()
    folders = set()
    with open(info / "RECORD", newline="", encoding="utf-8") as record:
        for row in csv.reader(record):
            if not row:
                continue
            path = (target / row[0]).resolve()
            if path.is_relative_to(root) and path != root:  # a RECORD never reaches outside the layer
                path.unlink(missing_ok=True)
                folders.update(p for p in path.parents if p.is_relative_to(root) and p != root)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    shutil.rmtree(info, ignore_errors=True)


def main(report_path: str, target_path: str) -> None:
    target = Path(target_path)
    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    base = {normalise(item["metadata"]["name"]) for item in report["install"]}
    present = installed(target)
    for name in sorted(base & present.keys()):
        drop(present[name], target)
    print(f"left out {len(base & present.keys())} distributions the base layers carry")


if __name__ == "__main__":
    main(*sys.argv[1:])
