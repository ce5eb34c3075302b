"""The Python client (clients/python) against the local stack, synchronous and asynchronous; its
generated parts are what generate.py writes, and it has a method for every operation of openapi.yaml."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from botplot_client import (AsyncBotPlot, AuthenticationError, BotPlot, BotPlotError, ConnectionError, NotFoundError,
                            OPERATIONS, PermissionDeniedError, RateLimitError, ValidationError)
from tests.support.site import Site, store_site

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "python"


def until(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_generated_models_and_sync_client_are_current(tmp_path):
    """models.py comes from openapi.yaml, _sync/client.py from _async/client.py: after changing either
    source, `make clients` rewrites them."""
    subprocess.run([sys.executable, str(CLIENT / "generate.py"), str(tmp_path)], check=True, timeout=120)
    for name in ("models.py", "_sync/client.py"):
        assert (tmp_path / name).read_text() == (CLIENT / "botplot_client" / name).read_text(), \
            f"botplot_client/{name} is not what generate.py writes: run `make clients`"


def test_every_operation_of_openapi_has_a_method_sync_and_async():
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    assert set(OPERATIONS) == {f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops}
    for client in (BotPlot(api_key="pk_x", base_url="http://127.0.0.1:9"),
                   AsyncBotPlot(api_key="pk_x", base_url="http://127.0.0.1:9")):
        for method in OPERATIONS.values():
            group, name = method.split(".")
            assert callable(getattr(getattr(client, group), name)), method


def test_chat_streams_and_widget_routes(stack, project):
    with BotPlot(api_key=project["secretKey"], base_url=stack.url) as owner, \
            BotPlot(api_key=project["publicKey"], base_url=stack.url) as bot:
        qa = owner.knowledge.add_qa("What are your opening hours?", "We are open Monday to Friday, 9am to 5pm.")
        answer = bot.chat.send("What are your opening hours?", visitor_id="py-visitor")
        assert "Monday to Friday" in answer["response"] and answer["citations"][0]["sourceId"] == qa["sourceId"]
        assert bot.rate_limit["limit"] > 0 and bot.rate_limit["reset"] > time.time()

        events = list(bot.chat.stream("When are you open?", conversation_id=answer["conversationId"]))
        *tokens, done = events
        assert tokens and all(e["type"] == "token" for e in tokens)
        assert "9am to 5pm" in "".join(e["content"] for e in tokens)
        assert done["type"] == "done" and done["conversationId"] == answer["conversationId"]

        assert bot.chat.rate(done["conversationId"], 1, message_id=done["messageId"])["rating"] == 1
        lead = bot.chat.lead(conversation_id=done["conversationId"], name="Grace", email="grace@example.com")
        assert bot.chat.handoff(done["conversationId"], reason="a person please")["status"] == "handed_off"
        assert bot.chat.config()["name"] == "Shared test project"

        messages = owner.conversations.get(done["conversationId"])["conversation"]["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
        assert [x["id"] for x in owner.leads.iter(search="grace@example.com", page_size=1)] == [lead["leadId"]]
        owner.leads.delete(lead["leadId"])
        owner.knowledge.delete(qa["sourceId"])


def test_errors_carry_status_and_code(stack, project):
    small = stack.new_project("pro", "Python client quota")  # 5 calls a month on the shared stack
    with BotPlot(api_key="pk_" + "x" * 40, base_url=stack.url) as stranger, \
            BotPlot(api_key=project["publicKey"], base_url=stack.url) as bot, \
            BotPlot(api_key=small["publicKey"], base_url=stack.url) as limited:
        with pytest.raises(AuthenticationError) as error:
            stranger.chat.send("hi")
        assert (error.value.status, error.value.code) == (401, "INVALID_API_KEY")
        with pytest.raises(PermissionDeniedError) as error:
            bot.leads.list()
        assert (error.value.status, error.value.code) == (403, "SECRET_KEY_REQUIRED")
        with pytest.raises(ValidationError) as error:
            bot.chat.send("")
        assert (error.value.status, error.value.code) == (400, "VALIDATION_ERROR")
        with pytest.raises(NotFoundError) as error:
            bot.chat.handoff("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
        assert error.value.code == "CONVERSATION_NOT_FOUND"

        def refused():
            try:
                limited.chat.send("hi")
            except RateLimitError as e:
                return e

        limit = until(refused, "a 429")
        assert (limit.status, limit.code) == (429, "RATE_LIMIT_EXCEEDED") and limit.retry_after > 0
        with pytest.raises(RateLimitError):
            next(limited.chat.stream("hi"))
    with BotPlot(api_key="pk_x", base_url="http://127.0.0.1:9") as nowhere:
        with pytest.raises(ConnectionError) as error:
            nowhere.chat.send("hi")
        assert isinstance(error.value, BotPlotError) and (error.value.status, error.value.code) == (0, "NETWORK_ERROR")


def test_knowledge_add_url_crawls_and_chunks_page_through(stack):
    owner_project = stack.new_project("enterprise", "Python knowledge")
    with Site(store_site()) as site, BotPlot(api_key=owner_project["secretKey"], base_url=stack.url) as owner:
        created = owner.knowledge.add_url(site.url + "/", sync_frequency="weekly")
        source = until(lambda: (s := owner.knowledge.get(created["sourceId"])["source"])["status"] == "ready" and s,
                       "the crawl")
        assert source["syncFrequency"] == "weekly" and source["chunkCount"] >= 3
        ids = [chunk["id"] for chunk in owner.knowledge.chunks(created["sourceId"], page_size=2)]
        assert len(ids) == len(set(ids)) == source["chunkCount"]
        assert ids == [chunk["id"] for chunk in owner.knowledge.get(created["sourceId"])["chunks"]]  # in order
        first = owner.knowledge.get(created["sourceId"], limit=2)
        after = owner.knowledge.get(created["sourceId"], limit=2, cursor=first["nextCursor"])
        assert [chunk["id"] for chunk in after["chunks"]] == ids[2:4]
        assert [s["id"] for s in owner.knowledge.list()["sources"]] == [created["sourceId"]]


def test_async_client_streams_pages_and_raises_the_same_errors(stack):
    owner_project = stack.new_project("enterprise", "Python async")

    async def scenario():
        async with AsyncBotPlot(api_key=owner_project["secretKey"], base_url=stack.url) as owner, \
                AsyncBotPlot(api_key=owner_project["publicKey"], base_url=stack.url) as bot:
            await owner.knowledge.add_qa("Do you ship abroad?", "Yes, we ship to 40 countries.")
            conversation_ids = []
            for n in range(3):
                events = [e async for e in bot.chat.stream("Do you ship abroad?", visitor_id=f"async-{n}")]
                assert events[-1]["type"] == "done"
                assert "40 countries" in "".join(e["content"] for e in events if e["type"] == "token")
                conversation_ids.append(events[-1]["conversationId"])
            listed = [c["id"] async for c in owner.conversations.iter(page_size=2)]
            assert sorted(listed) == sorted(conversation_ids)
            with pytest.raises(PermissionDeniedError):
                await bot.analytics.get(period="7d")
            assert (await owner.analytics.get(period="7d"))["overview"]["totalConversations"] == 3
            hook = (await owner.webhooks.create(owner_project["projectId"], "http://127.0.0.1:9/hook",
                                                ["lead.captured"], description="CRM"))["webhook"]
            assert hook["secret"].startswith("whsec_")
            assert (await owner.webhooks.update(owner_project["projectId"], hook["id"], is_active=False)
                    )["webhook"]["is_active"] is False
            assert (await owner.webhooks.delete(owner_project["projectId"], hook["id"]))
            with pytest.raises(NotFoundError):
                await owner.webhooks.deliveries(owner_project["projectId"], hook["id"])
            branding = await owner.projects.update_branding(owner_project["projectId"], white_label=True)
            assert branding["white_label"] is True and (await bot.chat.config())["showBranding"] is False

    asyncio.run(scenario())


def test_an_idempotency_key_makes_a_retry_a_replay(stack, project):
    key = f"py-{time.time_ns()}"
    with BotPlot(api_key=project["publicKey"], base_url=stack.url) as bot:
        first = bot.chat.lead(email="py-idem@example.com", idempotency_key=key)
        assert bot.replayed is False
        assert bot.chat.lead(email="py-idem@example.com", idempotency_key=key) == first
        assert bot.replayed is True
        with pytest.raises(BotPlotError) as reused:
            bot.chat.lead(email="py-other@example.com", idempotency_key=key)
        assert (reused.value.status, reused.value.code) == (409, "IDEMPOTENCY_KEY_REUSED")

    async def streamed() -> tuple[list, list, bool]:
        async with AsyncBotPlot(api_key=project["publicKey"], base_url=stack.url) as bot:
            one = [e async for e in bot.chat.stream("Hello", idempotency_key=key)]
            two = [e async for e in bot.chat.stream("Hello", idempotency_key=key)]
            return one, two, bot.replayed

    one, two, replayed = asyncio.run(streamed())
    assert one == two and one[-1]["type"] == "done" and replayed


def test_lists_page_with_cursors(stack):
    owner_keys = stack.new_project("enterprise", "Python client cursors")
    with BotPlot(api_key=owner_keys["publicKey"], base_url=stack.url) as bot, \
            BotPlot(api_key=owner_keys["secretKey"], base_url=stack.url) as owner:
        for i in range(3):
            bot.chat.lead(email=f"cursor{i}@example.com")
        first = owner.leads.list(limit=2)
        second = owner.leads.list(limit=2, cursor=first["nextCursor"])
        assert second["nextCursor"] is None and first["total"] == second["total"] == 3
        walked = [lead["id"] for lead in owner.leads.iter(page_size=1)]
        assert walked == [lead["id"] for lead in first["leads"] + second["leads"]]
        with pytest.raises(ValidationError) as invalid:
            owner.conversations.list(cursor=first["nextCursor"])
        assert invalid.value.code == "INVALID_CURSOR"


def test_every_cursor_list_walks_sync_and_async(stack):
    """Sources, webhooks and a webhook's deliveries: ``iter`` walks them a page at a time by cursor,
    the same items in the same order as the whole list."""
    keys = stack.new_project("enterprise", "Python client walks")
    project_id = keys["projectId"]
    with BotPlot(api_key=keys["secretKey"], base_url=stack.url) as owner:
        for i in range(3):
            owner.knowledge.add_qa(f"Question {i}?", f"Answer {i}.")
            owner.webhooks.create(project_id, f"http://127.0.0.1:9/walk{i}", ["lead.captured"])
        hook = owner.webhooks.list(project_id)["webhooks"][0]["id"]
        for _ in range(3):
            owner.webhooks.test(project_id, hook)  # nothing listens there: each attempt is a failed delivery
        sources = [s["id"] for s in owner.knowledge.list()["sources"]]
        webhooks = [w["id"] for w in owner.webhooks.list(project_id)["webhooks"]]
        deliveries = [d["deliveryId"] for d in owner.webhooks.deliveries(project_id, hook, limit=100)["deliveries"]]
        assert len(sources) == len(webhooks) == len(deliveries) == 3
        assert owner.knowledge.list(limit=2)["nextCursor"] and owner.webhooks.list(project_id, limit=2)["nextCursor"]
        assert [s["id"] for s in owner.knowledge.iter(page_size=2)] == sources
        assert [w["id"] for w in owner.webhooks.iter(project_id, page_size=2)] == webhooks
        assert [d["deliveryId"] for d in owner.webhooks.iter_deliveries(project_id, hook, page_size=2)] == deliveries

    async def walked() -> tuple[list, list, list]:
        async with AsyncBotPlot(api_key=keys["secretKey"], base_url=stack.url) as owner:
            return ([s["id"] async for s in owner.knowledge.iter(page_size=1)],
                    [w["id"] async for w in owner.webhooks.iter(project_id, page_size=1)],
                    [d["deliveryId"] async for d in owner.webhooks.iter_deliveries(project_id, hook, page_size=1)])

    assert asyncio.run(walked()) == (sources, webhooks, deliveries)
