"""Answers from knowledge, over HTTP against the local stack, with an OpenAI-compatible fake served
on 127.0.0.1 (chat completions streamed in OpenAI's SSE format, and embeddings)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from boto3.dynamodb.conditions import Key

from tests.support.fake_openai import FakeOpenAI
from tests.support.waiting import wait_until_processed
from tests.support.site import shop_site
from tests.support.stack import LocalStack

FALLBACK_START = "I'm sorry, I can't answer right now"


@pytest.fixture(scope="module")
def llm():
    fake = FakeOpenAI()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def llm_stack(tmp_path_factory, llm):
    s = LocalStack(tmp_path_factory.mktemp("llm-stack") / ".botplot", {
        "OPENAI_API_KEY": "sk-test-not-a-real-key", "OPENAI_BASE_URL": llm.base_url,
        "BOTPLOT_LLM_TIMEOUT_SECONDS": "2"}).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def trained(llm_stack):
    """A project trained on the test shop's help site and one Q&A pair."""
    with shop_site() as site:
        p = llm_stack.new_project("enterprise", "Acme")
        with llm_stack.client(p["secretKey"]) as c:
            source_id = c.post("/api/v1/knowledge/url", json={"url": site.url + "/"}).json()["sourceId"]
            c.post("/api/v1/knowledge/qa", json={"question": "What are your opening hours?",
                                                 "answer": "We are open Monday to Friday, 9am to 5pm EST."})
            wait_until_processed(c, source_id, timeout=60)
        yield {**p, "site": site, "sourceId": source_id}


def chat(stack, key, **body):
    with stack.client(key) as c:
        return c.post("/api/v1/chat", json=body)


def stored_messages(stack, conversation_id):
    items = stack.table("MESSAGES").query(KeyConditionExpression=Key("conversationId").eq(conversation_id))["Items"]
    return sorted(items, key=lambda m: m["messageId"])


def test_prompt_carries_the_retrieved_context_and_the_conversation(llm_stack, llm, trained):
    first = chat(llm_stack, trained["publicKey"], message="What is your return policy?").json()
    llm.plans.append({"tokens": ["Refunds", " take", " 5", " days", "."]})
    second = chat(llm_stack, trained["publicKey"], message="And how long do refunds take?",
                  conversationId=first["conversationId"]).json()
    assert second["response"] == "Refunds take 5 days."
    request = llm.chat_requests[-1]
    system, *turns = request["messages"]
    assert system["role"] == "system"
    assert "within 5 business days" in system["content"]  # the retrieved passage
    assert "Acme" in system["content"]  # the project's name
    assert [(m["role"], m["content"]) for m in turns] == [
        ("user", "What is your return policy?"), ("assistant", first["response"]),
        ("user", "And how long do refunds take?")]
    assert request["stream"] is True


def test_answers_cite_their_sources_and_store_what_they_used(llm_stack, trained):
    body = chat(llm_stack, trained["publicKey"], message="How long does standard shipping take?").json()
    assert body["sources"] >= 1 and body["sources"] == len(body["citations"])
    assert len(stored_messages(llm_stack, body["conversationId"])[-1]["chunkIds"]) >= body["sources"]
    best = body["citations"][0]
    assert best["url"].startswith(trained["site"].url + "/help/shipping#:~:text=")
    assert best["title"] == "Shipping" and best["sourceId"] == trained["sourceId"]
    assert "3 to 5 business days" in best["snippet"] and 0 < best["score"] <= 1
    assert [c["score"] for c in body["citations"]] == sorted((c["score"] for c in body["citations"]), reverse=True)
    assistant = stored_messages(llm_stack, body["conversationId"])[-1]
    assert assistant["messageId"] == body["messageId"] and assistant["grounded"] is True
    assert 0 < float(assistant["confidenceScore"]) <= 1
    assert trained["site"].url + "/help/shipping" in assistant["pageUrls"]


