"""The chat widget as visitors use it, in headless Chromium against the local stack.

Screenshots of what the tests saw go to a temporary folder, or to docs/ (the README shows one) with
BOTPLOT_UPDATE_SCREENSHOTS=1, so that a test run leaves the working tree as it found it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path

import pytest

from tests.browser.conftest import PAYLOADS
from tests.support.site import page as site_page

SHOTS = (Path(__file__).resolve().parents[2] / "docs" if os.environ.get("BOTPLOT_UPDATE_SCREENSHOTS")
        else Path(tempfile.gettempdir()) / "botplot-widget-screenshots")
SHOTS.mkdir(parents=True, exist_ok=True)
QUESTION = "What is your return policy?"
ANSWER_TOKENS = ["You", " can", " return", " any", " item", " within", " 30", " days", " for", " a", " full",
                 " refund", "."]


def widget(page):
    return page.locator("#botplot-widget")


def open_widget(page):
    w = widget(page)
    w.locator(".launcher").wait_for()
    if w.locator(".panel").is_hidden():  # a reload keeps it open
        w.locator(".launcher").click()
    w.locator(".panel").wait_for(state="visible")
    return w


def ask(w, text: str) -> None:
    w.locator("textarea").fill(text)
    w.locator("textarea").press("Enter")


def last_answer(w):
    return w.locator(".msg.bot:not(.greeting)").last


def wait_answered(w, count: int = 1, timeout: float = 30_000):
    w.locator(".msg.bot:not(.greeting) .actions").nth(count - 1).wait_for(timeout=timeout)


def stored_state(page) -> dict:
    """What the widget keeps in localStorage (visitor, conversation, transcript)."""
    return json.loads(page.evaluate(
        "localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('botplot:')))"))


def csp_violations(page) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return violations


def test_demo_page_chat_streams_cites_rates_takes_a_lead_and_survives_reload(
        context, widget_stack, demo, site, llm, lead_receiver):
    page = context.new_page()
    violations = csp_violations(page)
    response = page.goto(f"{widget_stack.url}/demo")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert demo["publicKey"] in page.locator("pre").inner_text()  # the snippet to copy

    w = open_widget(page)
    assert w.locator(".launcher").get_attribute("aria-expanded") == "true"
    assert w.locator("textarea").evaluate("e => e.getRootNode().activeElement === e")  # focus moved in
    w.locator(".greeting").wait_for()
    with widget_stack.client(demo["publicKey"]) as c:  # the project's own name, as the config route gives it
        name = c.get("/api/v1/chat/config").json()["name"]
    assert w.locator("h2").inner_text() == name
    assert w.get_by_text("Powered by BotPlot").is_visible()

    # tokens arrive one by one: the answer is seen growing while the stream is open
    llm.plans.append({"tokens": ANSWER_TOKENS, "delay": 0.15})
    ask(w, QUESTION)
    answer = last_answer(w)
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not w.locator(".msg.bot:not(.greeting) .actions").count():
        text = answer.locator(".body").inner_text() if answer.count() else ""
        if text and (not seen or text != seen[-1]):
            seen.append(text)
        time.sleep(0.05)
    assert len(seen) >= 3, seen  # partial answers were on screen before the end
    assert all(len(a) < len(b) for a, b in zip(seen, seen[1:]))
    wait_answered(w)
    assert answer.locator(".body").inner_text().strip() == "".join(ANSWER_TOKENS)

    # the citation is a link to the crawled page with the text-fragment jump
    source_link = answer.locator(".sources a").first
    href = source_link.get_attribute("href")
    assert href.startswith(site.url + "/help/returns#:~:text=")
    assert source_link.get_attribute("target") == "_blank" and "noopener" in source_link.get_attribute("rel")
    page.screenshot(path=str(SHOTS / "widget-desktop.png"))
    with context.expect_page() as opened:
        source_link.click()
    cited = opened.value
    cited.wait_for_load_state()
    assert cited.url.startswith(site.url + "/help/returns")
    assert "30 days" in cited.locator("main").inner_text()
    cited.close()

    # rating: the button says it is pressed, and the API stored it
    answer.get_by_role("button", name="Helpful", exact=True).click()
    answer.get_by_text("Thanks for your feedback").wait_for()
    assert answer.get_by_role("button", name="Helpful", exact=True).get_attribute("aria-pressed") == "true"
    conversation_id = stored_state(page)["conversationId"]
    with widget_stack.client(demo["secretKey"]) as c:
        messages = c.get(f"/api/v1/conversations/{conversation_id}").json()["conversation"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["rating"] == 1

    # a lead: in GET /leads, and announced to the webhook receiver
    w.get_by_role("button", name="Leave your contact details").click()
    w.get_by_label("Name").fill("Jane Visitor")
    w.get_by_label("Email").fill("jane.visitor@example.com")
    w.get_by_role("button", name="Send details").click()
    w.get_by_text("We have your details").wait_for()
    with widget_stack.client(demo["secretKey"]) as c:
        leads = c.get("/api/v1/leads", params={"search": "jane.visitor"}).json()["leads"]
    assert [(lead["name"], lead["email"], lead["conversationId"]) for lead in leads] == [
        ("Jane Visitor", "jane.visitor@example.com", conversation_id)]
    lead_receiver.wait_for(lambda r: r.events("lead.captured"))
    event = lead_receiver.events("lead.captured")[0]
    assert event["data"]["email"] == "jane.visitor@example.com" and lead_receiver.received[0]["valid"]

    # reload: the panel, the conversation and the rating are still there, and it goes on
    page.reload()
    w = widget(page)
    w.locator(".panel").wait_for(state="visible")
    assert w.locator(".msg.user").first.inner_text().endswith(QUESTION)
    assert "within 30 days" in last_answer(w).inner_text()
    assert last_answer(w).get_by_role("button", name="Helpful", exact=True).get_attribute("aria-pressed") == "true"
    ask(w, "And how long does shipping take?")
    wait_answered(w, 2)
    with widget_stack.client(demo["secretKey"]) as c:
        messages = c.get(f"/api/v1/conversations/{conversation_id}").json()["conversation"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert violations == []


def test_keyboard_and_screen_reader(context, widget_stack, demo):
    page = context.new_page()
    page.goto(f"{widget_stack.url}/demo")
    w = widget(page)
    launcher = w.locator(".launcher")
    launcher.wait_for()
    assert launcher.get_attribute("aria-label").startswith("Open chat")
    for _ in range(20):  # Tab through the page until the launcher has focus
        page.keyboard.press("Tab")
        if launcher.evaluate("e => e.getRootNode().activeElement === e"):
            break
    else:
        pytest.fail("the launcher cannot be reached with Tab")
    page.keyboard.press("Enter")
    panel = w.get_by_role("dialog")
    panel.wait_for(state="visible")
    assert panel.get_attribute("aria-labelledby") == "bp-title"
    assert w.get_by_role("log").count() == 1
    assert w.get_by_label("Your message").evaluate("e => e.getRootNode().activeElement === e")
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert launcher.evaluate("e => e.getRootNode().activeElement === e")  # focus returns to the launcher
    assert launcher.get_attribute("aria-expanded") == "false"


def test_phone_viewport_fills_the_screen(chromium, widget_stack, demo, llm):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{widget_stack.url}/demo")
        w = open_widget(page)
        box = w.locator(".panel").bounding_box()
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
        assert w.get_by_role("button", name="Close chat").first.is_visible()
        llm.plans.append({"tokens": ANSWER_TOKENS})
        ask(w, QUESTION)
        wait_answered(w)
        textarea = w.locator("textarea").bounding_box()
        assert textarea["y"] + textarea["height"] <= 844 and textarea["width"] > 200
        page.screenshot(path=str(SHOTS / "widget-phone.png"))
    finally:
        context.close()


def test_dark_mode(chromium, widget_stack, demo):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    try:
        page = context.new_page()
        page.goto(f"{widget_stack.url}/demo")
        w = open_widget(page)
        w.locator(".greeting").wait_for()
        background = w.locator(".panel").evaluate("e => getComputedStyle(e).backgroundColor")
        channels = [int(v) for v in re.findall(r"\d+", background)[:3]]
        assert max(channels) < 60, background
        page.screenshot(path=str(SHOTS / "widget-dark.png"))
    finally:
        context.close()


HOSTILE_CSS = """
* { all: unset !important; font-size: 40px !important; color: red !important; background: yellow !important; }
div, section, button, textarea, form { display: none !important; }
#botplot-widget { transform: rotate(20deg) !important; opacity: 0.1 !important; }
button { border: 10px dashed lime !important; }
"""


def snippet(widget_stack, key: str) -> str:
    return f'<script src="{widget_stack.url}/widget.js" data-public-key="{key}" async></script>'


def panel_shots(context, site, path: str, html: str) -> tuple[bytes, bytes]:
    """The panel as shown, and its inside (16 px in from the rounded corners, where the page shows)."""
    site.pages[path] = ("text/html; charset=utf-8", html)
    page = context.new_page()
    page.goto(site.url + path)
    w = open_widget(page)
    w.locator(".greeting").wait_for()
    w.locator("textarea").blur()
    panel = w.locator(".panel")
    box = panel.bounding_box()
    inside = page.screenshot(animations="disabled", clip={"x": box["x"] + 16, "y": box["y"] + 16,
                                                          "width": box["width"] - 32, "height": box["height"] - 32})
    shown = panel.screenshot(animations="disabled")
    page.close()
    return shown, inside


def test_a_hostile_stylesheet_does_not_change_the_widget(context, widget_stack, demo, site):
    """The same widget on a plain page and on a page whose CSS attacks every element: the same pixels."""
    tag = snippet(widget_stack, demo["publicKey"])
    plain, plain_inside = panel_shots(context, site, "/plain.html",
                                      f"<!doctype html><html><body><p>Plain page</p>{tag}</body></html>")
    hostile, hostile_inside = panel_shots(context, site, "/hostile-css.html",
                                          f"<!doctype html><html><head><style>{HOSTILE_CSS}</style></head>"
                                          f"<body><div>Hostile page</div>{tag}</body></html>")
    (SHOTS / "widget-plain-page.png").write_bytes(plain)
    (SHOTS / "widget-hostile-css.png").write_bytes(hostile)
    assert hostile_inside == plain_inside  # pixel for pixel


def test_hostile_content_is_shown_as_text_and_never_runs(context, widget_stack, demo, site, llm):
    """A crawled page made of payloads, quoted back by the model: the visitor sees the text, nothing runs."""
    site.pages["/xss.html"] = ("text/html; charset=utf-8", "<!doctype html><html><body><p>Shop</p>"
                               f"{snippet(widget_stack, demo['publicKey'])}</body></html>")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(site.url + "/xss.html")
    w = open_widget(page)
    llm.plans.append({"tokens": ["Gift cards never expire. ", *PAYLOADS, " [Details](javascript:window.__pwned=5)",
                                 "\n\n```\n<script>window.__pwned=6</script>\n```"]})
    ask(w, "Do gift cards expire?")
    wait_answered(w)
    answer = last_answer(w)
    text = answer.inner_text()
    for payload in PAYLOADS:
        assert payload in text  # shown as the characters it is made of
    assert "Gift cards" in answer.locator(".sources").inner_text()
    assert page.evaluate("window.__pwned") is None and dialogs == []
    assert answer.locator(".body, .sources").locator("img, script, iframe, svg, [onerror], [onload]").count() == 0
    hrefs = answer.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs and all(h.startswith(site.url + "/") for h in hrefs), hrefs
    answer.get_by_text("Details").click()  # a javascript: link is plain text
    answer.get_by_text("click me").click()
    assert answer.locator("pre code").inner_text() == "<script>window.__pwned=6</script>"
    assert page.evaluate("window.__pwned") is None and dialogs == []


def test_errors_are_explained_and_the_visitor_can_retry(context, widget_stack, demo, llm):
    page = context.new_page()
    page.goto(f"{widget_stack.url}/demo")
    page.evaluate("localStorage.clear()")
    page.reload()
    w = open_widget(page)

    # the model fails mid-answer: the partial answer stays, the visitor is told and can try again
    llm.plans.extend([{"tokens": ["Returns", " are", " accepted", " within"], "cut_after": 2}, {"tokens": ANSWER_TOKENS}])
    ask(w, QUESTION)
    alert = w.get_by_role("alert")
    alert.wait_for()
    assert "interrupted by a temporary problem" in alert.inner_text()
    assert "Returns are" in last_answer(w).inner_text()
    alert.get_by_role("button", name="Try again").click()
    wait_answered(w)
    assert alert.is_hidden()
    assert last_answer(w).locator(".body").inner_text().strip() == "".join(ANSWER_TOKENS)

    # the connection drops mid-stream (a proxy cuts it before the final event)
    def cut(route):
        response = route.fetch()
        events = [e for e in response.text().split("\n\n") if e.strip()]
        assert json.loads(events[-1].removeprefix("data: "))["type"] == "done"
        route.fulfill(response=response, body="\n\n".join(events[:-1]) + "\n\n")

    page.route("**/api/v1/chat/stream", cut)
    llm.plans.append({"tokens": ANSWER_TOKENS})
    ask(w, "Can I return opened items?")
    alert.wait_for()
    assert "connection was lost" in alert.inner_text()
    page.unroute("**/api/v1/chat/stream")


def test_quota_exhausted_is_explained_with_a_way_to_leave_details(context, widget_stack, site):
    project = widget_stack.new_project("pro", "Small shop")  # 2 calls a month on this stack
    with widget_stack.client(project["publicKey"]) as c:
        while c.post("/api/v1/chat", json={"message": "hi"}).status_code != 429:
            pass
    site.pages["/small-shop.html"] = ("text/html; charset=utf-8",
                                      f"<!doctype html><body>{snippet(widget_stack, project['publicKey'])}</body>")
    page = context.new_page()
    page.goto(site.url + "/small-shop.html")
    w = open_widget(page)
    ask(w, QUESTION)
    alert = w.get_by_role("alert")
    alert.wait_for()
    assert "answered all the questions it can" in alert.inner_text()
    alert.get_by_role("button", name="Leave details").click()
    assert w.get_by_label("Email").is_visible()


def test_handoff_asks_for_a_person(context, widget_stack, demo, llm):
    page = context.new_page()
    page.goto(f"{widget_stack.url}/demo")
    page.evaluate("localStorage.clear()")
    page.reload()
    w = open_widget(page)
    w.get_by_role("button", name="Talk to a person").click()
    assert "Ask your question first" in w.get_by_role("alert").inner_text()
    llm.plans.append({"tokens": ANSWER_TOKENS})
    ask(w, "I need help with a damaged parcel")
    wait_answered(w)
    w.get_by_role("button", name="Talk to a person").click()
    w.get_by_text("A person will take over").wait_for()
    conversation_id = stored_state(page)["conversationId"]
    with widget_stack.client(demo["secretKey"]) as c:
        conversation = c.get(f"/api/v1/conversations/{conversation_id}").json()["conversation"]
    assert conversation["status"] == "handed_off"
    assert w.get_by_label("Email").is_visible()  # the lead form opens so the person can reach them


def identity_page(widget_stack, site, path: str, key: str, visitor_id: str, visitor_hash: str) -> str:
    """A customer's page that vouches for its signed-in visitor (its server computed the hash)."""
    site.pages[path] = ("text/html; charset=utf-8", "<!doctype html><body><h1>My account</h1>"
                        f'<script src="{widget_stack.url}/widget.js" data-public-key="{key}" '
                        f'data-visitor-id="{visitor_id}" data-visitor-hash="{visitor_hash}" async></script></body>')
    return site.url + path


