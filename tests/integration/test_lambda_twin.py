"""The Lambda twin: every function of template.yaml run as Lambda would run what `sam build` ships.

Each function runs in a fresh CPython 3.12 whose ``sys.path`` holds only its code directory, the
``python/`` directories of the layers the template gives it (built by the layers' own Makefiles,
for this machine's x86_64) and the boto3/botocore the python3.12 runtime ships; its environment is
the template's, resolved with the parameters' defaults (see botplot_dev/twin/runner.py for the
few replaced values). Every sample event of events/ is sent to its function, in an order where each
builds on the last (ids come from earlier answers, from the queues and from the outbox table's
stream, as in AWS), against moto,
the local OpenAI fake (through the OpenAIBaseUrl parameter and the key in Secrets Manager) and
the tests' OpenSearch node (tests/conftest.py ``opensearch``).

It fails on an import error, an unhandled exception, an answer other than 200, a failed SQS item, an error log line,
an answer given from a fallback because retrieval or the model failed, on any AWS or OpenSearch
call the function's IAM policies (SAM policy templates expanded by samtranslator) do not allow, and
on an event source (queue, stream, on-failure destination) the function's role cannot serve.
The table of every call and the statement allowing it is written to .aws-sam/twin/calls.md.

Run it alone: `.venv/bin/python -m pytest tests/integration/test_lambda_twin.py -q -s`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest

from botplot_dev import template as tpl
from botplot_dev.lambda_runtime import stream_event
from botplot_dev.provision import Provisioned
from botplot_dev.twin import build, iam
from botplot_dev.twin.cfn import Stack
from botplot_dev.twin.runner import BOOT, Invocation, MotoServer, TwinFunction, free_port
from tests.integration.test_sample_events import substitute
from tests.support.fake_openai import FakeOpenAI

# the first run builds four layers (pip) and may start the OpenSearch node: more than the default 300 s
# (under xdist it runs on the worker of the session's node and `sam build`: tests/conftest.py SHARED_MODULES)
pytestmark = pytest.mark.timeout(1200)

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
FUNCTIONS = sorted(tpl.resources("AWS::Serverless::Function"))
FUNCTION_OF = {tpl.code_dir(name).name: name for name in FUNCTIONS}
IN_CI = os.environ.get("CI") == "true"
#: a public address the create-webhook event may name; nothing is ever delivered to it (see seed.py)
CREATED_WEBHOOK_URL = "https://1.1.1.1/botplot-twin"
#: the metrics that mean an answer was given without a dependency (retrieval, model)
FALLBACK_METRICS = {"RetrievalFailures", "ModelFailures"}
FALLBACK_TEXT = "I'm sorry, I can't answer right now"
#: the question of the Q&A pair knowledge/add-qa.json adds
QA_QUESTION = json.loads(json.loads((EVENTS / "knowledge" / "add-qa.json").read_text())["body"])["question"]

# Every sample event, in an order where each builds on what came before.
SEQUENCE = [
    "chat/chat.json", "chat/chat-continue.json", "chat/chat-stream.json", "chat/rating.json", "chat/lead.json",
    "chat/lead.json",  # again, with the same Idempotency-Key: the stored answer is replayed
    "chat/handoff.json", "chat/config.json",
    "knowledge/add-url.json", "knowledge/add-qa.json", "knowledge/add-qa.json",
    "knowledge/list.json",  # a page of one of the two sources: its nextCursor is signed
    "knowledge/get.json",
    "knowledge/recrawl.json", "crawl_worker/crawl.json",
    "chat/chat.json",  # again, now that the project has knowledge: the answer must come from it
    "conversations/list.json", "conversations/get.json", "conversations/visitor-export.json", "leads/list.json",
    "analytics/overview.json", "analytics/ratings.json", "analytics/gaps.json",
    "projects/create-webhook.json", "projects/create-webhook.json",
    "projects/list-webhooks.json",  # a page of one of the two webhooks: its nextCursor is signed
    "projects/update-webhook.json",
    "projects/test-webhook.json", "webhook_worker/outbox-insert.json", "webhook_worker/delivery.json",
    "projects/list-deliveries.json", "projects/redeliver.json",
    "projects/branding.json", "projects/subdomain.json", "projects/verify-domain.json",
    "sync_scheduler/daily.json", "sync_scheduler/weekly.json", "idle_closer/scheduled.json",
    "knowledge/delete.json", "conversations/delete.json", "leads/delete.json", "conversations/visitor-erase.json",
    "projects/delete-webhook.json",
    # last: from here on the public key is restricted to some origins and visitors must be verified
    "projects/get-settings.json", "projects/update-settings.json", "projects/identity-secret.json",
    "projects/require-identity.json", "chat/chat-verified-visitor.json",
]
#: the template's key and project cache (BOTPLOT_KEY_CACHE_SECONDS's default, which it does not set)
KEY_CACHE_SECONDS = 15

#: After the sequence, each HTTP function answers once more as the month's last call (the twin
#: project one call short of its limit, neither threshold announced): it crosses both thresholds and
#: writes usage.warning and usage.exhausted to the outbox, which its policy must allow.
LAST_CALLS = ["chat/config.json", "knowledge/list.json", "conversations/list.json", "leads/list.json",
              "analytics/overview.json", "projects/list-webhooks.json"]


def unavailable(reason: str):
    """A missing prerequisite: a failure in CI, a clear skip for a newcomer."""
    if IN_CI:
        pytest.fail(f"Lambda twin cannot run in CI: {reason}")
    print(f"SKIP Lambda twin: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def artifacts():
    python = build.python312()
    if python is None:
        unavailable("no CPython 3.12 (the runtime's version) in $(pyenv root)/versions or on PATH")
    if not iam.TOOLS_PYTHON.exists():
        unavailable(f"{iam.TOOLS_PYTHON} missing (samtranslator): run `make test`, which installs it")
    layers = build.build_layers("x86_64", python)
    return python, layers, build.runtime_sdk("x86_64", python)


@pytest.fixture(scope="module")
def opensearch_target(request):
    """The tests' OpenSearch cluster (tests/conftest.py: ``OPENSEARCH_URL`` or a local node), or
    None where it cannot run (no Java/Maven): the twin then runs without it and reports what it
    could not check. In CI the ``opensearch`` fixture fails instead."""
    try:
        return request.getfixturevalue("opensearch")
    except pytest.skip.Exception:
        return None


class World:
    """The twin's stack: moto, the fake model, the functions' processes, and what the events created."""

    def __init__(self, artifacts, workdir: Path, opensearch):
        self.opensearch_url = opensearch.url if opensearch else None
        self.moto = MotoServer()
        self.fake = FakeOpenAI(dimensions=1536)
        self.xray = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # X-Ray segments land here, unread
        self.xray.bind(("127.0.0.1", 0))
        self.patch = pytest.MonkeyPatch()
        self.patch.setenv("AWS_ENDPOINT_URL", self.moto.endpoint)
        self.functions: dict[str, TwinFunction] = {}
        self.last_chat_call = 0.0  # time.monotonic() of the chat function's last invocation
        try:
            self._start(artifacts, workdir, opensearch)
        except BaseException:
            self.close()
            raise

    def _start(self, artifacts, workdir: Path, opensearch) -> None:
        python, layers, runtime = artifacts
        provisioned = Provisioned(tpl.load(), "us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        secret_name = tpl.parameter_defaults()["OpenAISecretName"]
        self.secret_arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name=secret_name, SecretString="sk-twin-not-a-real-key")["ARN"]
        self.stack = Stack(provisioned, overrides={"OpenAIBaseUrl": self.fake.base_url})
        self.default_stack = Stack(provisioned)
        self.queues = provisioned.queue_urls
        self.queue_arns = provisioned.queue_arns
        self.stream_arns = provisioned.stream_arns
        self.values = self._seed(provisioned)
        self.tables = provisioned.resource_environment()
        self.values["webhookUrl"] = CREATED_WEBHOOK_URL
        xray_host, xray_port = self.xray.getsockname()
        self.overrides = {
            "PORT": str(free_port()),
            "AWS_XRAY_DAEMON_ADDRESS": f"{xray_host}:{xray_port}", "_AWS_XRAY_DAEMON_ADDRESS": xray_host,
            "_AWS_XRAY_DAEMON_PORT": str(xray_port),
            # no node: a port nothing listens on, so OpenSearch calls fail at once (and are still checked)
            "OPENSEARCH_URL": self.opensearch_url or f"http://127.0.0.1:{free_port()}",
        }
        if opensearch and opensearch.engine != "faiss":  # the template's default engine; the local node has no faiss
            self.overrides["BOTPLOT_KNN_ENGINE"] = opensearch.engine
            self.overrides["BOTPLOT_KNN_ENCODING"] = "fp32"  # the template's fp16 is a faiss encoder
        self.authoriser = iam.Authoriser(self.stack, {secret_name: self.secret_arn},
                                         self.stack.get_att("SearchDomain", "Arn"))
        self.artifacts, self.workdir = artifacts, workdir
        for name in FUNCTIONS:
            self.functions[name] = TwinFunction(name, self.stack, layers, runtime, python, workdir, self.moto.endpoint,
                                                self.overrides)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda f: f.start(), self.functions.values()))
        for function in self.functions.values():
            print(f"twin {function.name:22s} started in {function.init_seconds:.2f} s"
                  + (f" INIT FAILED: {function.init_error.strip().splitlines()[-1]}" if function.init_error else ""))

    def _seed(self, provisioned: Provisioned) -> dict:
        env = {**os.environ, "AWS_ENDPOINT_URL": self.moto.endpoint, **provisioned.resource_environment()}
        result = subprocess.run([sys.executable, "-m", "botplot_dev.twin.seed"], env=env, capture_output=True,
                                text=True, timeout=120, check=True)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def stream_records(self, table: str) -> list[dict]:
        """Every record of the table's stream so far (what its event source mapping reads)."""
        streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        arn = self.stream_arns[table]
        records = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while page := streams.get_records(ShardIterator=iterator):
                records += page["Records"]
                if not page["Records"]:
                    break
                iterator = page["NextShardIterator"]
        return records

    def last_call_of_the_month(self) -> None:
        """The twin project's usage this month one call short of its (enterprise) limit, with neither
        of the month's thresholds announced yet."""
        from botplot import clock
        from botplot.config import DEFAULT_PLAN_LIMITS

        usage = boto3.resource("dynamodb", region_name="us-east-1").Table(self.tables["BOTPLOT_TABLE_USAGE"])
        usage.put_item(Item={"projectId": self.values["projectId"], "month": clock.month(clock.now()),
                             "calls": DEFAULT_PLAN_LIMITS["enterprise"] - 1})

    def outbox_writes(self, invocation) -> int:
        """How many of the invocation's transactions put an item in the outbox."""
        outbox = self.tables["BOTPLOT_TABLE_OUTBOX"]
        return sum(1 for c in invocation.calls if c.get("operation") == "TransactWriteItems"
                   and any(table == outbox for _, table in c["params"]["TransactItems"]))

    def receive(self, queue: str) -> list[dict]:
        messages = []
        while batch := self.sqs.receive_message(QueueUrl=self.queues[queue], MaxNumberOfMessages=10,
                                                WaitTimeSeconds=0, VisibilityTimeout=600).get("Messages", []):
            messages.extend(batch)
        return messages

    def close(self) -> None:
        for function in self.functions.values():
            function.stop()
        self.functions = {}
        self.fake.close()
        self.moto.stop()
        self.xray.close()
        self.patch.undo()


