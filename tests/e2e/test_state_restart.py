"""The local stack keeps its state across restarts: projects, keys, knowledge, conversations and
webhooks are there after a stop and a start; FRESH=1 starts empty."""

from __future__ import annotations

from tests.support.waiting import wait_until_processed
from tests.support.receivers import PythonReceiver
from tests.support.stack import LocalStack


def test_a_restart_keeps_projects_keys_sources_conversations_and_webhooks(tmp_path, site):
    stack = LocalStack(tmp_path / ".botplot")
    receiver = PythonReceiver().start()
    try:
        stack.start()
        demo = dict(stack.info)
        p = stack.new_project("enterprise", "Kept across restarts")
        with stack.client(p["secretKey"]) as admin, stack.client(p["publicKey"]) as visitor:
            url_source = admin.post("/api/v1/knowledge/url", json={"url": site.url + "/"}).json()["sourceId"]
            qa_source = admin.post("/api/v1/knowledge/qa", json={"question": "Do you price match?",
                                                                  "answer": "Yes, within 14 days."}).json()["sourceId"]
            chunks_before = wait_until_processed(admin, url_source)["source"]["chunkCount"]
            hook = admin.post(f"/api/v1/projects/{p['projectId']}/webhooks",
                              json={"url": receiver.url, "events": ["lead.captured"]}).json()["webhook"]
            receiver.secret = hook["secret"]
            conversation = visitor.post("/api/v1/chat", json={"message": "How long does shipping take?"}).json()
            visitor.post("/api/v1/chat/lead", json={"email": "before@example.com"})
            receiver.wait_for(lambda r: r.events("lead.captured"))
        assert stack.stop() == 0

        stack.start()
        assert {k: stack.info[k] for k in ("projectId", "publicKey", "secretKey")} == \
               {k: demo[k] for k in ("projectId", "publicKey", "secretKey")}
        assert p["projectId"] in [x["projectId"] for x in stack.cli("project", "list")]
        with stack.client(p["secretKey"]) as admin, stack.client(p["publicKey"]) as visitor:
            sources = {s["id"]: s for s in admin.get("/api/v1/knowledge").json()["sources"]}
            assert sources[url_source]["status"] == "ready" and sources[url_source]["chunkCount"] == chunks_before
            assert sources[qa_source]["status"] == "ready"
            hooks = admin.get(f"/api/v1/projects/{p['projectId']}/webhooks").json()["webhooks"]
            assert [h["id"] for h in hooks] == [hook["id"]]
            stored = admin.get(f"/api/v1/conversations/{conversation['conversationId']}")
            assert stored.status_code == 200
            answer = visitor.post("/api/v1/chat", json={"message": "How long does standard shipping take?"}).json()
            assert answer["citations"][0]["url"].startswith(site.url + "/help/shipping")  # the index was kept too
            price = visitor.post("/api/v1/chat", json={"message": "Do you price match?"}).json()
            assert "within 14 days" in price["response"]
            # the restored outbox stream delivers what is written now, and nothing already delivered again
            visitor.post("/api/v1/chat/lead", json={"email": "after@example.com"})
            receiver.wait_for(lambda r: len(r.events("lead.captured")) == 2)
        assert stack.stop() == 0
        assert [e["data"]["email"] for e in receiver.events()] == ["before@example.com", "after@example.com"]
        assert all(r["valid"] for r in receiver.received)

        stack.env["FRESH"] = "1"
        stack.start()
        assert stack.info["projectId"] != demo["projectId"]
        with stack.client(p["secretKey"]) as admin:
            assert admin.get("/api/v1/knowledge").status_code == 401
    finally:
        stack.stop()
        receiver.stop()