@pytest.fixture(scope="module")
def verified(widget_stack):
    """A project that requires verified visitors, with a Q&A pair to answer from; its keys and secret."""
    project = widget_stack.new_project("enterprise", "Members only")
    base = f"/api/v1/projects/{project['projectId']}"
    with widget_stack.client(project["secretKey"]) as c:
        assert c.post("/api/v1/knowledge/qa", json={"question": QUESTION, "answer": "Within 30 days."}
                      ).status_code == 200
        secret = c.post(f"{base}/identity-secret").json()["identity_secret"]
        assert c.patch(f"{base}/settings", json={"require_identity": True}).json()["require_identity"] is True
    # the setting reaches the chat path through the key cache (15 s): wait until an unverified call is
    # refused (a rating of no conversation: refused 401 once in force, 404 before, never written)
    deadline = time.monotonic() + 30
    with widget_stack.client(project["publicKey"]) as c:
        while (r := c.post("/api/v1/chat/rating", json={"conversationId": "none", "rating": 1})).status_code != 401:
            assert r.status_code == 404 and time.monotonic() < deadline, r.text
            time.sleep(0.5)
    return {**project, "identitySecret": secret}


def visitor_hash(secret: str, visitor_id: str) -> str:
    import hashlib
    import hmac

    return hmac.new(secret.encode(), visitor_id.encode(), hashlib.sha256).hexdigest()


