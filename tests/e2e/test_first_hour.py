"""A new user's first hour on the local stack: the README's questions answer from the seeded demo,
the docs are served, chat stays interactive while a crawl embeds, and the CLI says what it works on."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.waiting import wait_until_processed
from tests.support.site import Site, page

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_questions_answer_with_citations_from_the_seeded_demo(stack):
    with stack.client(stack.info["publicKey"]) as c:
        body = c.post("/api/v1/chat", json={"message": "What is your return policy?"}).json()
        assert "30 days" in body["response"] and body["citations"] and body["sources"] == len(body["citations"])
        with c.stream("POST", "/api/v1/chat/stream", json={"message": "How do I get started?"}) as r:
            events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    text = "".join(e["content"] for e in events if e["type"] == "token")
    assert "create a free account" in text.lower() and events[-1]["type"] == "done" and events[-1]["citations"]

    with stack.client(stack.info["secretKey"]) as c:  # the bundled help site is crawled like any site
        site = next(s for s in c.get("/api/v1/knowledge").json()["sources"] if s["type"] == "url")
        assert site["name"] == f"{stack.url}/demo-site/index.html"
        assert wait_until_processed(c, site["id"])["source"]["chunkCount"] >= 6
    with stack.client(stack.info["publicKey"]) as c:
        body = c.post("/api/v1/chat", json={"message": "How do I list my orders with the order API?"}).json()
    assert body["citations"][0]["url"].startswith(f"{stack.url}/demo-site/api.html")
    assert "with urllib.request.urlopen(request) as response:\n    orders = json.load(response)" in body["response"]


def test_the_api_docs_are_served_without_a_cdn(stack):
    with httpx.Client(base_url=stack.url, timeout=30) as c:
        docs = c.get("/docs")
        assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
        scripts = [line for line in docs.text.splitlines() if "src=" in line or "href=" in line]
        assert scripts and all("://" not in line for line in scripts)  # every asset from this stack
        bundle = c.get("/docs/assets/swagger-ui-bundle.js")
        assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text
        assert c.get("/docs/assets/swagger-ui.css").status_code == 200
        document = c.get("/openapi.json").json()
    assert document["servers"][0]["url"] == stack.url
    assert {"/api/v1/chat", "/api/v1/knowledge/url", "/api/v1/analytics"} <= set(document["paths"])


PAGES = 80  # enough embedding (a chunk each) that the int8 embedder is still at it when the answer comes


@pytest.fixture(scope="module")
def guide_site():
    """80 linked pages of distinct prose, a chunk each: one bulk embedding call of 80 chunks, 1-2 s
    on an idle 2-core machine (int8 MiniLM) and more on a busy one, while a question is one short text."""
    words = "tent stove lantern trail river summit canyon forest meadow ridge glacier valley".split()
    pages = {}
    for n in range(PAGES):
        text = " ".join(words[(n * 7 + i * 5) % len(words)] + str((n + i) % 23) for i in range(170))
        pages[f"/guide/{n}"] = ("text/html", page(f"Trail guide {n}", f"<h1>Trail guide {n}</h1><p>{text}.</p>"))
    pages["/"] = ("text/html", page("Trail guides", "<h1>Trail guides</h1><p>All our guides.</p>",
                                    [f"/guide/{n}" for n in range(PAGES)]))
    with Site(pages) as site:
        yield site


def test_chat_answers_while_a_crawl_embeds_without_waiting_for_it(stack, project, guide_site):
    with stack.client(project["secretKey"]) as admin, stack.client(project["publicKey"]) as visitor:
        visitor.post("/api/v1/chat", json={"message": "warm up"})  # the first chat loads what chat needs
        added = admin.post("/api/v1/knowledge/url", json={"url": guide_site.url + "/"})
        source_id, remaining = added.json()["sourceId"], int(added.headers["X-RateLimit-Remaining"])
        deadline = time.monotonic() + 120
        progress = {}
        while progress.get("phase") != "embedding":
            assert time.monotonic() < deadline, f"the crawl never reached embedding: {progress}"
            read = admin.get(f"/api/v1/knowledge/{source_id}")
            source = read.json()["source"]
            assert source["status"] == "processing", source
            assert int(read.headers["X-RateLimit-Remaining"]) == remaining  # polling a crawl is free
            progress = source["progress"]
            time.sleep(0.2)
        assert progress["pagesFetched"] == PAGES + 1 and progress["pagesToEmbed"] == PAGES + 1 and progress["startedAt"]

        answer = visitor.post("/api/v1/chat", json={"message": "What is your return policy?"})
        during = admin.get(f"/api/v1/knowledge/{source_id}").json()["source"]
        assert answer.status_code == 200 and answer.json()["response"]
        # the crawl was still embedding when the answer came: chat did not wait for it (behind one lock
        # held for the whole embedding it once waited for the crawl to end); how long a question's
        # embedding takes during a crawl is measured, not asserted: bench/chat_during_crawl.py
        assert during["status"] == "processing" and during["progress"]["pagesEmbedded"] < PAGES + 1, during
        assert wait_until_processed(admin, source_id, timeout=300)["source"]["status"] == "ready"
        # the chat counted; the read that found it ready counted, and so does every read after
        assert int(admin.get(f"/api/v1/knowledge/{source_id}").headers["X-RateLimit-Remaining"]) == remaining - 3


def cli(stack, *args, state_dir=None):
    env = {**stack.env, "BOTPLOT_STATE_DIR": str(state_dir or stack.state_dir)}
    return subprocess.run([str(Path(sys.executable).parent / "botplot"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_cli_says_its_target_and_never_goes_to_aws_by_itself(stack, tmp_path):
    nowhere = cli(stack, "project", "list", state_dir=tmp_path)
    assert nowhere.returncode == 1 and nowhere.stdout == ""
    assert nowhere.stderr.startswith("botplot: error: no local stack is running") and "--aws" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr

    created = cli(stack, "project", "create", "--name", "CLI tour", "--plan", "pro")
    assert created.stderr == f"botplot: using the local stack at {stack.url}\n"
    project = json.loads(created.stdout)
    assert project["projectId"] in [p["projectId"] for p in json.loads(cli(stack, "project", "list").stdout)]

    cli(stack, "keys", "rotate", project["projectId"], "--kind", "public")
    keys = json.loads(cli(stack, "keys", "list", project["projectId"]).stdout)
    assert sorted((k["kind"], k["status"]) for k in keys) == [("public", "active"), ("public", "revoked"),
                                                               ("secret", "active")]
    assert all(len(k["prefix"]) == 10 for k in keys) and project["secretKey"][:10] in [k["prefix"] for k in keys]
    assert project["secretKey"] not in json.dumps(keys)

    with stack.client(project["secretKey"]) as c:
        assert c.post("/api/v1/knowledge/qa", json={"question": "Q?", "answer": "A."}).status_code == 200
    deleted = cli(stack, "project", "delete", project["projectId"], "--yes")
    assert deleted.returncode == 0 and json.loads(deleted.stdout) == {"projectId": project["projectId"],
                                                                       "deleted": True}
    with stack.client(project["secretKey"]) as c:
        assert c.get("/api/v1/knowledge").status_code == 401
    assert project["projectId"] not in cli(stack, "project", "list").stdout

    unknown = cli(stack, "project", "delete", project["projectId"], "--yes")
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert unknown.stderr.splitlines()[-1].startswith("botplot: error: Project not found")
