"""Load on the local stack: 200 concurrent /chat visitors and 50 concurrent SSE streams, a minute
each (locust, headless, a bounded run), with latency percentiles, errors, and the monthly quota
counter checked against the number of calls made.

The local stack runs every function, moto and the workers in one Python process on this machine,
so the figures describe that process, not Lambda (where each concurrent request has its own
instance); they show that nothing fails and nothing is miscounted under concurrency.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.support import scratch
from tests.support.stack import LocalStack

ROOT = Path(__file__).resolve().parents[1]
DURATION = os.environ.get("BOTPLOT_LOAD_SECONDS", "60")


def _usage(stack, project_id: str) -> int:
    from botplot import clock

    item = stack.table("USAGE").get_item(Key={"projectId": project_id, "month": clock.month(clock.now())})
    return int(item.get("Item", {}).get("calls", 0))


def _user_messages(stack, project_id: str) -> int:
    """Visitor messages written: one per chat call that passed authentication and quota."""
    table, total, kwargs = stack.table("MESSAGES"), 0, {}
    while True:
        page = table.scan(ProjectionExpression="projectId, #r", ExpressionAttributeNames={"#r": "role"}, **kwargs)
        total += sum(1 for m in page["Items"] if m["projectId"] == project_id and m["role"] == "user")
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _locust(stack, key: str, mode: str, users: int, work: Path) -> dict:
    prefix = work / mode
    user_class = {"chat": "ChatVisitor", "stream": "StreamVisitor"}[mode]
    subprocess.run([str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"),
                    user_class,
                    "--headless", "-u", str(users), "-r", str(users), "-t", f"{DURATION}s", "--host", stack.url,
                    "--csv", str(prefix), "--only-summary", "--stop-timeout", "30", "--loglevel", "ERROR"],
                   env={**os.environ, "BOTPLOT_LOAD_KEY": key}, check=False,
                   capture_output=True, text=True, timeout=int(DURATION) + 180)
    with open(f"{prefix}_stats.csv") as stats:
        row = next(r for r in csv.DictReader(stats) if r["Name"] != "Aggregated")
    return {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "p50": float(row["50%"]), "p99": float(row["99%"]), "rps": float(row["Requests/s"])}


def run() -> dict:
    work = scratch("botplot-load-")
    stack = LocalStack(work / ".botplot", {"BOTPLOT_PLAN_LIMITS": '{"enterprise": 1000000}',
                                           "BOTPLOT_LOG_LEVEL": "ERROR"}).start()
    figures = {}
    try:
        project = stack.new_project("enterprise", "Load")
        with stack.client(project["secretKey"]) as c:
            for question, answer in (("What are your opening hours?", "9am to 5pm, Monday to Friday."),
                                     ("How long does shipping take?", "Standard shipping takes 3 to 5 days."),
                                     ("What is your return policy?", "Returns are accepted within 30 days.")):
                c.post("/api/v1/knowledge/qa", json={"question": question, "answer": answer})
        print(f"load on the local stack ({DURATION} s each, locust headless, no think time)")
        for mode, users in (("chat", 200), ("stream", 50)):
            before, written_before = _usage(stack, project["projectId"]), _user_messages(stack, project["projectId"])
            result = _locust(stack, project["publicKey"], mode, users, work)
            # calls still in flight when locust stopped its users finish on the server: wait until
            # both figures have stood still for 15 s (a slow turn can sit between its quota update and
            # its message write for several seconds under this load)
            counted = written = -1
            still_since, deadline = time.monotonic(), time.monotonic() + 180
            while time.monotonic() < deadline:
                time.sleep(3)
                now = (_usage(stack, project["projectId"]) - before,
                       _user_messages(stack, project["projectId"]) - written_before)
                if now != (counted, written):
                    (counted, written), still_since = now, time.monotonic()
                elif time.monotonic() - still_since >= 15:
                    break
            result.update(quota_counted=counted, messages_written=written)
            figures[mode] = result
            route = "/chat" if mode == "chat" else "/chat/stream (until done)"
            print(f"  {users:3d} concurrent {route:26s} {result['requests']:6d} calls completed, {result['rps']:5.1f}/s, "
                  f"p50 {result['p50']:6.0f} ms, p99 {result['p99']:6.0f} ms, errors {result['failures']}")
            print(f"      quota counter +{counted}, visitor messages written {written} "
                  f"({'exact' if counted == written else 'MISMATCH'}; calls cut off when the run stopped are "
                  "counted and answered on the server)")
    finally:
        stack.stop()
    return figures


if __name__ == "__main__":
    run()
