"""Cursor pagination beside offset, through the public API of the local stack: ``cursor`` in,
``nextCursor`` out (null on the last page), signed and scoped to the project, the list and its filters."""

from __future__ import annotations

import pytest

from tests.support.site import shop_site
from tests.support.waiting import wait_until_processed


@pytest.fixture(scope="module")
def filled(stack):
    """A project with 7 conversations (3 of them handed off), 5 leads and 3 Q&A sources."""
    owner = stack.new_project("enterprise", "Cursors")
    with stack.client(owner["publicKey"]) as bot, stack.client(owner["secretKey"]) as admin:
        conversations = [bot.post("/api/v1/chat", json={"message": f"Question {i}", "visitorId": f"v{i}"}).json()
                         for i in range(7)]
        for c in conversations[:3]:
            assert bot.post("/api/v1/chat/handoff", json={"conversationId": c["conversationId"]}).status_code == 200
        for i in range(5):
            name = "Ada" if i % 2 else "Grace"
            assert bot.post("/api/v1/chat/lead", json={"name": f"{name} {i}", "email": f"l{i}@example.com"}
                            ).status_code == 200
        for i in range(3):
            assert admin.post("/api/v1/knowledge/qa", json={"question": f"Q{i}?", "answer": f"A{i}."}
                              ).status_code == 200
    return owner


def walk(client, path: str, key: str, **params) -> tuple[list, list]:
    """Every page of a list by cursor: the items, and each page's answer."""
    items, pages, cursor = [], [], None
    for _ in range(50):
        r = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        pages.append(r.json())
        items.extend(pages[-1][key])
        cursor = pages[-1]["nextCursor"]
        if cursor is None:
            return items, pages
    raise AssertionError("the cursor never ended")