@pytest.fixture(scope="module")
def world(artifacts, tmp_path_factory, opensearch_target):
    w = World(artifacts, tmp_path_factory.mktemp("twin"), opensearch_target)
    try:
        yield w
    finally:
        w.close()


def _sqs_record(event: dict, message: dict, queue_arn: str) -> dict:
    """The sample event carrying the message as the SQS event source delivers it."""
    record = event["Records"][0]
    record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"], eventSourceARN=queue_arn)
    return event


def _prepare(world: World, name: str) -> dict:
    """The sample event with its placeholders replaced by what exists now."""
    values = dict(world.values)
    message = None
    if name == "crawl_worker/crawl.json":
        jobs = [m for m in world.receive("CrawlQueue") if json.loads(m["Body"])["sourceId"] == values["urlSourceId"]]
        message = jobs[-1]
        values["jobId"] = json.loads(message["Body"])["jobId"]
    elif name == "webhook_worker/outbox-insert.json":
        # the outbox item the chat function wrote with the lead, as the stream hands it over
        (record,) = [r for r in world.stream_records("OutboxTable")
                     if r["dynamodb"]["NewImage"]["event"]["S"] == "lead.captured"]
        event = json.loads((EVENTS / name).read_text())
        event["Records"] = stream_event([record], world.stream_arns["OutboxTable"])["Records"]
        return event
    elif name == "chat/chat-verified-visitor.json":  # what the customer's server computes from the secret
        secret = values["identitySecret"].encode()
        values["visitorHash"] = hmac.new(secret, b"visitor_abc", hashlib.sha256).hexdigest()
        # the chat function caches the project (and so its settings) for KEY_CACHE_SECONDS after a load:
        # past that since its last call, this call reads the settings the events before it wrote
        wait = world.last_chat_call + KEY_CACHE_SECONDS + 0.5 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    elif name in ("webhook_worker/delivery.json", "projects/redeliver.json"):
        values["webhookId"] = values["unreachableWebhookId"]
        if name == "webhook_worker/delivery.json":
            (message,) = [m for m in world.receive("WebhookQueue") if json.loads(m["Body"]).get("kind") == "delivery"
                          and json.loads(m["Body"])["webhookId"] == values["unreachableWebhookId"]]
            world.values["deliveryId"] = values["deliveryId"] = json.loads(message["Body"])["deliveryId"]
    event = substitute(json.loads((EVENTS / name).read_text()), values)
    if message is not None:
        queue = "CrawlQueue" if name.startswith("crawl_worker") else "WebhookQueue"
        event = _sqs_record(event, message, world.queue_arns[queue])
    return event


