"""The monthly counter under real concurrency: 200 threads against moto's server, limit 100."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from botplot import ids
from botplot.errors import ApiError


def test_exactly_the_limit_succeeds_under_concurrency(moto_endpoint, monkeypatch):
    monkeypatch.setenv("BOTPLOT_PLAN_LIMITS", '{"pro": 100}')
    from botplot.config import reload_settings
    from botplot.services import quota

    reload_settings()
    project_id = ids.uuid7()

    def call(_):
        try:
            return quota.consume(project_id, "pro").remaining
        except ApiError as error:
            assert error.status == 429 and error.headers["X-RateLimit-Remaining"] == "0"
            return None

    with ThreadPoolExecutor(max_workers=200) as pool:
        results = list(pool.map(call, range(200)))
    succeeded = [r for r in results if r is not None]
    assert len(succeeded) == 100
    assert sorted(succeeded) == list(range(100))  # every remaining count seen exactly once
    monkeypatch.delenv("BOTPLOT_PLAN_LIMITS")
    reload_settings()