@pytest.mark.parametrize("path, key, params", [
    ("/api/v1/conversations", "conversations", {}),
    ("/api/v1/conversations", "conversations", {"status": "handed_off"}),
    ("/api/v1/leads", "leads", {}),
    ("/api/v1/leads", "leads", {"search": "ada"}),
])
def test_cursor_pages_are_the_offset_pages(stack, filled, path, key, params):
    with stack.client(filled["secretKey"]) as c:
        everything = c.get(path, params={**params, "limit": 100}).json()
        assert everything["nextCursor"] is None
        items, pages = walk(c, path, key, limit=2, **params)
    assert [i["id"] for i in items] == [i["id"] for i in everything[key]]  # same order, nothing twice or lost
    assert all(page["total"] == everything["total"] == len(items) for page in pages)  # total stays exact
    assert [len(p[key]) for p in pages] == [2] * (len(items) // 2) + ([len(items) % 2] if len(items) % 2 else [])


def test_an_offset_page_also_gives_the_cursor_of_the_next(stack, filled):
    with stack.client(filled["secretKey"]) as c:
        first = c.get("/api/v1/conversations", params={"limit": 3, "offset": 2}).json()
        after = c.get("/api/v1/conversations", params={"limit": 3, "cursor": first["nextCursor"]}).json()
        expected = c.get("/api/v1/conversations", params={"limit": 3, "offset": 5}).json()
    assert [x["id"] for x in after["conversations"]] == [x["id"] for x in expected["conversations"]]


@pytest.mark.parametrize("path, key", [("/api/v1/knowledge", "sources"), ("/projects/{p}/webhooks", "webhooks")])
def test_lists_without_pagination_page_when_asked(stack, filled, path, key):
    path = path.replace("/projects/{p}", f"/api/v1/projects/{filled['projectId']}")
    with stack.client(filled["secretKey"]) as c:
        if key == "webhooks":
            for i in range(3):
                assert c.post(path, json={"url": f"http://127.0.0.1:9/h{i}", "events": ["lead.captured"]}
                              ).status_code == 200
        everything = c.get(path).json()  # as the reference lists it: all of them
        assert everything["nextCursor"] is None and len(everything[key]) == 3
        items, pages = walk(c, path, key, limit=2)
    assert [i["id"] if "id" in i else i["sourceId"] for i in items] == \
        [i["id"] if "id" in i else i["sourceId"] for i in everything[key]]
    assert len(pages) == 2


def test_a_cursor_only_works_where_it_was_given(stack, filled, project):
    with stack.client(filled["secretKey"]) as mine, stack.client(project["secretKey"]) as other:
        cursor = mine.get("/api/v1/conversations", params={"limit": 1}).json()["nextCursor"]
        handed = mine.get("/api/v1/conversations", params={"limit": 1, "status": "handed_off"}).json()["nextCursor"]
        refused = [
            other.get("/api/v1/conversations", params={"cursor": cursor}),  # another project
            mine.get("/api/v1/conversations", params={"cursor": cursor, "status": "active"}),  # other filters
            mine.get("/api/v1/conversations", params={"cursor": handed}),  # filters dropped
            mine.get("/api/v1/leads", params={"cursor": cursor}),  # another list
            mine.get("/api/v1/conversations", params={"cursor": cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")}),
            mine.get("/api/v1/conversations", params={"cursor": "bm90LWEtY3Vyc29y"}),
        ]
        assert mine.get("/api/v1/conversations", params={"cursor": handed, "status": "handed_off"}).status_code == 200
    for r in refused:
        assert r.status_code == 400 and r.json()["code"] == "INVALID_CURSOR", r.text


def test_offset_and_cursor_together_are_400(stack, filled):
    with stack.client(filled["secretKey"]) as c:
        cursor = c.get("/api/v1/leads", params={"limit": 1}).json()["nextCursor"]
        r = c.get("/api/v1/leads", params={"cursor": cursor, "offset": 0})
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR" and "offset" in r.json()["error"]


def test_the_reference_answer_keeps_its_fields(stack, filled):
    with stack.client(filled["secretKey"]) as c:
        body = c.get("/api/v1/conversations", params={"limit": 20, "offset": 0}).json()
    assert set(body) == {"conversations", "total", "nextCursor"} and body["total"] == 7


@pytest.fixture(scope="module")
def crawled(stack):
    """A project whose one URL source (the test site, crawled) holds several chunks, and a Q&A source."""
    owner = stack.new_project("enterprise", "Chunk cursors")
    with shop_site() as site, stack.client(owner["secretKey"]) as c:
        source_id = c.post("/api/v1/knowledge/url", json={"url": site.url + "/"}).json()["sourceId"]
        assert wait_until_processed(c, source_id)["source"]["status"] == "ready"
        qa_id = c.post("/api/v1/knowledge/qa", json={"question": "Q?", "answer": "A."}).json()["sourceId"]
    return {**owner, "sourceId": source_id, "qaId": qa_id}


def test_a_sources_chunks_page_by_cursor(stack, crawled):
    path = f"/api/v1/knowledge/{crawled['sourceId']}"
    with stack.client(crawled["secretKey"]) as c:
        everything = c.get(path).json()
        assert everything["nextCursor"] is None and len(everything["chunks"]) >= 4
        items, pages = walk(c, path, "chunks", limit=1)
        deep = c.get(path, params={"limit": 1, "offset": 1}).json()
        after_offset = c.get(path, params={"limit": 2, "cursor": deep["nextCursor"]}).json()
    assert [ch["id"] for ch in items] == [ch["id"] for ch in everything["chunks"]]  # same order, none twice or lost
    assert [len(p["chunks"]) for p in pages] == [1] * len(items)
    # the total stays exact on every page: the source's chunk count
    assert all(p["source"]["chunkCount"] == len(items) for p in pages)
    assert [ch["id"] for ch in after_offset["chunks"]] == [ch["id"] for ch in everything["chunks"][2:4]]


def test_a_chunk_cursor_only_works_for_its_source(stack, crawled, filled):
    path = f"/api/v1/knowledge/{crawled['sourceId']}"
    with stack.client(crawled["secretKey"]) as c, stack.client(filled["secretKey"]) as other:
        cursor = c.get(path, params={"limit": 1}).json()["nextCursor"]
        foreign = other.get("/api/v1/conversations", params={"limit": 1}).json()["nextCursor"]
        refused = [
            c.get(f"/api/v1/knowledge/{crawled['qaId']}", params={"cursor": cursor}),  # another source
            c.get("/api/v1/conversations", params={"cursor": cursor}),  # another list
            c.get(path, params={"cursor": foreign}),  # another project's list
            c.get(path, params={"cursor": cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")}),  # altered
        ]
        both = c.get(path, params={"cursor": cursor, "offset": 1})
        # another project cannot see the source at all
        assert other.get(path, params={"cursor": cursor}).status_code == 404
    for r in refused:
        assert r.status_code == 400 and r.json()["code"] == "INVALID_CURSOR", r.text
    assert both.status_code == 400 and both.json()["code"] == "VALIDATION_ERROR"