def _remember(world: World, name: str, invocation) -> None:
    """Ids the next events need, from this answer."""
    if invocation.status != 200:
        return
    body = invocation.json_body() if name != "chat/chat-stream.json" else {}
    key = {"chat/chat.json": ("conversationId", lambda b: b["conversationId"]),
           "chat/lead.json": ("leadId", lambda b: b["leadId"]),
           "knowledge/add-url.json": ("urlSourceId", lambda b: b["sourceId"]),
           "knowledge/add-qa.json": ("sourceId", lambda b: b["sourceId"]),
           "projects/create-webhook.json": ("webhookId", lambda b: b["webhook"]["id"]),
           "projects/identity-secret.json": ("identitySecret", lambda b: b["identity_secret"])}.get(name)
    if key and not (name == "chat/chat.json" and "conversationId" in world.values):  # the first conversation
        world.values[key[0]] = key[1](body)


class Outcome:
    def __init__(self, name: str, invocation, depends_on_opensearch: bool):
        self.name, self.invocation = name, invocation
        self.problems: list[str] = []
        self.opensearch_dependent = depends_on_opensearch


def _problems(world: World, name: str, invocation, model_calls_before: int) -> list[str]:
    found = []
    if invocation.error:
        found.append(f"unhandled: {invocation.error.strip().splitlines()[-1] if invocation.error.strip() else ''}\n"
                     f"{invocation.error}")
    status = invocation.status
    if status is not None and status != 200:  # every sample event is a valid request on existing records
        found.append(f"HTTP {status}: {invocation.result.get('body', '')[:300]}")
    if isinstance(invocation.result, dict) and invocation.result.get("batchItemFailures"):
        if name == "webhook_worker/delivery.json":  # the seeded webhook's host never resolves: retried later
            if not any(c.get("operation") == "ChangeMessageVisibility" for c in invocation.calls):
                found.append("a failed delivery was not rescheduled (ChangeMessageVisibility)")
        else:
            found.append(f"SQS items failed: {invocation.result['batchItemFailures']}")
    elif name == "webhook_worker/delivery.json":
        found.append(f"a delivery to an unresolvable host was not reported for retry: {invocation.result}")
    for line in invocation.error_logs():
        found.append(f"error logged: {line[:500]}")
    fallbacks = invocation.metrics() & FALLBACK_METRICS
    if fallbacks:
        found.append(f"answered from a fallback: {sorted(fallbacks)}")
    if name == "chat/chat-verified-visitor.json" and status == 200:
        headers = {k.lower(): v for k, v in (invocation.result.get("headers") or {}).items()}
        if headers.get("access-control-allow-origin") != "https://help.example.com":
            found.append(f"the allowed origin is not named in CORS: {headers.get('access-control-allow-origin')!r}")
        if not any(c.get("operation") == "GetItem" and "identity-secrets" in json.dumps(c.get("params")).lower()
                   for c in invocation.calls):
            found.append("the visitor's hash was not checked against the project's identity secret")
    if name.startswith("chat/chat") and status == 200:
        if FALLBACK_TEXT in invocation.result["body"]:
            found.append("the answer is the fallback text")
        if len(world.fake.chat_requests) == model_calls_before:
            found.append("the model was never asked")
    return found


