"""A small thread-safe cache with expiry, for lookups that every request repeats."""

from __future__ import annotations

import threading
import time
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    # max_items bounds a warm function's memory; one more or less is an equivalent mutant
    def __init__(self, ttl_seconds: Callable[[], float], max_items: int = 10_000):  # pragma: no mutate (see above)
        self._ttl = ttl_seconds
        self._max = max_items
        self._items: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get_or_load(self, key: Hashable, load: Callable[[], V | None]) -> V | None:
        """The cached value, or ``load()``'s when absent or stale. ``None`` is never cached."""
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit and hit[0] > now:
                return hit[1]
        value = load()
        if value is not None:
            with self._lock:
                if len(self._items) >= self._max:
                    self._items.clear()
                self._items[key] = (now + self._ttl(), value)
        return value
