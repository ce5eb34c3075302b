"""Every handler invoked with every sample event of events/, against moto, as `sam local invoke -e`
would: HTTP functions through their Lambda handler (Mangum), the chat function's app through the
same conversion the Lambda Web Adapter makes, workers with their SQS batches and stream records,
schedules with their input."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest
from mangum import Mangum

from botplot_dev import template as tpl
from botplot_dev.lambda_runtime import LambdaContext, load_module
from tests.support.receivers import PythonReceiver
from tests.support.site import Site, store_site
from tests.support.workers import receive_all

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
FUNCTION_OF = {tpl.code_dir(name).name: name for name in tpl.resources("AWS::Serverless::Function")}

# (event file, expected HTTP status or None for non-HTTP events), in an order that builds on itself
SEQUENCE = [
    ("chat/chat.json", 200), ("chat/chat-continue.json", 200), ("chat/chat-stream.json", 200),
    ("chat/rating.json", 200), ("chat/lead.json", 200), ("chat/handoff.json", 200), ("chat/config.json", 200),
    ("knowledge/list.json", 200), ("knowledge/add-url.json", 200), ("knowledge/add-qa.json", 200),
    ("knowledge/get.json", 200), ("knowledge/recrawl.json", 200), ("crawl_worker/crawl.json", None),
    ("conversations/list.json", 200), ("conversations/get.json", 200), ("conversations/visitor-export.json", 200),
    ("leads/list.json", 200), ("analytics/overview.json", 200), ("analytics/ratings.json", 200), ("analytics/gaps.json", 200),
    ("projects/list-webhooks.json", 200), ("projects/create-webhook.json", 200),
    ("projects/update-webhook.json", 200), ("projects/test-webhook.json", 200),
    ("webhook_worker/outbox-insert.json", None), ("webhook_worker/delivery.json", None),
    ("projects/list-deliveries.json", 200), ("projects/redeliver.json", 200),
    ("projects/branding.json", 200), ("projects/subdomain.json", 200), ("projects/verify-domain.json", 200),
    ("sync_scheduler/daily.json", None), ("sync_scheduler/weekly.json", None), ("idle_closer/scheduled.json", None),
    ("knowledge/delete.json", 200), ("conversations/delete.json", 200), ("leads/delete.json", 200),
    ("conversations/visitor-erase.json", 200), ("projects/delete-webhook.json", 200),
    ("projects/get-settings.json", 200), ("projects/update-settings.json", 200),
    ("projects/identity-secret.json", 200),
    ("projects/require-identity.json", 200), ("chat/chat-verified-visitor.json", 200),
]


def substitute(value, values: dict[str, str]):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "body" and isinstance(item, str):  # JSON inside a string: substitute inside it
                out[key] = json.dumps(substitute(json.loads(item), values))
            else:
                out[key] = substitute(item, values)
        return out
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    if isinstance(value, str):
        for name, replacement in values.items():
            value = value.replace("{{" + name + "}}", replacement)
        return value
    return value


def invoke(function: str, event: dict):
    context = LambdaContext(function, 60)
    if function == "ChatFunction":  # behind the Lambda Web Adapter: the event becomes an HTTP request
        return Mangum(load_module(function).app, lifespan="off")(event, context)
    return load_module(function).handler(event, context)


@pytest.fixture(scope="module")
def world(moto_endpoint, tmp_path_factory):
    env = {"BOTPLOT_INDEX": "sqlite", "BOTPLOT_INDEX_PATH": str(tmp_path_factory.mktemp("events") / "index.sqlite"),
           "BOTPLOT_ALLOW_PRIVATE_TARGETS": "1", "BOTPLOT_EMBEDDER": "none",
           "BOTPLOT_ASSETS_BASE_URL": f"{moto_endpoint}/{os.environ['BOTPLOT_ASSETS_BUCKET']}"}
    patch = pytest.MonkeyPatch()
    for name, value in env.items():
        patch.setenv(name, value)
    from botplot.config import reload_settings
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.index import default_index

    reload_settings()
    default_index.cache_clear()
    default_embedder.cache_clear()
    site = Site(store_site()).__enter__()
    receiver = PythonReceiver().start()
    try:
        from botplot import ids
        from botplot.events import Event
        from botplot.services import chat, knowledge, projects, webhooks, widget
        from botplot.services.auth import Principal
        from botplot.services.chat import AnswerRecord

        project, keys = projects.create_project("Sample events", "enterprise")
        caller = Principal(project.project_id, "enterprise", "public", "Sample events", None)
        turn = chat.begin(caller, "Hello", None, "visitor_abc")
        chat.finish(turn, AnswerRecord("Hi!", grounded=True))
        qa = knowledge.add_qa(project.project_id, "What are your hours?", "9 to 5.")
        url_source = knowledge.add_url(project.project_id, site.url + "/", "manual")
        lead = widget.capture_lead(caller, None, "v", "John Doe", "john@example.com", None)
        hook = webhooks.create(project.project_id, receiver.url, ["lead.captured"], None)
        receiver.secret = hook.secret
        receive_all(os.environ["BOTPLOT_CRAWL_QUEUE_URL"], wait=0)
        receive_all(os.environ["BOTPLOT_WEBHOOK_QUEUE_URL"], wait=0)
        values = {"projectId": project.project_id, "secretKey": keys.secret_key, "publicKey": keys.public_key,
                  "conversationId": turn.conversation.conversation_id, "sourceId": qa.source_id,
                  "urlSourceId": url_source.source_id, "leadId": lead.lead_id, "webhookId": hook.webhook_id,
                  "webhookUrl": receiver.url, "eventId": ids.uuid7(),
                  "payload": Event(project.project_id, "lead.captured", {"lead_id": lead.lead_id}).payload()}
        yield {"values": values, "site": site, "receiver": receiver, "project": project}
    finally:
        receiver.stop()
        site.__exit__(None, None, None)
        patch.undo()
        reload_settings()
        default_index.cache_clear()
        default_embedder.cache_clear()


def test_every_function_and_route_has_a_sample_event():
    files = {str(p.relative_to(EVENTS)) for p in EVENTS.rglob("*.json")}
    assert files == {name for name, _ in SEQUENCE}
    assert {name.split("/")[0] for name in files} == set(FUNCTION_OF)
    routes = {(r.method, r.path) for r in tpl.routes() if r.method != "OPTIONS"}
    covered = {(json.loads((EVENTS / f).read_text())["httpMethod"], json.loads((EVENTS / f).read_text())["resource"])
               for f in files if "httpMethod" in json.loads((EVENTS / f).read_text())}
    assert routes == covered


def test_committed_events_are_what_the_generator_writes():
    """events/ is generated (``python -m botplot_dev.sample_events``): an event edited by hand, such as
    an Idempotency-Key header added only to the JSON, would be lost at the next generation."""
    from botplot_dev.sample_events import events, render

    generated = {name: render(event) for name, event in events().items()}
    committed = {str(p.relative_to(EVENTS)): p.read_text() for p in EVENTS.rglob("*.json")}
    assert set(committed) == set(generated)
    assert [name for name in generated if committed[name] != generated[name]] == []


def test_every_handler_answers_every_sample_event(world):
    values = world["values"]
    for name, expected in SEQUENCE:
        function = FUNCTION_OF[name.split("/")[0]]
        event = substitute(json.loads((EVENTS / name).read_text()), values)
        if name == "crawl_worker/crawl.json":
            from botplot.services import knowledge

            event = substitute(event, {"jobId": knowledge.get(values["projectId"], values["urlSourceId"]).crawl_job_id})
        if name == "webhook_worker/delivery.json":
            from botplot.db.webhooks import Delivery

            (delivery,) = [d for d in Delivery.query(values["webhookId"]) if d.event == "lead.captured"]
            values["deliveryId"] = delivery.delivery_id
            event = substitute(json.loads((EVENTS / name).read_text()), values)
        result = invoke(function, event)
        if name == "projects/identity-secret.json":  # what the customer's server computes from it
            secret = json.loads(result["body"])["identity_secret"].encode()
            values["visitorHash"] = hmac.new(secret, b"visitor_abc", hashlib.sha256).hexdigest()
        if expected is not None:
            assert result["statusCode"] == expected, (name, result)
            body = result["body"]
            if name == "chat/chat-stream.json":
                assert body.rstrip().splitlines()[-1].startswith('data: {"type":"done"'), body
            else:
                assert isinstance(json.loads(body), dict), (name, body)
            assert "x-ratelimit-remaining" in {k.lower() for k in result["headers"]}, name
        elif "Records" in event:
            assert result == {"batchItemFailures": []}, (name, result)
        else:
            assert isinstance(result, dict), (name, result)

    from botplot.services import knowledge

    assert knowledge.get(values["projectId"], values["urlSourceId"]).status == "ready"
    receiver = world["receiver"]
    assert {json.loads(r["body"])["event"] for r in receiver.received} >= {"ping", "lead.captured"}
    assert all(r["valid"] for r in receiver.received)


def test_unedited_http_events_are_refused_in_the_reference_shape(world):
    for name, expected in SEQUENCE:
        if expected is None:
            continue
        function = FUNCTION_OF[name.split("/")[0]]
        result = invoke(function, json.loads((EVENTS / name).read_text()))
        assert result["statusCode"] == 401, name
        assert set(json.loads(result["body"])) == {"error", "code"}