@pytest.fixture(scope="module")
def runs(world):
    """Every sample event sent to its function's twin, in SEQUENCE order, then LAST_CALLS."""
    outcomes = []
    knowledge_ready = False
    for name in SEQUENCE:
        function = world.functions[FUNCTION_OF[name.split("/")[0]]]
        model_calls = len(world.fake.chat_requests)
        try:
            event = _prepare(world, name)
        except (KeyError, ValueError, IndexError) as missing:  # an earlier event failed to create it
            outcomes.append(Outcome(name, Invocation(function.name, name), False))
            outcomes[-1].problems = [f"not sent: what it refers to was never created ({missing!r})"]
            continue
        if name == "chat/chat.json" and knowledge_ready:
            # ask what the project now knows (the sample's return policy is in none of its knowledge,
            # and an answer must not cite knowledge that does not answer it)
            event["body"] = json.dumps({**json.loads(event["body"]), "message": QA_QUESTION})
        invocation = function.invoke(event, name)
        if function.name == "ChatFunction":
            world.last_chat_call = time.monotonic()
        outcome = Outcome(name, invocation, any(c["kind"] == "opensearch" for c in invocation.calls))
        outcome.problems = _problems(world, name, invocation, model_calls)
        if name == "chat/chat.json" and knowledge_ready and invocation.status == 200:
            if invocation.json_body()["sources"] < 1:
                outcome.opensearch_dependent = True
                outcome.problems.append("the answer used no knowledge although the project has a matching Q&A")
        knowledge_ready = knowledge_ready or (name == "knowledge/add-qa.json" and invocation.status == 200)
        _remember(world, name, invocation)
        outcomes.append(outcome)
        print(f"twin {function.name:22s} {name:32s} {invocation.status or '-'} {invocation.seconds:6.2f} s"
              f" {len(invocation.calls):3d} calls {'; '.join(p.splitlines()[0][:120] for p in outcome.problems)}")
    for name in LAST_CALLS:
        function = world.functions[FUNCTION_OF[name.split("/")[0]]]
        world.last_call_of_the_month()
        label = f"{name} (the month's last call)"
        invocation = function.invoke(_prepare(world, name), label)
        outcome = Outcome(label, invocation, False)
        outcome.problems = _problems(world, name, invocation, len(world.fake.chat_requests))
        if world.outbox_writes(invocation) != 2:
            outcome.problems.append("usage.warning and usage.exhausted were not both written to the outbox")
        outcomes.append(outcome)
        print(f"twin {function.name:22s} {label:32s} {invocation.status or '-'} {invocation.seconds:6.2f} s"
              f" {len(invocation.calls):3d} calls {'; '.join(p.splitlines()[0][:120] for p in outcome.problems)}")
    _write_call_table(world, outcomes)
    return outcomes


