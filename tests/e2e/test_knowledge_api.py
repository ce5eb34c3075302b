"""The knowledge routes over HTTP against the local stack, crawling a site the test serves."""

from __future__ import annotations

import sqlite3

import pytest

from tests.support.waiting import wait_until_processed
from tests.support.site import page


def test_a_site_is_crawled_indexed_recrawled_and_deleted(stack, site):
    p = stack.new_project("enterprise", "Knowledge owner")
    with stack.client(p["secretKey"]) as c:
        r = c.post("/api/v1/knowledge/url", json={"url": site.url + "/", "syncFrequency": "daily"})
        assert r.status_code == 200 and r.json()["status"] == "processing"
        source_id = r.json()["sourceId"]

        body = wait_until_processed(c, source_id)
        source, chunks, report = body["source"], body["chunks"], body["crawlReport"]
        assert source["status"] == "ready" and source["syncFrequency"] == "daily"
        assert source["chunkCount"] == len(chunks) >= 4 and source["wordCount"] > 50
        assert all(set(ch) >= {"id", "content", "tokenCount"} and ch["tokenCount"] > 0 for ch in chunks)
        text = " ".join(ch["content"] for ch in chunks)
        assert "within 30 days of purchase" in text
        assert "two-year limited warranty" in text  # only listed in the sitemap
        assert "STAFF-ONLY-4242" not in text  # robots.txt disallows that page
        assert "We use cookies" not in text and "All rights reserved" not in text
        assert {"url": site.url + "/help/internal", "reason": "disallowed by robots.txt"} in report["skipped"]
        assert "/help/internal" not in site.paths_fetched()
        assert {ua for _, ua in site.requests} == {"BotPlot-Crawler/1.0"}
        returns = next(ch for ch in chunks if "30 days" in ch["content"])
        assert returns["title"] == "Returns and refunds" and returns["heading"] == "Return policy"

        listed = c.get("/api/v1/knowledge").json()["sources"]
        entry = next(s for s in listed if s["id"] == source_id)
        assert set(entry) >= {"id", "type", "name", "status", "chunkCount", "wordCount", "syncFrequency", "createdAt"}
        assert entry["type"] == "url" and entry["name"] == site.url + "/" and entry["createdAt"].endswith("Z")

        site.pages["/help/shipping"] = ("text/html", page("Shipping", "<h1>Shipping</h1><p>Standard shipping now "
                                                          "takes 2 business days.</p>"))
        r = c.post(f"/api/v1/knowledge/{source_id}/recrawl")
        assert r.status_code == 200 and r.json() == {"success": True, "status": "processing"}
        body = wait_until_processed(c, source_id)
        assert body["crawlReport"]["changed"] == [site.url + "/help/shipping"]
        assert body["crawlReport"]["counts"]["unchanged"] == 3 and body["crawlReport"]["embeddingCalls"] == 1
        assert "2 business days" in " ".join(ch["content"] for ch in body["chunks"])

        r = c.delete(f"/api/v1/knowledge/{source_id}")
        assert r.status_code == 200 and r.json() == {"success": True}
        assert c.get(f"/api/v1/knowledge/{source_id}").status_code == 404
        assert source_id not in [s["id"] for s in c.get("/api/v1/knowledge").json()["sources"]]
    index = sqlite3.connect(stack.state_dir / "index.sqlite")
    assert index.execute("SELECT count(*) FROM chunks WHERE source_id = ?", (source_id,)).fetchone()[0] == 0


def test_qa_pairs_are_searchable_at_once(stack):
    p = stack.new_project("enterprise", "QA owner")
    with stack.client(p["secretKey"]) as c:
        r = c.post("/api/v1/knowledge/qa", json={"question": "What are your hours?",
                                                  "answer": "We are open Monday-Friday, 9am-5pm EST."})
        assert r.status_code == 200 and r.json()["status"] == "ready"
        body = c.get(f"/api/v1/knowledge/{r.json()['sourceId']}").json()
        assert body["source"]["type"] == "qa" and body["source"]["chunkCount"] == 1
        assert body["chunks"][0]["content"] == "Q: What are your hours?\nA: We are open Monday-Friday, 9am-5pm EST."
        r = c.post(f"/api/v1/knowledge/{body['source']['id']}/recrawl")
        assert r.status_code == 400 and r.json()["code"] == "NOT_A_URL_SOURCE"


