"""The crawl worker end to end on moto and the embedded index, crawling a site served on 127.0.0.1."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.site import Site, page
from tests.support.workers import delete, invoke_sqs, receive_all


@pytest.fixture
def knowledge_env(moto_endpoint, tmp_path, monkeypatch):
    """The crawl worker's world: moto, an index in a file, and the model endpoint (the OpenAI fake,
    which accepts ``sk-right``: yielded, with its record of the embedding requests). The pipeline is
    the same whichever embedder answers: MiniLM has its own tests (tests/unit/test_minilm.py) and the
    local stack's crawls embed with it (tests/e2e)."""
    from botplot.config import reload_settings
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.index import default_index
    from tests.support.fake_openai import FakeOpenAI

    fake = FakeOpenAI(api_key="sk-right")
    monkeypatch.setenv("BOTPLOT_INDEX", "sqlite")
    monkeypatch.setenv("BOTPLOT_INDEX_PATH", str(tmp_path / "index.sqlite"))
    monkeypatch.setenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", "1")
    monkeypatch.setenv("BOTPLOT_EMBEDDER", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-right")
    reload_settings()
    default_index.cache_clear()
    default_embedder.cache_clear()
    yield fake
    fake.close()
    default_index.cache_clear()
    default_embedder.cache_clear()
    monkeypatch.undo()
    reload_settings()


def _project(plan="enterprise"):
    from botplot.services.projects import create_project

    return create_project("pipeline test", plan)[0].project_id


def _crawl_messages():
    return receive_all(__import__("os").environ["BOTPLOT_CRAWL_QUEUE_URL"])


def _messages_for(source_id):
    """This source's crawl messages (another test's received but undeleted ones reappear later)."""
    return [m for m in _crawl_messages() if json.loads(m["Body"])["sourceId"] == source_id]


def _run(messages):
    result = invoke_sqs("CrawlWorkerFunction", messages, "BOTPLOT_CRAWL_QUEUE_URL")
    delete("BOTPLOT_CRAWL_QUEUE_URL", [m for m in messages
                                       if m["MessageId"] not in {f["itemIdentifier"] for f in
                                                                 result.get("batchItemFailures", [])}])
    return result


def _source(project_id, source_id):
    from botplot.services import knowledge

    source = knowledge.get(project_id, source_id)
    return source, json.loads(source.crawl_report or "null")


def _source_events(project_id):
    """The project's ``source.*`` events in the outbox, oldest first."""
    from tests.support.workers import outbox_records

    payloads = [json.loads(r["dynamodb"]["NewImage"]["payload"]["S"]) for r in outbox_records(project_id)]
    return [p for p in payloads if p["event"].startswith("source.")]


def _crawl_metrics(capfd) -> dict[str, float]:
    """The crawl's metrics (service ``crawl``) in the EMF lines written since the last read: name -> value."""
    emitted = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    values = {}
    for record in emitted:
        if record.get("service") == "crawl":
            name = record["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]
            value = record[name]
            values[name] = value[0] if isinstance(value, list) else value
    return values


def _snake(name):
    """A report field's name in webhook payloads (``embeddingCalls`` -> ``embedding_calls``)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _chunks(project_id, source_id):
    from botplot.services import knowledge

    return knowledge.chunks(project_id, source_id, 1000, 0)[0]  # (page, more)


def test_same_message_twice_leaves_one_copy_and_crawls_once(knowledge_env, site):
    from botplot.services import knowledge

    project_id = _project()
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    messages = _crawl_messages()
    assert len(messages) == 1
    assert _run(messages) == {"batchItemFailures": []}
    fetched = len(site.requests)
    first = sorted(c.chunk_id for c in _chunks(project_id, source.source_id))

    assert _run(messages) == {"batchItemFailures": []}  # SQS delivered it again
    assert len(site.requests) == fetched  # the finished job's result was returned, not crawled again
    assert sorted(c.chunk_id for c in _chunks(project_id, source.source_id)) == first
    assert len(first) == len(set(first)) >= 4


def test_resync_of_an_unchanged_site_embeds_nothing_and_changes_are_reported(knowledge_env, site):
    from botplot.knowledge.embeddings import default_embedder
    from botplot.services import knowledge

    project_id = _project()
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    _run(_crawl_messages())
    stored, report = _source(project_id, source.source_id)
    assert stored.status == "ready" and report["counts"]["added"] == 4 and report["embeddingCalls"] >= 1
    ids_before = sorted(c.chunk_id for c in _chunks(project_id, source.source_id))

    calls = default_embedder().calls
    knowledge.recrawl(project_id, source.source_id)
    _run(_crawl_messages())
    stored, report = _source(project_id, source.source_id)
    assert default_embedder().calls == calls and report["embeddingCalls"] == 0
    assert report["counts"] == {"added": 0, "changed": 0, "unchanged": 4, "removed": 0, "failed": 0, "skipped": 1}
    assert sorted(report["unchanged"]) == sorted({c.url for c in _chunks(project_id, source.source_id)})
    assert sorted(c.chunk_id for c in _chunks(project_id, source.source_id)) == ids_before

    # the site changes: shipping is rewritten, the warranty page leaves the sitemap, a new page is linked
    site.pages["/help/shipping"] = ("text/html", page("Shipping", "<h1>Shipping</h1><p>Standard shipping now "
                                                      "takes 2 business days.</p>", ["/help/contact"]))
    site.pages["/sitemap.xml"] = ("application/xml", '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>')
    site.pages["/help/contact"] = ("text/html", page("Contact", "<h1>Contact</h1><p>Call us at 555-0100.</p>"))
    knowledge.recrawl(project_id, source.source_id)
    _run(_crawl_messages())
    stored, report = _source(project_id, source.source_id)
    assert report["changed"] == [site.url + "/help/shipping"]
    assert report["added"] == [site.url + "/help/contact"]
    assert report["removed"] == [site.url + "/help/warranty"]
    assert report["embeddingCalls"] == 1  # one batch for the two pages that changed
    contents = " ".join(c.content for c in _chunks(project_id, source.source_id))
    assert "2 business days" in contents and "3 to 5 business days" not in contents
    assert "two-year limited warranty" not in contents and "555-0100" in contents
    assert stored.chunk_count == len(_chunks(project_id, source.source_id))


def test_a_resync_after_a_change_of_embedder_rechunks_every_page_once(knowledge_env, site, monkeypatch):
    """Chunks are sized for the embedder that reads them (MiniLM's are smaller). A source crawled
    with MiniLM whose project then embeds with OpenAI (a key was configured) is re-chunked and
    re-embedded whole by its next resync, although no page changed; the resync after finds every
    page unchanged again."""
    from botplot.config import reload_settings
    from botplot.knowledge.embeddings import default_embedder
    from botplot.services import knowledge

    project_id = _project()
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    with monkeypatch.context() as offline:
        offline.setenv("BOTPLOT_EMBEDDER", "minilm")
        reload_settings()
        default_embedder.cache_clear()
        _run(_crawl_messages())
    reload_settings()
    default_embedder.cache_clear()
    assert _source(project_id, source.source_id)[1]["counts"]["added"] == 4
    calls = len(knowledge_env.embedding_requests)
    knowledge.recrawl(project_id, source.source_id)
    _run(_crawl_messages())
    stored, report = _source(project_id, source.source_id)
    assert report["counts"]["changed"] == 4 and report["counts"]["unchanged"] == 0
    assert len(knowledge_env.embedding_requests) > calls  # embedded again, by OpenAI this time
    assert stored.chunk_count == len(_chunks(project_id, source.source_id))
    knowledge.recrawl(project_id, source.source_id)
    _run(_crawl_messages())
    assert _source(project_id, source.source_id)[1]["counts"]["unchanged"] == 4


def test_a_page_that_fails_for_a_passing_reason_keeps_its_chunks(knowledge_env, site, monkeypatch, capfd):
    """...while, in the same resync, a page gone from the site loses its (the returns page comes
    before the warranty page among the source's pages: one is kept, the next still removed). The
    crawl's metrics (EMF lines, service ``crawl``) count the pages it kept and those that failed."""
    from botplot.config import reload_settings
    from botplot.services import knowledge

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    reload_settings()
    project_id = _project()
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    _run(_crawl_messages())
    site.pages["/help/returns"] = ("redirect", "/help/returns")  # a redirect loop: fails this time
    site.pages["/sitemap.xml"] = ("application/xml", '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>')
    knowledge.recrawl(project_id, source.source_id)
    capfd.readouterr()
    _run(_crawl_messages())
    crawl_metrics = _crawl_metrics(capfd)
    _, report = _source(project_id, source.source_id)
    assert report["failed"] == [{"url": site.url + "/help/returns", "reason": "more than 5 redirects"}]
    assert report["removed"] == [site.url + "/help/warranty"]
    kept = report["counts"]["unchanged"] + report["counts"]["changed"] + report["counts"]["added"]
    assert (crawl_metrics["CrawlPages"], crawl_metrics["CrawlFailures"]) == (kept, 1) and kept == 2
    contents = [c.content for c in _chunks(project_id, source.source_id)]
    assert any("30 days" in c for c in contents) and not any("two-year limited warranty" in c for c in contents)


def test_private_targets_are_refused_with_a_clear_error(knowledge_env, site, info_logs, monkeypatch):
    """A crawl that cannot start fails: the source is ``failed`` with the reason, the crawl's report
    on it and in its one ``source.failed`` event (README "Webhooks"), and ``crawl failed`` is logged."""
    from botplot.config import reload_settings
    from botplot.services import knowledge

    monkeypatch.setenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", "0")
    reload_settings()
    project_id = _project()
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    _run(_crawl_messages())
    stored, report = _source(project_id, source.source_id)
    assert stored.status == "failed"
    assert "127.0.0.1" in stored.error and "not a public address" in stored.error
    assert stored.error.startswith(f"Could not crawl {site.url}/: ")
    assert site.requests == []
    assert (stored.progress, stored.crawl_deadline, stored.chunk_count, stored.word_count) == (None, None, 0, 0)
    assert stored.last_crawled_at == stored.updated_at and stored.updated_at > source.updated_at
    assert report["jobId"] == stored.crawl_job_id and report["counts"]["failed"] == 1

    (event,) = _source_events(project_id)
    assert event["event"] == "source.failed"
    data = event["data"]
    assert data.pop("report") == {_snake(k): v for k, v in report.items()}
    assert data == {"source_id": source.source_id, "type": "url", "name": site.url + "/", "url": site.url + "/",
                    "sync_frequency": "manual", "status": "failed", "error": stored.error,
                    "failed_at": stored.last_crawled_at}
    crawl_lines = [r for r in info_logs.records if r.getMessage().startswith("crawl ")]
    assert [r.getMessage() for r in crawl_lines] == ["crawl crawling", "crawl failed"]
    failed = crawl_lines[-1].__dict__
    assert (failed["url"], failed["job_id"], failed["error"], failed["added"], failed["failed"]) == (
        source.url, stored.crawl_job_id, stored.error, 0, 1)



def test_page_limit_of_the_plan_is_respected(knowledge_env, site, monkeypatch, capfd):
    """...and the crawl's metrics count its 2 pages and no failures."""
    from botplot.config import reload_settings
    from botplot.services import knowledge

    monkeypatch.setenv("BOTPLOT_PAGE_LIMITS", '{"pro": 2}')
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    reload_settings()
    project_id = _project("pro")
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    capfd.readouterr()
    _run(_crawl_messages())
    metrics = _crawl_metrics(capfd)
    stored, report = _source(project_id, source.source_id)
    assert stored.status == "ready" and report["counts"]["added"] == 2
    assert report["truncated"] == "page limit of 2 reached"
    assert (metrics["CrawlPages"], metrics["CrawlFailures"]) == (2, 0)
    # the finished crawl's outcome on the source and in its one source.synced event
    from botplot.db.knowledge import Page
    from tests.support.workers import outbox_records

    pages = list(Page.query(source.source_id))
    words, chunks = sum(p.word_count for p in pages), sum(len(p.chunk_ids) for p in pages)
    assert len(pages) == 2 and words > 0 and chunks == len(_chunks(project_id, source.source_id)) > 0
    assert (stored.error, stored.progress, stored.crawl_deadline) == (None, None, None)
    assert (stored.chunk_count, stored.word_count, stored.last_crawled_at) == (chunks, words, stored.updated_at)
    payloads = [json.loads(r["dynamodb"]["NewImage"]["payload"]["S"]) for r in outbox_records(project_id)]
    (synced,) = [p["data"] for p in payloads if p["event"].startswith("source.")]
    assert synced.pop("report")["counts"]["added"] == 2
    assert synced == {"source_id": source.source_id, "type": "url", "name": site.url + "/", "url": site.url + "/",
                      "sync_frequency": "manual", "status": "ready", "chunk_count": chunks, "word_count": words,
                      "synced_at": stored.last_crawled_at}


def test_a_resync_stopped_by_the_page_limit_keeps_the_pages_it_did_not_reach(knowledge_env, site, monkeypatch):
    from botplot.config import reload_settings
    from botplot.services import knowledge, projects

    project_id = _project("enterprise")
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    _run(_crawl_messages())
    _, report = _source(project_id, source.source_id)
    assert report["counts"]["added"] == 4 and report["truncated"] is None
    before = sorted(c.chunk_id for c in _chunks(project_id, source.source_id))

    monkeypatch.setenv("BOTPLOT_PAGE_LIMITS", '{"pro": 2}')
    reload_settings()
    projects.set_plan(project_id, "pro")  # a downgrade: the next resync stops after 2 pages
    knowledge.recrawl(project_id, source.source_id)
    _run(_crawl_messages())
    stored, report = _source(project_id, source.source_id)
    assert report["truncated"] == "page limit of 2 reached" and report["counts"]["unchanged"] == 2
    assert report["removed"] == [] and report["counts"]["removed"] == 0
    assert sorted(c.chunk_id for c in _chunks(project_id, source.source_id)) == before
    assert stored.chunk_count == len(before)


def test_scheduler_queues_only_sources_of_its_frequency(knowledge_env, site):
    from botplot_dev.lambda_runtime import LambdaContext, load_module
    from botplot.services import knowledge

    project_id = _project()
    daily = knowledge.add_url(project_id, site.url + "/", "daily")
    knowledge.add_url(project_id, site.url + "/help/", "weekly")
    knowledge.add_url(project_id, site.url + "/help/shipping", "manual")
    delete("BOTPLOT_CRAWL_QUEUE_URL", _crawl_messages())

    result = load_module("SyncSchedulerFunction").handler({"frequency": "daily"}, LambdaContext("sync"))
    queued = [json.loads(m["Body"]) for m in _crawl_messages()]
    assert daily.source_id in [q["sourceId"] for q in queued]
    assert all(q["scheduled"] == "daily" for q in queued) and result["queued"] == len(queued)
    stored, _ = _source(project_id, daily.source_id)
    assert stored.crawl_job_id == [q for q in queued if q["sourceId"] == daily.source_id][0]["jobId"]


@pytest.fixture
def openai_env(knowledge_env, monkeypatch):
    """The model endpoint with a key it refuses (``sk-wrong``)."""
    from botplot.config import reload_settings
    from botplot.knowledge.embeddings import default_embedder

    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    reload_settings()
    default_embedder.cache_clear()
    yield knowledge_env


def test_a_bad_model_key_fails_the_crawl_at_once_with_a_readable_error(openai_env, site, monkeypatch):
    from botplot.knowledge import ingest
    from botplot.services import knowledge

    monkeypatch.setattr(ingest, "EMBED_SLICE", 1)  # a slice per page: the first refused, the others not asked
    project_id = _project()
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    assert _run(_messages_for(source.source_id)) == {"batchItemFailures": []}  # done with: no redelivery
    stored, report = _source(project_id, source.source_id)
    assert stored.status == "failed" and stored.error == "embedding failed: 401 from the model endpoint"
    assert openai_env.rejected == 1  # not retried, and no later slice asked: another try cannot fix a key
    assert report["jobId"] and _chunks(project_id, source.source_id) == []
    assert report["counts"]["added"] == 4 and (report["embeddingCalls"], report["chunksEmbedded"]) == (0, 0)
    assert _messages_for(source.source_id) == []
    (event,) = _source_events(project_id)
    assert (event["event"], event["data"]["status"], event["data"]["error"], event["data"]["failed_at"]) == (
        "source.failed", "failed", stored.error, stored.updated_at)
    assert event["data"]["report"]["counts"] == report["counts"]

    qa = knowledge.add_qa(project_id, "Do you ship abroad?", "Yes, to the EU.")
    assert qa.status == "failed" and qa.error.startswith("embedding failed: 401 from the model endpoint")

    # the key fixed, a resync succeeds and leaves no error behind (the stored item has none)
    import boto3

    from botplot.config import reload_settings
    from botplot.db.knowledge import Source
    from botplot.knowledge.embeddings import default_embedder

    monkeypatch.setenv("OPENAI_API_KEY", "sk-right")
    reload_settings()
    default_embedder.cache_clear()
    knowledge.recrawl(project_id, source.source_id)
    assert _run(_messages_for(source.source_id)) == {"batchItemFailures": []}
    stored, report = _source(project_id, source.source_id)
    assert (stored.status, report["counts"]["added"]) == ("ready", 4)
    item = boto3.client("dynamodb").get_item(TableName=Source.Meta.table_name, ConsistentRead=True, Key={
        "projectId": {"S": project_id}, "sourceId": {"S": source.source_id}})["Item"]
    assert "error" not in item and item["status"] == {"S": "ready"}


def test_a_passing_model_failure_leaves_the_crawl_to_the_queue(knowledge_env, site):
    from botplot.services import knowledge

    knowledge_env.embedding_failures = 3  # every attempt of this delivery answers 500
    project_id = _project()
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    messages = _messages_for(source.source_id)
    result = invoke_sqs("CrawlWorkerFunction", messages, "BOTPLOT_CRAWL_QUEUE_URL")
    assert result == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}  # SQS delivers it again
    stored, _ = _source(project_id, source.source_id)
    assert stored.status == "processing" and stored.error is None
    assert len(knowledge_env.embedding_requests) == 3  # tried three times before giving the job back


class _Lines(list):
    """Log messages, with their records (``records``)."""

    def __init__(self):
        super().__init__()
        self.records = []


@pytest.fixture
def info_logs():
    """The messages our logger writes at INFO and above during the test."""
    import logging

    from botplot.observability import logger

    messages = _Lines()
    handler = logging.Handler(logging.INFO)

    def emit(record):
        messages.append(record.getMessage())
        messages.records.append(record)

    handler.emit = emit
    level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield messages
    logger.removeHandler(handler)
    logger.setLevel(level)


def _progress_writes(monkeypatch) -> list[dict]:
    """Every progress write of the crawls to come (each count written, not every 2 s), as read back
    from DynamoDB after it, with the source's status."""
    from botplot.db.knowledge import Source
    from botplot.knowledge import ingest

    seen: list[dict] = []
    write = ingest.Progress._write

    def write_and_read_back(self):
        write(self)
        stored = Source.get(self.source.project_id, self.source.source_id)
        seen.append({"status": stored.status, **json.loads(stored.progress)})

    monkeypatch.setattr(ingest.Progress, "_write", write_and_read_back)
    monkeypatch.setattr(ingest.Progress, "interval", 0.0)
    return seen


def test_a_crawl_shows_its_progress_and_logs_each_phase(knowledge_env, site, info_logs, monkeypatch):
    """The source's progress as the worker writes it, read back at each phase from DynamoDB."""
    from botplot.knowledge import ingest
    from botplot.services import knowledge

    seen = _progress_writes(monkeypatch)
    monkeypatch.setattr(ingest, "EMBED_SLICE", 1)  # a slice per page: pagesEmbedded counts up
    project_id = _project()
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    assert knowledge.view(knowledge.get(project_id, source.source_id))["progress"] == {"phase": "queued"}
    _run(_messages_for(source.source_id))

    phases = [s["phase"] for s in seen]
    assert phases[0] == "crawling" and phases[-2:] == ["embedding", "indexing"] and "embedding" in phases
    crawling = [s for s in seen if s["phase"] == "crawling"]
    assert crawling[-1]["pagesFetched"] >= 4 and max(s["pagesQueued"] for s in crawling) >= 1
    assert seen[-1]["pagesEmbedded"] == seen[-1]["pagesToEmbed"] == 4
    embedded = [s["pagesEmbedded"] for s in seen]
    assert embedded == sorted(embedded) and set(embedded) == {0, 1, 2, 3, 4}  # one slice at a time
    assert all(s["pagesQueued"] == 0 for s in seen if s["phase"] != "crawling")
    assert all(s["status"] == "processing" and s["startedAt"] for s in seen)
    done = knowledge.get(project_id, source.source_id)
    assert done.status == "ready" and done.progress is None and "progress" not in knowledge.view(done)
    assert [m for m in info_logs if m.startswith("crawl ")] == ["crawl crawling", "crawl embedding", "crawl indexing",
                                                            "crawl finished"]
    # each line says which crawl, and the last what it did
    lines = {r.getMessage(): r.__dict__ for r in info_logs.records if r.getMessage().startswith("crawl ")}
    url, job = source.url, done.crawl_job_id
    assert all((line["url"], line["job_id"]) == (url, job) for line in lines.values())
    assert "phase" not in lines["crawl embedding"] and lines["crawl embedding"]["pagesToEmbed"] == 4
    finished = lines["crawl finished"]
    assert (finished["error"], finished["added"], finished["changed"], finished["removed"], finished["failed"]) == (
        None, 4, 0, 0, 0)


class _GatedPages(dict):
    """A site's pages where one page is served only after ``ready()`` holds (or ``wait`` seconds
    pass, under the crawler's read timeout); ``seen`` records what the page's request found."""

    def __init__(self, pages, gated: str, ready, wait: float = 12.0):
        super().__init__(pages)
        self.gated, self.ready, self.wait, self.seen = gated, ready, wait, None

    def get(self, path, default=None):
        if path == self.gated and self.seen is None:
            deadline = time.monotonic() + self.wait
            while not self.ready() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.seen = self.ready()
        return super().get(path, default)


def test_the_first_pages_are_searchable_while_the_crawl_still_fetches(knowledge_env, monkeypatch):
    """Embedding and indexing start as pages arrive: a large site's first pages answer questions
    before its last page is fetched, and the finished crawl holds every page once."""
    from botplot.knowledge import ingest
    from botplot.knowledge.index import default_index
    from botplot.services import knowledge

    monkeypatch.setattr(ingest, "EMBED_SLICE", 4)  # slices of one, two, then four one-chunk pages
    topics = ["tents", "stoves", "lanterns", "backpacks", "boots", "maps", "ropes", "canoes"]
    html = "text/html"
    pages = {"/": (html, page("Outdoor guides", "<h1>Outdoor guides</h1><p>Guides to our gear.</p>",
                              [f"/guide/{t}" for t in topics]))}
    for n, topic in enumerate(topics):
        links = ["/guide/last"] if n == len(topics) - 1 else []
        pages[f"/guide/{topic}"] = (html, page(f"Guide to {topic}", f"<h1>Guide to {topic}</h1><p>How to choose "
                                                                     f"and care for {topic} on a long trip.</p>", links))
    pages["/guide/last"] = (html, page("Last guide", "<h1>Last guide</h1><p>Packing lists for every season.</p>"))
    project_id = _project()
    holder = {}
    gated = _GatedPages(pages, "/guide/last",
                        lambda: bool(default_index().list_source(project_id, holder["source"], 1, 0)))
    with Site() as s:
        s.pages = gated
        source = knowledge.add_url(project_id, s.url + "/", "manual")
        holder["source"] = source.source_id
        assert _run(_messages_for(source.source_id)) == {"batchItemFailures": []}
    assert gated.seen is True  # chunks were in the index while the last page's request waited
    stored, report = _source(project_id, source.source_id)
    assert stored.status == "ready" and report["counts"]["added"] == len(topics) + 2
    chunks = _chunks(project_id, source.source_id)
    assert sorted({c.url.removeprefix(s.url) for c in chunks}) == sorted(pages)
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_a_job_that_cannot_finish_leaves_its_source_failed_once_and_only_if_still_its_own(knowledge_env):
    """``fail_job`` (the crawl's last attempt, the sweeper): the source is left ``failed`` with the
    reason and one ``source.failed`` event, only while the job is still the source's and running."""
    from botplot import ids
    from botplot.db.knowledge import Source
    from botplot.knowledge.ingest import fail_job
    from botplot.services import knowledge
    from tests.support.workers import outbox_records

    project_id = _project()
    source = knowledge.add_url(project_id, "https://docs.example.com/", "manual")
    delete("BOTPLOT_CRAWL_QUEUE_URL", _messages_for(source.source_id))  # no worker runs it here
    Source(project_id, source.source_id).update(actions=[Source.progress.set('{"phase": "crawling"}')])

    def failed_events():
        payloads = [json.loads(r["dynamodb"]["NewImage"]["payload"]["S"]) for r in outbox_records(project_id)]
        return [p["data"] for p in payloads if p["event"] == "source.failed"]

    assert not fail_job(project_id, source.source_id, ids.uuid7(), "another job's failure")  # superseded
    assert not fail_job(project_id, ids.uuid7(), source.crawl_job_id, "no such source")
    stored = knowledge.get(project_id, source.source_id)
    assert (stored.status, stored.error, stored.progress) == ("processing", None, '{"phase": "crawling"}')
    assert failed_events() == []

    assert fail_job(project_id, source.source_id, source.crawl_job_id, "The crawl failed 3 times")
    stored = knowledge.get(project_id, source.source_id)
    assert (stored.status, stored.error) == ("failed", "The crawl failed 3 times")
    assert stored.progress is None and stored.crawl_deadline is None and stored.updated_at > source.updated_at
    (event,) = failed_events()
    assert (event["source_id"], event["status"], event["error"], event["failed_at"], event["report"]) == (
        source.source_id, "failed", "The crawl failed 3 times", stored.updated_at, None)

    # its outcome is recorded: another attempt's (or the sweeper's) failure changes nothing
    assert not fail_job(project_id, source.source_id, source.crawl_job_id, "again")
    assert knowledge.get(project_id, source.source_id).error == "The crawl failed 3 times"
    assert len(failed_events()) == 1


class _Raw:
    """A response body for botocore (an answer injected in front of DynamoDB)."""

    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def test_a_crawl_that_fails_midway_writes_nothing_its_embedding_finishes_afterwards(knowledge_env, monkeypatch):
    """A crawl that fails (here a progress write DynamoDB refuses) is retried by the queue; the slice
    it was embedding at that moment is not written when its embedding comes back."""
    from botocore.awsrequest import AWSResponse

    from botplot.db.knowledge import Source
    from botplot.knowledge import ingest
    from botplot.services import knowledge

    monkeypatch.setattr(ingest, "EMBED_SLICE", 1)  # a slice per page
    monkeypatch.setattr(ingest.Progress, "interval", 0.0)  # every progress count written
    knowledge_env.embedding_delay = 1.5  # the first slice is still being embedded when the crawl fails
    html = "text/html"
    pages = {"/": (html, page("Guides", "<h1>Guides</h1><p>Guides to our tents and stoves.</p>", ["/a", "/b"])),
             "/a": (html, page("Tents", "<h1>Tents</h1><p>How to pitch a tent in the wind.</p>")),
             "/b": (html, page("Stoves", "<h1>Stoves</h1><p>How to light a stove in the cold.</p>"))}
    # /b is served once the first slice's embedding request has reached the model: the crawl's next
    # progress write (after /b) is the one refused
    gated = _GatedPages(pages, "/b", lambda: bool(knowledge_env.embedding_requests))
    refused = []

    def refuse_a_progress_write_while_embedding(request, **_):
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        if (not refused and target.endswith("UpdateItem") and b"progress" in request.body
                and knowledge_env.embedding_requests):
            refused.append(request)
            body = json.dumps({"__type": "com.amazon.coral.validate#ValidationException",
                               "message": "injected"}).encode()
            return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ValidationException"}, _Raw(body))
        return None

    client = Source._get_connection().connection.client
    client.meta.events.register_first("before-send.dynamodb", refuse_a_progress_write_while_embedding)
    try:
        with Site() as s:
            s.pages = gated
            project_id = _project()
            source = knowledge.add_url(project_id, s.url + "/", "manual")
            messages = _messages_for(source.source_id)
            result = invoke_sqs("CrawlWorkerFunction", messages, "BOTPLOT_CRAWL_QUEUE_URL")
    finally:
        client.meta.events.unregister("before-send.dynamodb", refuse_a_progress_write_while_embedding)
    delete("BOTPLOT_CRAWL_QUEUE_URL", messages)
    assert gated.seen is True and len(refused) == 1
    assert result == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}  # SQS delivers it again
    assert len(knowledge_env.embedding_requests) == 1  # the slices after it were not embedded
    stored, _ = _source(project_id, source.source_id)
    assert stored.status == "processing" and _chunks(project_id, source.source_id) == []


def test_the_change_report_counts_every_page_and_lists_the_first_hundred_of_each_kind():
    """The ``crawlReport`` (README "Change report") of a crawl too big to list: counts of all, lists
    of the first ``REPORT_LIST_LIMIT`` (100) in crawl order, failures and skips with their reasons."""
    from datetime import datetime, timezone

    import time_machine

    from botplot.knowledge.ingest import Report

    def urls(kind, n):
        return [f"https://docs.example.com/{kind}/{i}" for i in range(n)]

    report = Report(job_id="job-1", started_at="2031-01-31T22:00:00Z", added=urls("added", 101),
                    changed=urls("changed", 102), unchanged=urls("unchanged", 103), removed=urls("removed", 104),
                    failed={u: "HTTP 500" for u in urls("failed", 105)},
                    skipped={u: "marked noindex" for u in urls("skipped", 106)},
                    truncated="page limit of 500 reached", embedding_calls=7, chunks_embedded=640)
    with time_machine.travel(datetime(2031, 1, 31, 23, 0, tzinfo=timezone.utc), tick=False):
        shown = json.loads(report.as_json())
    assert shown.pop("counts") == {"added": 101, "changed": 102, "unchanged": 103, "removed": 104, "failed": 105,
                                   "skipped": 106}
    assert shown == {
        "jobId": "job-1", "startedAt": "2031-01-31T22:00:00Z", "finishedAt": "2031-01-31T23:00:00Z",
        "added": urls("added", 100), "changed": urls("changed", 100), "unchanged": urls("unchanged", 100),
        "removed": urls("removed", 100),
        "failed": [{"url": u, "reason": "HTTP 500"} for u in urls("failed", 100)],
        "skipped": [{"url": u, "reason": "marked noindex"} for u in urls("skipped", 100)],
        "truncated": "page limit of 500 reached", "embeddingCalls": 7, "chunksEmbedded": 640}


class _DeletingPages(dict):
    """A site's pages where the first request for ``path`` runs ``on_request()`` before it is answered."""

    def __init__(self, pages, path: str, on_request):
        super().__init__(pages)
        self.path, self.on_request, self.done = path, on_request, False

    def get(self, path, default=None):
        if path == self.path and not self.done:
            self.done = True
            self.on_request()
        return super().get(path, default)


def test_a_source_deleted_during_its_crawl_keeps_nothing_the_crawl_indexed(knowledge_env, info_logs, monkeypatch):
    """The crawl goes on to its end, then finds its source gone: it removes the chunks and page
    records it wrote meanwhile, and announces nothing."""
    from botplot.db.knowledge import Page
    from botplot.errors import ApiError
    from botplot.knowledge import ingest
    from botplot.knowledge.index import default_index
    from botplot.services import knowledge
    from tests.support.workers import outbox_records

    monkeypatch.setattr(ingest, "EMBED_SLICE", 1)  # the pages before the deletion are indexed before it
    project_id = _project()
    holder = {}
    with shop_site_pages(lambda: knowledge.delete(project_id, holder["source"])) as s:
        source = knowledge.add_url(project_id, s.url + "/", "manual")
        holder["source"] = source.source_id
        assert _run(_messages_for(source.source_id)) == {"batchItemFailures": []}
    assert s.pages.done
    with pytest.raises(ApiError):
        knowledge.get(project_id, source.source_id)
    assert default_index().list_source(project_id, source.source_id, 10, 0) == []
    assert list(Page.query(source.source_id)) == []
    assert "source deleted during its crawl; removing what the crawl indexed" in info_logs
    events = [json.loads(r["dynamodb"]["NewImage"]["payload"]["S"])["event"] for r in outbox_records(project_id)]
    assert not [e for e in events if e.startswith("source.")]


def shop_site_pages(on_request):
    """The shop's help site, whose warranty page (the sitemap's, fetched after the linked ones have
    been found) runs ``on_request`` when first asked for."""
    from tests.support.site import shop_site

    site = shop_site()
    site.pages = _DeletingPages(site.pages, "/help/warranty", on_request)
    return site


def _guides_site(topics):
    """A site of one-chunk pages: an index linking a guide per topic."""
    html = "text/html"
    pages = {"/": (html, page("Outdoor guides", "<h1>Outdoor guides</h1><p>Guides to our gear.</p>",
                              [f"/guide/{t}" for t in topics]))}
    for topic in topics:
        pages[f"/guide/{topic}"] = (html, page(f"Guide to {topic}", f"<h1>Guide to {topic}</h1><p>How to choose "
                                                                    f"and care for {topic} on a long trip.</p>"))
    return Site(pages)


def test_every_changed_page_is_embedded_once_in_crawl_order_in_slices_growing_to_embed_slice(knowledge_env,
                                                                                             monkeypatch):
    """The model is asked for slices of EMBED_SLICE // 8 chunks (at least one), then twice the last,
    up to EMBED_SLICE (the last one shorter): the embedder starts with the first pages. Each page's
    chunks are in exactly one request, in the order the crawl kept the pages; the report counts the
    calls and the chunks embedded."""
    from botplot.knowledge import ingest
    from botplot.services import knowledge

    monkeypatch.setattr(ingest, "EMBED_SLICE", 3)
    topics = ["tents", "stoves", "lanterns", "backpacks", "boots", "maps", "ropes"]
    project_id = _project()
    with _guides_site(topics) as s:
        source = knowledge.add_url(project_id, s.url + "/", "manual")
        assert _run(_messages_for(source.source_id)) == {"batchItemFailures": []}
    stored, report = _source(project_id, source.source_id)
    chunks = _chunks(project_id, source.source_id)
    assert stored.status == "ready" and len(report["added"]) == len(topics) + 1
    assert sorted(c.url for c in chunks) == sorted(report["added"])  # one chunk a page
    assert {c.heading for c in chunks} == {""}  # each page's <h1> is its title, kept apart, not repeated

    requests = [r["input"] for r in knowledge_env.embedding_requests]
    assert [len(r) for r in requests] == [1, 2, 3, 2]  # eight one-chunk pages

    def topic(text):
        (found,) = [t for t in ["Outdoor guides", *topics] if t in text]
        return found

    by_url = {c.url: c for c in chunks}
    assert [topic(text) for r in requests for text in r] == [topic(by_url[u].title) for u in report["added"]]
    assert (report["embeddingCalls"], report["chunksEmbedded"]) == (4, len(chunks))
    from botplot.db.knowledge import Page

    pages = {p.url: p for p in Page.query(source.source_id)}  # the records a resync compares against
    assert {u: (p.title, p.chunk_ids) for u, p in pages.items()} == {c.url: (c.title, [c.chunk_id]) for c in chunks}
    assert {p.crawled_at for p in pages.values()} == {max(p.crawled_at for p in pages.values())}


def test_the_first_slice_is_an_eighth_of_embed_slice_rounded_down(knowledge_env, monkeypatch):
    """With EMBED_SLICE at 17, eight one-chunk pages go to the model as 2 (17 // 8), 4, then the 2
    left: the first slice counts whole chunks from the first page on."""
    from botplot.knowledge import ingest
    from botplot.services import knowledge

    monkeypatch.setattr(ingest, "EMBED_SLICE", 17)
    project_id = _project()
    with _guides_site(["tents", "stoves", "lanterns", "backpacks", "boots", "maps", "ropes"]) as s:
        source = knowledge.add_url(project_id, s.url + "/", "manual")
        assert _run(_messages_for(source.source_id)) == {"batchItemFailures": []}
    assert len(_chunks(project_id, source.source_id)) == 8
    assert [len(r["input"]) for r in knowledge_env.embedding_requests] == [2, 4, 2]


def test_without_an_embedder_pages_are_indexed_and_the_report_says_nothing_was_embedded(knowledge_env, site,
                                                                                        monkeypatch):
    """``BOTPLOT_EMBEDDER=none`` (keyword search alone): the pages are indexed, no model is asked,
    and the report's ``embeddingCalls`` and ``chunksEmbedded`` are 0."""
    from botplot.config import reload_settings
    from botplot.knowledge.embeddings import default_embedder
    from botplot.services import knowledge

    monkeypatch.setenv("BOTPLOT_EMBEDDER", "none")
    reload_settings()
    default_embedder.cache_clear()
    project_id = _project()
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    assert _run(_messages_for(source.source_id)) == {"batchItemFailures": []}
    stored, report = _source(project_id, source.source_id)
    assert stored.status == "ready" and report["counts"]["added"] == 4
    assert stored.chunk_count == len(_chunks(project_id, source.source_id)) >= 4
    assert (report["embeddingCalls"], report["chunksEmbedded"]) == (0, 0)
    assert knowledge_env.embedding_requests == []


def test_a_write_that_fails_midway_stops_the_crawl_and_the_queues_retry_indexes_every_page_once(knowledge_env,
                                                                                               monkeypatch):
    """DynamoDB refuses the first slice's page records (answering once later slices are embedded):
    slices are written one at a time, in order, so the crawl fails (the queue delivers it again)
    without writing any later slice; the second delivery crawls again and leaves every page once."""
    from botocore.awsrequest import AWSResponse

    from botplot.db.knowledge import Page
    from botplot.knowledge import ingest
    from botplot.services import knowledge

    monkeypatch.setattr(ingest, "EMBED_SLICE", 1)  # a slice per page
    refused = []

    def refuse_the_first_page_records(request, **_):
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        if not refused and target.endswith("BatchWriteItem"):
            refused.append(request)
            deadline = time.monotonic() + 10
            while len(knowledge_env.embedding_requests) < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            body = json.dumps({"__type": "com.amazon.coral.validate#ValidationException",
                               "message": "injected"}).encode()
            return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ValidationException"}, _Raw(body))
        return None

    topics = ["tents", "stoves", "lanterns", "backpacks"]
    project_id = _project()
    client = Page._get_connection().connection.client
    with _guides_site(topics) as s:
        source = knowledge.add_url(project_id, s.url + "/", "manual")
        messages = _messages_for(source.source_id)
        client.meta.events.register_first("before-send.dynamodb", refuse_the_first_page_records)
        try:
            first = invoke_sqs("CrawlWorkerFunction", messages, "BOTPLOT_CRAWL_QUEUE_URL")
        finally:
            client.meta.events.unregister("before-send.dynamodb", refuse_the_first_page_records)
        assert len(refused) == 1 and len(knowledge_env.embedding_requests) >= 3  # later slices were ready
        assert first == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
        stored, _ = _source(project_id, source.source_id)
        assert stored.status == "processing" and list(Page.query(source.source_id)) == []
        # the refused slice's chunks reached the index before its page records were refused; no later slice did
        assert len({c.url for c in _chunks(project_id, source.source_id)}) == 1

        assert invoke_sqs("CrawlWorkerFunction", messages, "BOTPLOT_CRAWL_QUEUE_URL") == {"batchItemFailures": []}
    delete("BOTPLOT_CRAWL_QUEUE_URL", messages)
    stored, report = _source(project_id, source.source_id)
    chunks = _chunks(project_id, source.source_id)
    assert stored.status == "ready" and report["counts"]["added"] == len(topics) + 1
    assert sorted(c.url for c in chunks) == sorted(p.url for p in Page.query(source.source_id))
    assert len(chunks) == len({c.chunk_id for c in chunks}) == len(topics) + 1 == stored.chunk_count


def test_progress_counts_are_written_at_most_every_two_seconds_and_only_for_the_sources_own_crawl(knowledge_env,
                                                                                                   monkeypatch):
    """README "Progress": each phase is written at once, counts within a phase when the last write is
    2 s old (the crawl's clock is stood in for), and a crawl no longer the source's writes nothing."""
    from types import SimpleNamespace

    from botplot.db.knowledge import Source
    from botplot.knowledge import ingest
    from botplot.services import knowledge

    now = {"monotonic": 1000.0}
    monkeypatch.setattr(ingest, "time", SimpleNamespace(monotonic=lambda: now["monotonic"]))
    project_id = _project()
    source = knowledge.add_url(project_id, "https://docs.example.com/", "manual")
    delete("BOTPLOT_CRAWL_QUEUE_URL", _messages_for(source.source_id))  # no worker runs it here

    def shown():
        stored = json.loads(Source.get(project_id, source.source_id).progress)
        assert stored.pop("updatedAt")
        return stored

    progress = ingest.Progress(Source.get(project_id, source.source_id), source.crawl_job_id, "2031-01-31T22:00:00Z")
    assert shown() == {"phase": "crawling", "pagesFetched": 0, "pagesQueued": 0, "pagesEmbedded": 0,
                       "pagesToEmbed": 0, "startedAt": "2031-01-31T22:00:00Z"}
    now["monotonic"] = 1001.75
    progress.update(pagesFetched=3, pagesQueued=9)
    assert (shown()["pagesFetched"], shown()["pagesQueued"]) == (0, 0)  # 1.75 s after the last write
    now["monotonic"] = 1002.0
    progress.update(pagesFetched=4)
    assert (shown()["pagesFetched"], shown()["pagesQueued"]) == (4, 9)  # 2 s: written, with what came before
    now["monotonic"] = 1003.0
    progress.phase("embedding", pagesQueued=0)  # a phase is written at once, whenever the last write was
    assert shown() == {"phase": "embedding", "pagesFetched": 4, "pagesQueued": 0, "pagesEmbedded": 0,
                       "pagesToEmbed": 0, "startedAt": "2031-01-31T22:00:00Z"}

    newer = knowledge.recrawl(project_id, source.source_id)  # a newer crawl now owns the source
    delete("BOTPLOT_CRAWL_QUEUE_URL", _messages_for(source.source_id))
    now["monotonic"] = 1020.0
    progress.update(pagesEmbedded=4)
    progress.phase("indexing")  # refused by the condition, silently
    stored = Source.get(project_id, source.source_id)
    assert (stored.crawl_job_id, stored.progress) == (newer.crawl_job_id, None)


def test_a_jobs_result_says_what_it_did(knowledge_env, site, monkeypatch):
    """What the worker returns for a job, which Powertools Idempotency stores and returns again for a
    redelivered message: ready with the pages and model calls, failed with the reason, or skipped
    (the source deleted, or a newer crawl queued) without fetching anything."""
    from botplot.config import reload_settings
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.ingest import crawl_source
    from botplot.services import knowledge

    project_id = _project()
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    delete("BOTPLOT_CRAWL_QUEUE_URL", _messages_for(source.source_id))
    assert crawl_source(project_id, source.source_id, source.crawl_job_id, time_budget=600) == {
        "status": "ready", "pages": 4, "embeddingCalls": 1}
    fetched = len(site.requests)

    newer = knowledge.recrawl(project_id, source.source_id)
    delete("BOTPLOT_CRAWL_QUEUE_URL", _messages_for(source.source_id))
    assert crawl_source(project_id, source.source_id, source.crawl_job_id, time_budget=600) == {
        "status": "skipped", "reason": "superseded by a newer crawl"}
    assert len(site.requests) == fetched
    stored, _ = _source(project_id, source.source_id)
    assert (stored.status, stored.crawl_job_id) == ("processing", newer.crawl_job_id)

    site.pages["/help/contact"] = ("text/html", page("Contact", "<h1>Contact</h1><p>Call us at 555-0100.</p>"))
    site.pages["/"] = ("text/html", page("Help", "<h1>Help</h1><p>How can we help?</p>", ["/help/contact"]))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")  # the model refuses the changed pages
    reload_settings()
    default_embedder.cache_clear()
    assert crawl_source(project_id, source.source_id, newer.crawl_job_id, time_budget=600) == {
        "status": "failed", "error": "embedding failed: 401 from the model endpoint"}

    site.pages.clear()  # every page answers 404 now
    assert crawl_source(project_id, source.source_id, newer.crawl_job_id, time_budget=600) == {
        "status": "failed", "error": "HTTP 404"}
    stored, _ = _source(project_id, source.source_id)
    assert (stored.status, stored.error) == ("failed", f"Could not crawl {site.url}/: HTTP 404")

    knowledge.delete(project_id, source.source_id)
    assert crawl_source(project_id, source.source_id, newer.crawl_job_id, time_budget=600) == {
        "status": "skipped", "reason": "source deleted"}


def test_a_resync_out_of_time_before_its_first_page_keeps_every_page(knowledge_env, site):
    """The crawl's time budget (the worker's: its Lambda's time left, less a minute) spent before a
    page is fetched: the source is ready again with what it had, the report saying why."""
    from botplot.knowledge.ingest import crawl_source
    from botplot.services import knowledge

    project_id = _project()
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    _run(_messages_for(source.source_id))
    before = sorted(c.chunk_id for c in _chunks(project_id, source.source_id))
    newer = knowledge.recrawl(project_id, source.source_id)
    delete("BOTPLOT_CRAWL_QUEUE_URL", _messages_for(source.source_id))
    assert crawl_source(project_id, source.source_id, newer.crawl_job_id, time_budget=0) == {
        "status": "ready", "pages": 0, "embeddingCalls": 0}
    stored, report = _source(project_id, source.source_id)
    assert (stored.status, stored.error, report["truncated"]) == ("ready", None, "time budget of 0 s reached")
    assert report["counts"]["removed"] == 0 and sorted(c.chunk_id for c in _chunks(project_id, source.source_id)) == before



def test_a_project_deleted_since_its_crawl_was_queued_is_crawled_at_the_free_plans_page_limit(knowledge_env, site,
                                                                                             monkeypatch):
    from botplot.config import reload_settings
    from botplot.db.projects import Project
    from botplot.knowledge.ingest import crawl_source
    from botplot.services import knowledge

    monkeypatch.setenv("BOTPLOT_PAGE_LIMITS", '{"free": 1}')
    reload_settings()
    project_id = _project("enterprise")
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    delete("BOTPLOT_CRAWL_QUEUE_URL", _messages_for(source.source_id))
    # as when delete_project removes the source, then the project, between the job's reading of each
    Project.get(project_id).delete()
    assert crawl_source(project_id, source.source_id, source.crawl_job_id, time_budget=600)["pages"] == 1
    _, report = _source(project_id, source.source_id)
    assert report["truncated"] == "page limit of 1 reached"


def test_a_crawl_out_of_time_indexes_what_it_fetched_and_shows_nothing_left_to_fetch(knowledge_env, site,
                                                                                     monkeypatch):
    """The time budget runs out after the first batch of pages (the crawler's clock stood in for: a
    second a reading): those pages are indexed, the report says why it stopped, and the progress of
    the embedding phase shows no page queued any more."""
    import itertools
    from types import SimpleNamespace

    from botplot.knowledge import crawler
    from botplot.knowledge.ingest import crawl_source
    from botplot.services import knowledge

    seen = _progress_writes(monkeypatch)
    ticks = itertools.count()
    monkeypatch.setattr(crawler, "time", SimpleNamespace(monotonic=lambda: float(next(ticks)), sleep=time.sleep))
    project_id = _project()
    source = knowledge.add_url(project_id, site.url + "/", "manual")
    delete("BOTPLOT_CRAWL_QUEUE_URL", _messages_for(source.source_id))
    result = crawl_source(project_id, source.source_id, source.crawl_job_id, time_budget=1)
    stored, report = _source(project_id, source.source_id)
    assert report["truncated"] == "time budget of 1 s reached" and stored.status == "ready"
    assert result["pages"] == report["counts"]["added"] == len({c.url for c in _chunks(project_id, source.source_id)}) > 0
    assert [s for s in seen if s["phase"] == "crawling"][-1]["pagesQueued"] > 0  # found, not fetched
    assert all(s["pagesQueued"] == 0 for s in seen if s["phase"] != "crawling") and seen[-1]["phase"] == "indexing"