def _with_init(world: World, outcomes: list[Outcome]) -> list[Outcome]:
    """The invocations, and each function's start (the calls its import and init made)."""
    starts = [Outcome("init", Invocation(f.name, "init", calls=f.init_calls), False) for f in world.functions.values()]
    return starts + outcomes


def _write_call_table(world: World, outcomes: list[Outcome]) -> None:
    rows = defaultdict(set)
    for outcome in _with_init(world, outcomes):
        function = outcome.invocation.function
        statements = iam.statements(world.stack, function)
        for call in outcome.invocation.calls:
            for request in world.authoriser.requests(call):
                allowed = iam.check(statements, request)
                resource = request.resource.split(":")[-1]
                rows[function].add((request.action, resource, allowed.label if allowed else "**NOT ALLOWED**"))
    lines = ["| Function | Action | Resource | Allowed by |", "|---|---|---|---|"]
    for function in FUNCTIONS:
        for action, resource, label in sorted(rows.get(function, ())):
            lines.append(f"| {function} | `{action}` | `{resource}` | {label} |")
    path = build.CACHE / "calls.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print(f"\nLambda twin: every call and the statement allowing it: {path}")


def _opensearch_skips(world: World, outcomes: list[Outcome]) -> list[Outcome]:
    if world.opensearch_url:
        return []
    return [o for o in outcomes if o.problems and o.opensearch_dependent]


