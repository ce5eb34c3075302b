"""A cursor page reads only its page from DynamoDB, however deep it is; an offset page reads
everything before it. Items read are counted by moto's own answers (``ScannedCount`` of every Query
the leads route makes), through a botocore event hook on the models' client.

The apps run in-process behind the template's router (as API Gateway routes them), on moto."""

from __future__ import annotations

import pytest

LEADS = 30
LIMIT = 5


@pytest.fixture(scope="module")
def api(moto_endpoint):
    from starlette.testclient import TestClient

    from botplot.services.projects import create_project
    from botplot_dev.router import TemplateRouter

    _, keys = create_project("cursor reads", "enterprise")
    client = TestClient(TemplateRouter())
    for i in range(LEADS):
        r = client.post("/api/v1/chat/lead", json={"email": f"reader{i}@example.com"},
                        headers={"Authorization": f"Bearer {keys.public_key}"})
        assert r.status_code == 200
    client.headers["Authorization"] = f"Bearer {keys.secret_key}"
    return client


@pytest.fixture
def items_read():
    """Items DynamoDB read for Query calls (the leads' table, their only Query) while a test runs."""
    from botplot.db.leads import Lead

    counted = {"items": 0, "queries": 0}

    def count(parsed, **_):
        counted["items"] += int(parsed.get("ScannedCount", 0))
        counted["queries"] += 1

    events = Lead._get_connection().connection.client.meta.events
    events.register("after-call.dynamodb.Query", count, unique_id="test-cursor-reads")
    yield counted
    events.unregister("after-call.dynamodb.Query", unique_id="test-cursor-reads")


def read(api, items_read, **params) -> tuple[dict, int]:
    before = items_read["items"]
    r = api.get("/api/v1/leads", params=params)
    assert r.status_code == 200, r.text
    return r.json(), items_read["items"] - before


def test_every_cursor_page_reads_one_page_whatever_its_depth(api, items_read):
    page, cost = read(api, items_read, limit=LIMIT)
    costs, seen = [cost], [lead["id"] for lead in page["leads"]]
    while page["nextCursor"]:
        page, cost = read(api, items_read, limit=LIMIT, cursor=page["nextCursor"])
        costs.append(cost)
        seen.extend(lead["id"] for lead in page["leads"])
        assert page["total"] == LEADS
    assert len(seen) == len(set(seen)) == LEADS
    # limit items, and one more that tells whether a next page exists (none after the last)
    assert costs == [LIMIT + 1] * (LEADS // LIMIT - 1) + [LIMIT]


def test_an_offset_page_reads_everything_before_it(api, items_read):
    deep = LEADS - LIMIT
    _, cost = read(api, items_read, limit=LIMIT, offset=deep)
    assert cost == LEADS  # the offset's items are read and thrown away
