"""DynamoDB reads of one analytics call at 100 and at 10,000 messages (they should be equal).

Both histories are written through the real chat path (same counters as production), spread
over 30 days by travelling the clock; then one `GET /analytics` and one `GET /analytics/ratings`
are served by the analytics function's app, counting requests and read units with botocore hooks.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

from bench.support import DynamoCounter, start_moto


def _history(messages: int, seed: int):
    import time_machine

    from botplot.services import chat, projects
    from botplot.services.auth import Principal
    from botplot.services.chat import AnswerRecord

    project, keys = projects.create_project(f"analytics {messages}", "enterprise")
    caller = Principal(project.project_id, "enterprise", "public", "bench", None)
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    questions = [f"Question number {i}?" for i in range(60)]
    turns = messages // 2
    conversation, started = None, time.perf_counter()
    for turn in range(turns):
        if conversation is None or rng.random() < 0.3:
            conversation = None
            at = now - timedelta(days=rng.randint(0, 29), minutes=rng.randint(0, 1000))
        with time_machine.travel(at + timedelta(seconds=turn % 50), tick=False):
            t = chat.begin(caller, rng.choice(questions), conversation, f"v{rng.randint(0, 300)}")
            chat.finish(t, AnswerRecord("answer", grounded=rng.random() > 0.1))
            conversation = t.conversation.conversation_id
    return keys.secret_key, time.perf_counter() - started


def run() -> dict:
    start_moto()
    from starlette.testclient import TestClient

    from botplot_dev.router import TemplateRouter

    client = TestClient(TemplateRouter())
    counter = DynamoCounter()
    figures = {}
    print("one analytics call, by history size (30-day period)")
    for messages in (100, 10_000):
        secret, seconds = _history(messages, seed=messages)
        headers = {"Authorization": f"Bearer {secret}"}
        client.get("/api/v1/analytics", headers=headers)  # warm the key cache
        counter.attach()
        row = {}
        for path in ("/api/v1/analytics", "/api/v1/analytics/ratings"):
            with counter.recording():
                assert client.get(path, headers=headers).status_code == 200
            quota = counter.calls.get("UpdateItem", 0)
            row[path] = (counter.total - quota, counter.read_units, counter.estimated_read_units)
        figures[messages] = row
        for path, (requests, rcu, estimated) in row.items():
            print(f"  {messages:6d} messages  {path:26s} {requests:3d} reads  RCU (moto) {rcu:5.1f}  "
                  f"RCU (by item size) {estimated:5.1f}   [history written in {seconds:.0f} s]")
    small, large = figures[100]["/api/v1/analytics"], figures[10_000]["/api/v1/analytics"]
    print(f"  ratio 10,000 : 100 messages, /analytics read units: {large[2] / small[2]:.2f}")
    return figures


if __name__ == "__main__":
    run()