def test_a_verified_visitor_chats_and_keeps_the_conversation_across_a_reload(context, widget_stack, site, llm,
                                                                             verified):
    url = identity_page(widget_stack, site, "/account.html", verified["publicKey"], "member-42",
                        visitor_hash(verified["identitySecret"], "member-42"))
    page = context.new_page()
    page.goto(url)
    w = open_widget(page)
    llm.plans.append({"tokens": ANSWER_TOKENS})
    ask(w, QUESTION)
    wait_answered(w)
    assert "30 days" in last_answer(w).inner_text()
    state = stored_state(page)
    assert state["visitorId"] == "member-42" and state["conversationId"]

    page.reload()
    w = open_widget(page)
    assert w.locator(".msg.user").first.inner_text().endswith(QUESTION)  # the transcript is back
    llm.plans.append({"tokens": [" Yes", "."]})
    ask(w, "Does that include sale items?")
    wait_answered(w, 2)
    assert stored_state(page)["conversationId"] == state["conversationId"]
    with widget_stack.client(verified["secretKey"]) as c:
        conversation = c.get(f"/api/v1/conversations/{state['conversationId']}").json()["conversation"]
        exported = c.get("/api/v1/visitors/member-42/export").json()
    assert conversation["visitorId"] == "member-42"
    assert [m["content"] for m in conversation["messages"] if m["role"] == "user"] == \
        [QUESTION, "Does that include sale items?"]  # one conversation, continued after the reload
    assert [c["id"] for c in exported["conversations"]] == [state["conversationId"]]


def test_a_wrong_visitor_hash_is_explained_and_writes_nothing(context, widget_stack, site, verified):
    wrong = visitor_hash(verified["identitySecret"], "someone-else")  # a hash, but of another visitor
    url = identity_page(widget_stack, site, "/forged.html", verified["publicKey"], "member-7", wrong)
    page = context.new_page()
    page.goto(url)
    w = open_widget(page)
    with widget_stack.client(verified["secretKey"]) as c:
        before = c.get("/api/v1/conversations").json()["total"]
    ask(w, QUESTION)
    alert = w.get_by_role("alert")
    alert.wait_for()
    assert "could not confirm who you are" in alert.inner_text()
    assert alert.get_by_role("button", name="Try again").count() == 0  # retrying cannot help
    assert not stored_state(page).get("conversationId")
    with widget_stack.client(verified["secretKey"]) as c:
        assert c.get("/api/v1/conversations").json()["total"] == before
        exported = c.get("/api/v1/visitors/member-7/export")  # no conversation, message, lead or visit
    assert exported.status_code == 404 and exported.json()["code"] == "VISITOR_NOT_FOUND"