# ---------------------------------------------------------------------------------------------- tests
def test_every_sample_event_and_function_is_in_the_sequence():
    files = {str(p.relative_to(EVENTS)) for p in EVENTS.rglob("*.json")}
    assert files == set(SEQUENCE)
    assert {FUNCTION_OF[name.split("/")[0]] for name in SEQUENCE} == set(FUNCTIONS)


def test_x86_64_and_arm64_builds_hold_the_same_packages(artifacts, sam_build_dir):
    """The twin runs x86_64 builds; what deploys is sam build's arm64: same packages, same versions."""
    _, layers, _ = artifacts
    for name, path in layers.items():
        twin = build.packages(path / "python")
        deployed = build.packages(sam_build_dir / name / "python")
        assert twin, f"{name}: no packages found in the twin's build"
        assert twin == deployed, f"{name}: x86_64 {set(twin.items()) ^ set(deployed.items())} differ from arm64"


def test_runtime_sdk_is_the_pinned_one(artifacts):
    _, _, runtime = artifacts
    found = build.packages(runtime)
    assert {f"{n}=={found[n]}" for n in ("boto3", "botocore")} == set(build.RUNTIME_SDK)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_answers_its_sample_events_in_its_twin(world, runs, function):
    mine = [o for o in runs if o.invocation.function == function]
    assert mine, f"{function} got no sample event"
    twin = world.functions[function]
    assert twin.init_error is None, f"{function} failed at init (as Lambda would):\n{twin.init_error}"
    skipped = [o for o in _opensearch_skips(world, mine)]
    for outcome in skipped:
        print(f"SKIPPED (no OpenSearch node: needs Java and Maven): {function} {outcome.name}: {outcome.problems[0][:200]}")
    failures = [f"{o.name}: {p}" for o in mine if o not in skipped for p in o.problems]
    assert not failures, f"{function} in its twin:\n" + "\n".join(failures)
    if skipped and IN_CI:
        pytest.fail(f"{function}: {len(skipped)} OpenSearch-dependent events could not be checked without a node")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_call_is_allowed_by_the_function_policies(world, runs, function):
    statements = iam.statements(world.stack, function)
    refused = []
    for outcome in _with_init(world, runs):
        if outcome.invocation.function != function:
            continue
        for call in outcome.invocation.calls:
            for request in world.authoriser.requests(call):
                if iam.check(statements, request) is None:
                    refused.append(f"{function} ({outcome.name}): {request.action} on {request.resource}"
                                   f" [{request.call}]")
    assert not refused, "calls outside the function's IAM policies:\n" + "\n".join(sorted(set(refused)))


