"""The local stack on a real OpenSearch node (``BOTPLOT_INDEX=opensearch``, as in AWS): a site is
crawled into the node and a chat is answered from it."""

from __future__ import annotations


import pytest
from opensearchpy import OpenSearch

from botplot.knowledge.index.opensearch import ANALYSIS_VERSION

from tests.support.waiting import wait_until_processed
from tests.support.site import shop_site
from tests.support.stack import LocalStack


@pytest.fixture(scope="module")
def node_stack(tmp_path_factory, opensearch):
    s = LocalStack(tmp_path_factory.mktemp("opensearch-stack") / ".botplot", {
        "BOTPLOT_INDEX": "opensearch", "OPENSEARCH_URL": opensearch.url,
        "BOTPLOT_KNN_ENGINE": opensearch.engine}).start()
    yield s
    s.stop()


def test_a_crawled_site_answers_a_chat_from_the_node(node_stack, opensearch):
    with shop_site() as site:
        project = node_stack.new_project("enterprise", "Acme")
        with node_stack.client(project["secretKey"]) as c:
            source_id = c.post("/api/v1/knowledge/url", json={"url": site.url + "/"}).json()["sourceId"]
            source = wait_until_processed(c, source_id, timeout=90)
        assert source["source"]["status"] == "ready", source
    client = OpenSearch(hosts=[opensearch.url])
    stored = client.search(index="botplot-chunks-*", body={
        "size": 100, "query": {"term": {"project_id": project["projectId"]}}, "_source": ["url", "embedding_model"]})
    hits = stored["hits"]["hits"]
    assert len(hits) == source["source"]["chunkCount"] >= 4
    # MiniLM's or the 1536 default dimension's index, of the current text analysis
    assert {h["_index"] for h in hits} <= {f"botplot-chunks_v{ANALYSIS_VERSION}-{d}" for d in (384, 1536)}

    with node_stack.client(project["secretKey"]) as c:  # a page at a time by cursor: the same chunks, in order
        items, cursor = [], None
        for _ in range(len(hits)):
            page = c.get(f"/api/v1/knowledge/{source_id}", params={"limit": 1, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200, page.text
            items += page.json()["chunks"]
            if not (cursor := page.json()["nextCursor"]):
                break
    assert cursor is None and [ch["id"] for ch in items] == [ch["id"] for ch in source["chunks"]]

    with node_stack.client(project["publicKey"]) as c:
        answer = c.post("/api/v1/chat", json={"message": "What is your return policy?"}).json()
        unknown = c.post("/api/v1/chat", json={"message": "Do you sell spaceships to Mars?"}).json()
    assert "30 days" in answer["response"]
    assert answer["sources"] >= 1 and answer["citations"][0]["url"].startswith(site.url + "/help/returns")
    assert unknown["citations"] == []
