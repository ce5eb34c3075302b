"""No webhook event is lost when a function dies between its write and what follows it.

The local stack runs as `make run` runs it; a lead is captured by the chat function's app in a
process of its own that is killed (SIGKILL) the moment DynamoDB has committed the lead's
transaction. The event still reaches a real receiver, once, correctly signed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.support.receivers import PythonReceiver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _kill_after_the_write(stack, key: str, path: str, body: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, **stack.info["environment"], "AWS_ENDPOINT_URL": stack.info["awsEndpoint"],
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "tests.support.killed_writer", "POST", path, key, json.dumps(body)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_a_function_killed_right_after_its_write_still_delivers_the_event_once(stack):
    owner = stack.new_project("enterprise", "Killed mid-request")
    receiver = PythonReceiver().start()
    try:
        with stack.client(owner["secretKey"]) as c:
            created = c.post(f"/api/v1/projects/{owner['projectId']}/webhooks",
                             json={"url": receiver.url, "events": ["lead.captured"]})
        assert created.status_code == 200, created.text
        hook = created.json()["webhook"]
        receiver.secret = hook["secret"]

        killed = _kill_after_the_write(stack, owner["publicKey"], "/api/v1/chat/lead",
                                       {"name": "Killed Kim", "email": "kim@example.com"})
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
        assert "killed after TransactWriteItems" in killed.stdout

        with stack.client(owner["secretKey"]) as c:
            (lead,) = c.get("/api/v1/leads", params={"search": "kim@example.com"}).json()["leads"]
        receiver.wait_for(lambda r: r.events("lead.captured"), timeout=30)

        # the delivery is stored after the receiver answered: once it reads succeeded after one
        # attempt, no other attempt of this event can still be on its way
        deadline = time.monotonic() + 30
        while True:
            with stack.client(owner["secretKey"]) as c:
                deliveries = c.get(f"/api/v1/projects/{owner['projectId']}/webhooks/{hook['id']}/deliveries").json()
            if [d["status"] for d in deliveries["deliveries"]] == ["succeeded"]:
                break
            assert time.monotonic() < deadline, deliveries
            time.sleep(0.2)
        (delivery,) = deliveries["deliveries"]
        assert delivery["attempts"] == 1 and delivery["event"] == "lead.captured"
        (event,) = receiver.events()
        assert event["data"]["lead_id"] == lead["id"] and event["data"]["email"] == "kim@example.com"
        assert event["_delivery"] == delivery["deliveryId"]
        assert len(receiver.received) == 1 and receiver.received[0]["valid"]
    finally:
        receiver.stop()


def test_a_record_failing_every_retry_is_reported_and_holds_up_no_other_event(stack):
    """An outbox item the worker cannot fan out (written by hand, without its payload) is retried as
    the event source mapping says, then described on its on-failure queue; the events after it are
    delivered all the same."""
    owner = stack.new_project("enterprise", "Poisoned outbox")
    receiver = PythonReceiver().start()
    try:
        with stack.client(owner["secretKey"]) as c:
            created = c.post(f"/api/v1/projects/{owner['projectId']}/webhooks",
                             json={"url": receiver.url, "events": ["lead.captured"]})
        receiver.secret = created.json()["webhook"]["secret"]
        outbox = stack.info["environment"]["BOTPLOT_TABLE_OUTBOX"]
        stack.aws("dynamodb").put_item(TableName=outbox, Item={
            "eventId": {"S": "0193a000-0000-7000-8000-000000000000"}, "projectId": {"S": owner["projectId"]},
            "event": {"S": "lead.captured"}})
        with stack.client(owner["publicKey"]) as c:
            assert c.post("/api/v1/chat/lead", json={"email": "after@example.com"}).status_code == 200
        receiver.wait_for(lambda r: r.events("lead.captured"), timeout=30)

        sqs = stack.aws("sqs")
        (dlq,) = [url for url in sqs.list_queues(QueueNamePrefix="botplot-outbox")["QueueUrls"]]
        stream = stack.aws("dynamodb").describe_table(TableName=outbox)["Table"]["LatestStreamArn"]
        deadline = time.monotonic() + 30
        while not (reported := sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages")):
            assert time.monotonic() < deadline, "the failed record was never reported"
        info = json.loads(reported[0]["Body"])["DDBStreamBatchInfo"]
        assert info["streamArn"] == stream and info["batchSize"] >= 1
        (event,) = receiver.events()
        assert event["data"]["email"] == "after@example.com" and receiver.received[0]["valid"]
    finally:
        receiver.stop()
