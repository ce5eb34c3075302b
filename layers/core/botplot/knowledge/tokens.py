"""Token counts with OpenAI's ``cl100k_base`` encoding, loaded offline from the package.

Used for chunk sizes (``tokenCount``) and prompt budgets; the encoding file ships in ``data/``.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

_DATA = Path(__file__).parent / "data" / "tiktoken"
_lock = threading.Lock()


def encoding():
    with _lock:  # one load, however many threads ask first
        return _encoding()


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(_DATA)
    try:
        return tiktoken.get_encoding("cl100k_base")
    finally:
        if previous is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous


def count(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def truncate(text: str, max_tokens: int) -> str:
    ids = encoding().encode(text, disallowed_special=())
    if len(ids) <= max_tokens:
        return text
    return encoding().decode(ids[:max_tokens])