def _event_source_requests(stack: Stack, function: str) -> list[iam.Request]:
    """What Lambda's event source mappings do with the function's role: read its queues and
    streams, and describe what failed every retry on the on-failure destination."""
    requests = []
    for event in tpl.events_of(function, "SQS"):
        queue = stack.resolve(event["Queue"])
        requests += [iam.Request(f"sqs:{action}", queue, "SQS event source")
                     for action in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes")]
    for event in tpl.events_of(function, "DynamoDB"):
        stream = stack.resolve(event["Stream"])
        requests += [iam.Request(f"dynamodb:{action}", stream, "DynamoDB stream event source")
                     for action in ("DescribeStream", "GetShardIterator", "GetRecords")]
        failures = ((event.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if failures:
            requests.append(iam.Request("sqs:SendMessage", stack.resolve(failures), "on-failure destination"))
    return requests


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_event_source_works_with_the_function_role(world, function):
    statements = iam.statements(world.stack, function)
    refused = [f"{r.call}: {r.action} on {r.resource}" for r in _event_source_requests(world.stack, function)
               if iam.check(statements, r) is None]
    assert not refused, f"{function}'s role cannot serve its event sources:\n" + "\n".join(refused)


@pytest.mark.parametrize("function", sorted(f for f in FUNCTIONS
                                            if "OPENAI_BASE_URL" in tpl.environment(f)))
def test_default_parameters_send_the_model_to_openai(world, function):
    """With OpenAIBaseUrl's default (""), the client each function builds must target api.openai.com."""
    twin = world.functions[function]
    env = {**twin.environment, **{k: str(world.default_stack.resolve(v)) for k, v in tpl.environment(function).items()
                                  if k == "OPENAI_BASE_URL"}}
    assert env["OPENAI_BASE_URL"] == ""
    config = twin.workdir / "config.json"
    probe = "str(__import__('botplot.llm.openai_client', fromlist=['_']).get_client().base_url)"
    result = subprocess.run([str(twin.python), "-S", str(BOOT), str(config), "eval", probe], cwd=twin.code, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == "https://api.openai.com/v1/"


def test_a_repeated_request_with_its_idempotency_key_is_replayed(runs):
    """The sample events sent twice carry an Idempotency-Key: the second answer is the first, replayed
    (a webhook's signing secret, shown once, reads null there)."""
    for name in ("chat/lead.json", "knowledge/add-qa.json", "projects/create-webhook.json"):
        first, second = [o.invocation for o in runs if o.name == name][:2]
        result = second.result or {}
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        headers.update({k.lower(): v[0] for k, v in (result.get("multiValueHeaders") or {}).items()})
        assert headers.get("idempotent-replayed") == "true", f"{name}: {result}"
        expected = first.json_body()
        if "webhook" in expected:
            assert expected["webhook"]["secret"].startswith("whsec_")
            expected["webhook"]["secret"] = None
        assert second.json_body() == expected
