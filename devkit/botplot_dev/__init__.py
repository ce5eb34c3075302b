"""Developer tooling: the local stack, the ``botplot`` CLI and template helpers (never deployed)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
