"""A visitor with more conversations and leads than one page: the export and the erasure read them a
bounded page at a time (every request for the visitor's items asks for at most ``PAGE``) and still
find every one."""

from __future__ import annotations

import pytest

from botplot import ids
from botplot.errors import ApiError


@pytest.fixture
def requests_made():
    """(operation, parameters) of every DynamoDB request this process sends, through botocore's hooks."""
    from botplot.db.conversations import Conversation
    from botplot.db.leads import Lead

    seen = []

    def record(params, **kwargs):
        seen.append((kwargs["event_name"].rsplit(".", 1)[-1], params))

    clients = [Conversation._get_connection().connection.client, Lead._get_connection().connection.client]
    for client in clients:
        client.meta.events.register("provide-client-params.dynamodb.*", record)
    yield seen
    for client in clients:
        client.meta.events.unregister("provide-client-params.dynamodb.*", record)


def test_a_big_visitor_is_read_and_erased_page_by_page(moto_endpoint, monkeypatch, requests_made):
    from botplot.services import chat, visitors, widget
    from botplot.services.auth import Principal
    from botplot.services.chat import AnswerRecord
    from botplot.services.projects import create_project

    monkeypatch.setattr(visitors, "PAGE", 3)
    project, _ = create_project("big visitor", "enterprise")
    caller = Principal(project.project_id, "enterprise", "public", "big visitor", None)
    visitor = f"v-{ids.uuid7()}"
    made = []
    for n in range(7):
        turn = chat.begin(caller, f"Question {n}?", None, visitor)
        chat.finish(turn, AnswerRecord(text="An answer.", grounded=True))
        made.append(turn.conversation.conversation_id)
    for n in range(4):
        widget.capture_lead(caller, made[n], None, f"Lead {n}", f"lead{n}@example.com", None)

    requests_made.clear()
    doc = visitors.export(project.project_id, visitor)
    assert [c["id"] for c in doc["conversations"]] == made
    assert sorted(lead["email"] for lead in doc["leads"]) == [f"lead{n}@example.com" for n in range(4)]
    visitor_queries = [p for op, p in requests_made if op == "Query" and p.get("IndexName") == "byVisitor"]
    assert len(visitor_queries) >= 4  # 7 conversations and 4 leads, 3 a page
    assert all(p["Limit"] == 3 for p in visitor_queries)
    batch_gets = [p for op, p in requests_made if op == "BatchGetItem"]
    assert batch_gets and all(len(keys["Keys"]) <= 3 for p in batch_gets for keys in p["RequestItems"].values())

    erased = visitors.erase(project.project_id, visitor)
    assert erased["erased"] == {"conversations": 7, "messages": 14, "ratings": 0, "leads": 4}
    with pytest.raises(ApiError) as unknown:
        visitors.export(project.project_id, visitor)
    assert unknown.value.code == "VISITOR_NOT_FOUND"
