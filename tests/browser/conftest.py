"""Headless Chromium (Debian's ``chromium``, driven by Playwright; no browser download) against a
local stack whose answers come from the fake OpenAI server, so a test can pace the tokens or cut
the model off mid-answer. The demo project is trained on the test shop's help site.

Without Chromium or Playwright a newcomer's run skips these tests with a line saying how to get
them; in CI (``CI=true``, where .ci/run installs Chromium) their absence fails the run.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support.fake_openai import FakeOpenAI
from tests.support.waiting import wait_until_processed
from tests.support.receivers import PythonReceiver
from tests.support.site import page, shop_site, store_site
from tests.support.stack import LocalStack

CHROMIUM = os.environ.get("BOTPLOT_CHROMIUM", "/usr/bin/chromium")
PAYLOADS = ('<img src=x onerror="window.__pwned=1">', "<script>window.__pwned=2</script>",
            '<a href="javascript:window.__pwned=3">click me</a>', '<svg onload="window.__pwned=4"></svg>')


def _missing() -> str | None:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (make .venv/.dev-installed)"
    return None


@pytest.fixture(scope="module")
def chromium():
    """Module-scoped on purpose: Playwright's sync API keeps an event loop running in the main thread
    until it stops, and later tests (asyncio.run, Mangum) need none running."""
    problem = _missing()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need {problem}")
        pytest.skip(f"browser tests skipped: {problem}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def llm():
    fake = FakeOpenAI()
    yield fake
    fake.close()


def hostile_site_pages() -> dict[str, tuple[str, str]]:
    """The shop's help site plus a page whose title and text are script-injection payloads."""
    pages = store_site()
    pages["/help/gift-cards"] = ("text/html; charset=utf-8", page(
        "Gift cards " + PAYLOADS[0],
        "<h1>Gift cards</h1><p>Gift cards never expire and can be used on any order. "
        + " ".join(p.replace("<", "&lt;") for p in PAYLOADS) + "</p>",
        ["/", "/help/returns"]))
    pages["/"] = (pages["/"][0], pages["/"][1].replace('<a href="/help/internal">',
                                                       '<a href="/help/gift-cards">/help/gift-cards</a> <a href="/help/internal">'))
    return pages


@pytest.fixture(scope="module")
def widget_stack(tmp_path_factory, llm, chromium):
    s = LocalStack(tmp_path_factory.mktemp("widget-stack") / ".botplot", {
        "OPENAI_API_KEY": "sk-test-not-a-real-key", "OPENAI_BASE_URL": llm.base_url,
        "BOTPLOT_LLM_TIMEOUT_SECONDS": "5", "BOTPLOT_PLAN_LIMITS": '{"pro": 2}'}).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def site():
    with shop_site(hostile_site_pages()) as s:
        yield s


@pytest.fixture(scope="module")
def demo(widget_stack, site):
    """The stack's demo project (the one /demo shows), trained on the site by crawling it.

    The seeded knowledge (Q&A pairs, the bundled help site) is removed first through the API, so
    every answer the tests see comes from the site they crawled.
    """
    info = widget_stack.info
    with widget_stack.client(info["secretKey"]) as c:
        for source in c.get("/api/v1/knowledge").json()["sources"]:
            assert c.delete(f"/api/v1/knowledge/{source['id']}").status_code == 200
        source_id = c.post("/api/v1/knowledge/url", json={"url": site.url + "/"}).json()["sourceId"]
        source = wait_until_processed(c, source_id, timeout=90)["source"]
        assert source["status"] == "ready", source
    return info


@pytest.fixture(scope="module")
def lead_receiver(widget_stack, demo):
    receiver = PythonReceiver().start()
    with widget_stack.client(demo["secretKey"]) as c:
        r = c.post(f"/api/v1/projects/{demo['projectId']}/webhooks",
                   json={"url": receiver.url, "events": ["lead.captured"]})
        assert r.status_code == 200, r.text
        receiver.secret = r.json()["webhook"]["secret"]
    yield receiver
    receiver.stop()


@pytest.fixture
def context(chromium):
    ctx = chromium.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    yield ctx
    ctx.close()
