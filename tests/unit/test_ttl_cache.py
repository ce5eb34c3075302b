"""The key and plan cache (README "Keys": lookups cached for BOTPLOT_KEY_CACHE_SECONDS, so a rotated key
or a plan change takes effect within that time; unknown keys are never cached)."""

from __future__ import annotations

import pytest

from botplot.services import ttl_cache
from botplot.services.ttl_cache import TTLCache


class Clock:
    """time.monotonic for the cache, moved by hand."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(ttl_cache, "time", fake)
    return fake


class Loader:
    def __init__(self, *values):
        self.values, self.calls = list(values), 0

    def __call__(self):
        self.calls += 1
        return self.values.pop(0)


def test_a_value_is_reused_until_its_time_is_up_then_loaded_again(clock):
    cache = TTLCache(lambda: 15)
    load = Loader("plan pro", "plan business")
    assert cache.get_or_load("k", load) == "plan pro"
    clock.now += 14.9
    assert cache.get_or_load("k", load) == "plan pro" and load.calls == 1
    clock.now += 0.1  # 15 s after the lookup: a plan change shows now
    assert cache.get_or_load("k", load) == "plan business" and load.calls == 2


def test_the_time_is_read_from_settings_at_each_store(clock):
    seconds = [15.0]
    cache = TTLCache(lambda: seconds[0])
    load = Loader("a", "b", "c")
    assert cache.get_or_load("k", load) == "a"
    seconds[0] = 1.0  # BOTPLOT_KEY_CACHE_SECONDS changed (settings reloaded): the next entry uses it
    clock.now += 15
    assert cache.get_or_load("k", load) == "b"
    clock.now += 1
    assert cache.get_or_load("k", load) == "c"


def test_an_unknown_key_is_never_cached(clock):
    cache = TTLCache(lambda: 15)
    load = Loader(None, "now it exists")
    assert cache.get_or_load("k", load) is None
    assert cache.get_or_load("k", load) == "now it exists" and load.calls == 2


def test_keys_are_cached_separately(clock):
    cache = TTLCache(lambda: 15)
    assert cache.get_or_load("a", Loader("project a")) == "project a"
    assert cache.get_or_load("b", Loader("project b")) == "project b"
    assert cache.get_or_load("a", Loader("not loaded")) == "project a"


def test_a_full_cache_starts_again_rather_than_grow(clock):
    cache = TTLCache(lambda: 15, max_items=2)
    cache.get_or_load("a", Loader("A"))
    cache.get_or_load("b", Loader("B"))
    assert cache.get_or_load("a", Loader("not loaded")) == "A"  # two entries fit
    cache.get_or_load("c", Loader("C"))  # a third empties the cache first
    assert cache.get_or_load("a", Loader("A again")) == "A again"
    assert cache.get_or_load("c", Loader("not loaded")) == "C"