def test_a_crawl_that_cannot_start_fails_with_a_readable_error(stack, site):
    p = stack.new_project("enterprise")
    with stack.client(p["secretKey"]) as c:
        source_id = c.post("/api/v1/knowledge/url", json={"url": site.url + "/no-such-page"}).json()["sourceId"]
        body = wait_until_processed(c, source_id)
        assert body["source"]["status"] == "failed"
        assert body["source"]["error"] == f"Could not crawl {site.url}/no-such-page: HTTP 404"


@pytest.mark.parametrize("body", [
    {}, {"url": ""}, {"url": "ftp://example.com/"}, {"url": "javascript:alert(1)"}, {"url": "example.com"},
    {"url": 42}, {"url": "https://"}, {"url": "https://user:pw@example.com/"}, {"url": "https://example.com:99999/"},
    {"url": "https://example.com/", "syncFrequency": "hourly"}, {"url": "https://example.com/", "syncFrequency": 1},
])
def test_bad_url_sources_are_400(stack, project, body):
    with stack.client(project["secretKey"]) as c:
        before = c.get("/api/v1/knowledge").json()["sources"]
        r = c.post("/api/v1/knowledge/url", json=body)
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR", r.text
        assert set(r.json()) == {"error", "code"}
        assert c.get("/api/v1/knowledge").json()["sources"] == before  # nothing was stored


@pytest.mark.parametrize("body", [{}, {"question": "Hours?"}, {"answer": "9-5"}, {"question": " ", "answer": "x"},
                                  {"question": "q", "answer": "a" * 10001}])
def test_bad_qa_pairs_are_400(stack, project, body):
    with stack.client(project["secretKey"]) as c:
        r = c.post("/api/v1/knowledge/qa", json=body)
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR" and set(r.json()) == {"error", "code"}


def test_unknown_and_foreign_sources_are_404(stack, project):
    other = stack.new_project("enterprise", "Someone else")
    with stack.client(other["secretKey"]) as c:
        theirs = c.post("/api/v1/knowledge/qa", json={"question": "Secret?", "answer": "Yes."}).json()["sourceId"]
    with stack.client(project["secretKey"]) as c:
        for source_id in (theirs, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "nope"):
            for method, path in (("GET", ""), ("POST", "/recrawl"), ("DELETE", "")):
                r = c.request(method, f"/api/v1/knowledge/{source_id}{path}")
                assert r.status_code == 404 and r.json()["code"] == "SOURCE_NOT_FOUND", (method, path, r.text)
        assert theirs not in [s["id"] for s in c.get("/api/v1/knowledge").json()["sources"]]
    with stack.client(other["secretKey"]) as c:
        assert c.get(f"/api/v1/knowledge/{theirs}").status_code == 200


def test_knowledge_routes_need_the_secret_key(stack, project):
    with stack.client(project["publicKey"]) as c:
        r = c.get("/api/v1/knowledge")
    assert r.status_code == 403 and r.json()["code"] == "SECRET_KEY_REQUIRED"
    with stack.client() as c:
        assert c.get("/api/v1/knowledge").status_code == 401


def test_chunk_paging_parameters_are_validated(stack, project):
    with stack.client(project["secretKey"]) as c:
        source_id = c.post("/api/v1/knowledge/qa", json={"question": "q?", "answer": "a."}).json()["sourceId"]
        for query in ("limit=0", "limit=1001", "limit=abc", "offset=-1"):
            r = c.get(f"/api/v1/knowledge/{source_id}?{query}")
            assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR", query
        assert c.get(f"/api/v1/knowledge/{source_id}?limit=1&offset=1").json()["chunks"] == []