def test_stream_passes_tokens_through_as_the_model_produces_them(llm_stack, llm, trained):
    tokens = ["One", " two", " three", " four", " five"]
    llm.plans.append({"tokens": tokens, "delay": 0.4})
    arrivals, events = [], []
    headers = {"Authorization": f"Bearer {trained['publicKey']}"}
    with httpx.stream("POST", f"{llm_stack.url}/api/v1/chat/stream", json={"message": "What is your return policy?"},
                      headers=headers, timeout=30) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(line)
                arrivals.append(time.monotonic())
    import json

    parsed = [json.loads(e[6:]) for e in events]
    assert [e["content"] for e in parsed if e["type"] == "token"] == tokens
    done = parsed[-1]
    assert done["type"] == "done" and done["sources"] >= 1 and done["citations"]
    # the first token arrived while the model was still producing the rest (5 × 0.4 s)
    assert arrivals[-1] - arrivals[0] >= 1.5
    assert stored_messages(llm_stack, done["conversationId"])[-1]["content"] == "One two three four five"


def test_a_failing_model_is_retried_once(llm_stack, llm, trained):
    llm.plans.extend([{"status": 500}, {"tokens": ["Recovered", "."]}])
    body = chat(llm_stack, trained["publicKey"], message="What is your return policy?").json()
    assert body["response"] == "Recovered."
    # the warning names the chat function, not whichever worker ran last in the same process
    logged = [json.loads(line) for line in llm_stack.log_path.read_text().splitlines() if line.startswith("{")]
    warning = [entry for entry in logged if entry["message"] == "chat completion failed"][-1]
    assert warning["function_name"] == "ChatFunction" and warning["attempt"] == 1


@pytest.mark.parametrize("plans", [[{"status": 500}, {"status": 503}], [{"hang": 3}, {"hang": 3}]],
                         ids=["errors", "timeouts"])
def test_model_failures_fall_back_honestly_and_keep_the_message(llm_stack, llm, trained, plans):
    llm.plans.extend(plans)
    r = chat(llm_stack, trained["publicKey"], message="What is your return policy?")
    assert r.status_code == 200
    body = r.json()
    assert body["response"].startswith(FALLBACK_START)
    stored = stored_messages(llm_stack, body["conversationId"])
    assert [(m["role"], m["content"]) for m in stored] == [("user", "What is your return policy?"),
                                                            ("assistant", body["response"])]


def test_a_stream_cut_mid_answer_ends_with_an_error_event(llm_stack, llm, trained):
    import json

    llm.plans.extend([{"tokens": ["Partial", " answer", " here"], "cut_after": 2}])
    with llm_stack.client(trained["publicKey"]) as c:
        raw = c.post("/api/v1/chat/stream", json={"message": "What is your return policy?"}).text
    events = [json.loads(f[6:]) for f in raw.split("\n\n") if f.startswith("data: ")]
    assert [e["content"] for e in events if e["type"] == "token"] == ["Partial", " answer"]
    assert events[-1]["type"] == "error" and events[-1]["code"] == "LLM_UNAVAILABLE"
    stored = stored_messages(llm_stack, events[-1]["conversationId"])
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[1]["content"] == "Partial answer" and stored[1]["messageId"] == events[-1]["messageId"]


def test_nothing_relevant_is_said_plainly_and_counts_as_unresolved(llm_stack, llm, trained):
    llm.plans.append({"tokens": ["I", " don't", " know", "."]})
    body = chat(llm_stack, trained["publicKey"], message="Who painted the Mona Lisa?").json()
    assert body["sources"] == 0 and body["citations"] == []
    assert "No passages" in llm.chat_requests[-1]["messages"][0]["content"]
    conversation = llm_stack.table("CONVERSATIONS").get_item(
        Key={"projectId": trained["projectId"], "conversationId": body["conversationId"]})["Item"]
    assert conversation["unresolved"] is True


def test_unchanged_resync_makes_no_embedding_request(llm_stack, llm, trained):
    before = len(llm.embedding_requests)
    with llm_stack.client(trained["secretKey"]) as c:
        c.post(f"/api/v1/knowledge/{trained['sourceId']}/recrawl")
        body = wait_until_processed(c, trained["sourceId"], timeout=60)
    assert body["crawlReport"]["counts"]["unchanged"] == 4 and body["crawlReport"]["embeddingCalls"] == 0
    assert len(llm.embedding_requests) == before
