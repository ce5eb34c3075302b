"""template.yaml is the single source of truth: it lints, validates, builds, and the models agree."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from botplot.db.registry import MODELS_BY_LOGICAL_ID, env_suffix
from botplot_dev import template as tpl

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".venv-tools" / "bin"


def _tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.skip(f"{path} missing: run `make test` (it installs the tools venv)")
    return str(path)


def _keys(entries) -> list[tuple[str, str]]:
    """HASH first, then RANGE, as DynamoDB reads a key schema."""
    return sorted(((k["AttributeName"], k["KeyType"]) for k in entries), key=lambda k: k[1])


def _model_schema(model) -> dict:
    schema = model._get_schema()
    attrs = {(a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]}
    keys = _keys(schema["key_schema"])
    indexes = {
        i["index_name"]: (_keys(i["key_schema"]),
                          i["projection"]["ProjectionType"])
        for i in schema.get("global_secondary_indexes", [])
    }
    ttl = [a.attr_name for a in model.get_attributes().values() if type(a).__name__ == "TTLAttribute"]
    return {"attrs": attrs, "keys": keys, "indexes": indexes, "ttl": ttl[0] if ttl else None}


def _template_schema(props: dict) -> dict:
    ttl = props.get("TimeToLiveSpecification")
    return {
        "attrs": {(a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]},
        "keys": _keys(props["KeySchema"]),
        "indexes": {i["IndexName"]: (_keys(i["KeySchema"]),
                                     i["Projection"]["ProjectionType"])
                    for i in props.get("GlobalSecondaryIndexes", [])},
        "ttl": ttl["AttributeName"] if ttl else None,
    }


@pytest.mark.parametrize("logical_id", sorted(MODELS_BY_LOGICAL_ID))
def test_models_and_template_tables_agree(logical_id):
    tables = tpl.resources("AWS::DynamoDB::Table")
    assert logical_id in tables, f"{logical_id} has a model but no table in template.yaml"
    assert _model_schema(MODELS_BY_LOGICAL_ID[logical_id]) == _template_schema(tables[logical_id]["Properties"])


def test_every_template_table_is_named_to_the_functions():
    env = tpl.environment()
    for logical_id in tpl.resources("AWS::DynamoDB::Table"):
        assert env.get(f"BOTPLOT_TABLE_{env_suffix(logical_id)}") == {"Ref": logical_id}
        assert logical_id in MODELS_BY_LOGICAL_ID or logical_id == "IdempotencyTable"


def test_every_table_has_point_in_time_recovery_and_on_demand_billing():
    for logical_id, table in tpl.resources("AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, logical_id
        assert props["DeletionProtectionEnabled"] == {"Ref": "TableDeletionProtection"}, logical_id


def test_cfn_lint_passes():
    result = subprocess.run([_tool("cfn-lint"), "template.yaml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes():
    result = subprocess.run([_tool("sam"), "validate", "--lint", "--region", "us-east-1"], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, "SAM_CLI_TELEMETRY": "0"})
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------ what `sam deploy` hands CloudFormation

@pytest.fixture(scope="module")
def deployed() -> dict:
    """template.yaml after SAM's transform (samtranslator, in the tools venv)."""
    result = subprocess.run([_tool("python"), str(ROOT / "tests" / "support" / "sam_translate.py"), "template.yaml"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)["Resources"]


def _of_type(resources: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


def _ref(value) -> str:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at."""
    if "Ref" in value:
        return value["Ref"]
    target = value["Fn::GetAtt"]
    return target[0] if isinstance(target, list) else target.split(".")[0]


def _render_context(template: str, message: str) -> str:
    """What API Gateway makes of a mapping template's ``$context`` variables (messageString is the
    message as a quoted JSON string, the others plain text)."""
    text = template.replace("$context.error.messageString", json.dumps(message))
    return re.sub(r"\$context\.[A-Za-z.]+", "x", text)


def test_every_function_logs_to_a_group_of_its_own_that_expires(deployed):
    groups = _of_type(deployed, "AWS::Logs::LogGroup")
    functions = _of_type(deployed, "AWS::Lambda::Function")
    assert len(functions) == len(tpl.resources("AWS::Serverless::Function"))
    used = []
    for name, function in functions.items():
        group = _ref(function["Properties"]["LoggingConfig"]["LogGroup"])
        assert group in groups, f"{name} logs to {group}, which the stack does not create"
        assert groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
        used.append(group)
    assert len(set(used)) == len(used), "two functions share a log group"
    retention = tpl.load()["Parameters"]["LogRetentionDays"]
    assert retention["Default"] in retention["AllowedValues"]


def test_the_api_writes_json_access_logs_that_expire_and_hold_no_secret(deployed):
    stage, = _of_type(deployed, "AWS::ApiGateway::Stage").values()
    setting = stage["Properties"]["AccessLogSetting"]
    group = deployed[_ref(setting["DestinationArn"])]
    assert group["Type"] == "AWS::Logs::LogGroup" and group["Properties"]["RetentionInDays"]
    line = json.loads(_render_context(setting["Format"], "x"))  # one JSON object per request
    assert {"requestId", "status", "httpMethod", "resourcePath", "integrationLatency"} <= set(line)
    assert not re.search(r"\$input|\$context\.(authorizer|identity\.apiKey)|[Hh]eader", setting["Format"])
    # API Gateway needs the account's CloudWatch role before a stage with access logs can be created
    api, = _of_type(deployed, "AWS::ApiGateway::RestApi").values()
    account = deployed[api["DependsOn"] if isinstance(api["DependsOn"], str) else api["DependsOn"][0]]
    assert account["Type"] == "AWS::ApiGateway::Account"
    role = deployed[_ref(account["Properties"]["CloudWatchRoleArn"])]
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"]["ManagedPolicyArns"])
    assert role.get("DeletionPolicy") == "Retain"  # other APIs of the account may log through it


def test_api_gateway_own_errors_have_the_reference_shape_and_cors(deployed):
    """Answers API Gateway gives without calling a function (unknown route, throttling, timeout...)."""
    from fastapi import APIRouter
    from starlette.testclient import TestClient

    from botplot.web.app import create_app

    api, = _of_type(deployed, "AWS::ApiGateway::RestApi").values()
    responses = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "MISSING_AUTHENTICATION_TOKEN"} <= set(responses)
    bodies = {}
    for kind, response in responses.items():
        body = json.loads(_render_context(response["responseTemplates"]["application/json"], 'a "quoted" message'))
        assert set(body) == {"error", "code"} and body["error"], kind
        assert re.fullmatch(r"[A-Z][A-Z_]+", body["code"]), kind
        assert response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'", kind
        bodies[kind] = (int(response.get("statusCode", 0)), body["code"])
    assert bodies["THROTTLED"] == (429, "THROTTLED")
    # a path API Gateway does not know is answered as the app answers an unknown route
    app_answer = TestClient(create_app(APIRouter(), service="t", title="t")).get("/api/v1/nowhere")
    assert bodies["MISSING_AUTHENTICATION_TOKEN"] == (app_answer.status_code, app_answer.json()["code"])


def test_every_schedule_retries_and_keeps_what_failed(deployed):
    schedules = _of_type(deployed, "AWS::Scheduler::Schedule")
    assert len(schedules) == sum(len(tpl.events_of(f, "ScheduleV2")) for f in tpl.resources("AWS::Serverless::Function"))
    alarmed = {_ref(a["Properties"]["Dimensions"][0]["Value"]) for a in _of_type(deployed, "AWS::CloudWatch::Alarm").values()
               if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"}
    for name, schedule in schedules.items():
        target = schedule["Properties"]["Target"]
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1, name
        dlq = _ref(target["DeadLetterConfig"]["Arn"])
        assert deployed[dlq]["Type"] == "AWS::SQS::Queue" and dlq in alarmed, name
        role = json.dumps(deployed[_ref(target["RoleArn"])]["Properties"]["Policies"])
        assert "sqs:SendMessage" in role and dlq in role, f"{name}'s role cannot write to its dead-letter queue"
        # Scheduler invokes Lambda asynchronously: a run that fails in the function is retried by
        # Lambda and then sent to the same queue, not dropped
        function = _ref(target["Arn"])
        invoke, = [c["Properties"] for c in _of_type(deployed, "AWS::Lambda::EventInvokeConfig").values()
                   if _ref(c["Properties"]["FunctionName"]) == function]
        assert _ref(invoke["DestinationConfig"]["OnFailure"]["Destination"]) == dlq, name


def test_a_resync_fan_out_runs_few_crawls_at_once(deployed):
    mapping, = [m["Properties"] for m in _of_type(deployed, "AWS::Lambda::EventSourceMapping").values()
                if _ref(m["Properties"]["EventSourceArn"]) == "CrawlQueue"]
    assert 2 <= mapping["ScalingConfig"]["MaximumConcurrency"] <= 5
    worker = deployed[_ref(mapping["FunctionName"])]["Properties"]
    # waiting messages are not counted as receives, but one in flight must not reappear meanwhile
    assert deployed["CrawlQueue"]["Properties"]["VisibilityTimeout"] > worker["Timeout"]
    # reserved concurrency would throttle polled messages back into the queue towards the DLQ
    assert "ReservedConcurrentExecutions" not in worker


def test_the_outbox_stream_is_read_at_least_once_retried_boundedly_and_its_failures_kept(deployed):
    """Every event written to the outbox reaches the webhook worker; a record that keeps failing is
    retried a bounded number of times, then reported to an alarmed queue instead of blocking its shard."""
    table = deployed["OutboxTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    mapping, = [m["Properties"] for m in _of_type(deployed, "AWS::Lambda::EventSourceMapping").values()
                if _ref(m["Properties"]["EventSourceArn"]) == "OutboxTable"]
    assert _ref(mapping["FunctionName"]) == "WebhookWorkerFunction"
    assert mapping["StartingPosition"] == "TRIM_HORIZON"  # nothing written before the mapping runs is skipped
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True and 1 <= mapping["MaximumRetryAttempts"] <= 10
    assert [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]] == [{"eventName": ["INSERT"]}]
    dlq = _ref(mapping["DestinationConfig"]["OnFailure"]["Destination"])
    alarms = _of_type(deployed, "AWS::CloudWatch::Alarm").values()
    alarmed = {_ref(a["Properties"]["Dimensions"][0]["Value"]) for a in alarms
               if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"}
    assert deployed[dlq]["Type"] == "AWS::SQS::Queue" and dlq in alarmed
    role = json.dumps(deployed["WebhookWorkerFunctionRole"]["Properties"])
    assert "dynamodb:GetRecords" in role and "sqs:SendMessage" in role and dlq in role
    worker = deployed["WebhookWorkerFunction"]["Properties"]
    # a batch is fanned out well within the function's timeout (a few requests per record)
    assert mapping["BatchSize"] * 2 <= worker["Timeout"]


def test_streaming_routes_wait_as_long_as_their_function_may_run(deployed):
    api, = _of_type(deployed, "AWS::ApiGateway::RestApi").values()
    # only Regional (or private) REST APIs take integration timeouts over 29 s
    assert api["Properties"]["EndpointConfiguration"]["Types"] == ["REGIONAL"]
    chat = tpl.resources("AWS::Serverless::Function")["ChatFunction"]["Properties"]
    for path in ("/api/v1/chat", "/api/v1/chat/stream"):
        integration = api["Properties"]["Body"]["paths"][path]["post"]["x-amazon-apigateway-integration"]
        assert integration["responseTransferMode"] == "STREAM", path
        assert chat["Timeout"] * 1000 <= integration["timeoutInMillis"] <= 900_000, path


def _resolve(value, stack_id: str):
    """The few intrinsics the search domain's name and policy use, as CloudFormation resolves them."""
    pseudo = {"AWS::StackId": stack_id, "AWS::Partition": "aws", "AWS::Region": "us-east-1",
              "AWS::AccountId": "123456789012"}
    if isinstance(value, str):
        return value
    (kind, arg), = value.items()
    if kind == "Ref":
        return pseudo[arg]
    if kind == "Fn::Join":
        return arg[0].join(_resolve(v, stack_id) for v in arg[1])
    if kind == "Fn::Split":
        return _resolve(arg[1], stack_id).split(arg[0])
    if kind == "Fn::Select":
        return _resolve(arg[1], stack_id)[int(arg[0])]
    if kind == "Fn::Sub":
        text, names = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        names = {**pseudo, **{k: _resolve(v, stack_id) for k, v in names.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], text)
    raise AssertionError(f"unexpected intrinsic {kind}")


def test_the_search_domain_lets_the_account_reach_this_domain_only():
    domain = tpl.load()["Resources"]["SearchDomain"]["Properties"]
    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/botplot/1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"
    name = _resolve(domain["DomainName"], stack_id)
    assert re.fullmatch(r"[a-z][a-z0-9-]{2,27}", name), name  # OpenSearch Service's naming rules
    statement, = domain["AccessPolicies"]["Statement"]
    assert _resolve(statement["Resource"], stack_id) == f"arn:aws:es:us-east-1:123456789012:domain/{name}/*"
    other = "arn:aws:cloudformation:us-east-1:123456789012:stack/botplot-staging/99aa88bb-0000-1111-2222-333344445555"
    assert _resolve(domain["DomainName"], other) != name  # two stacks in one account do not collide


def test_a_deploy_has_to_say_where_alarms_go():
    parameter = tpl.load()["Parameters"]["AlarmEmail"]
    assert "Default" not in parameter  # sam deploy stops and asks, guided or not
    accepts = re.compile(parameter["AllowedPattern"]).fullmatch
    assert accepts("ops@example.com") and accepts("none")
    assert not accepts("") and not accepts("ops@") and not accepts("a b@example.com")


def test_samconfig_deploys_from_a_pipeline_without_prompts():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for env in ("default", "staging"):
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM" and deploy["resolve_s3"] is True, env
        assert deploy["fail_on_empty_changeset"] is False, env  # a pipeline re-run with no change passes
        assert "AlarmEmail" not in deploy["parameter_overrides"], env  # given per deploy, never a stale one
    assert config["staging"]["deploy"]["parameters"]["confirm_changeset"] is False


def test_the_vector_encoding_parameter_reaches_the_functions_and_the_engine_supports_it():
    from botplot.knowledge.index.opensearch import ENCODINGS

    template = tpl.load()
    parameter = template["Parameters"]["VectorEncoding"]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["BOTPLOT_KNN_ENGINE"] == "faiss"
    assert variables["BOTPLOT_KNN_ENCODING"] == {"Ref": "VectorEncoding"}
    assert set(parameter["AllowedValues"]) <= set(ENCODINGS["faiss"]) and parameter["Default"] in ENCODINGS["faiss"]


def test_the_crawl_worker_knows_its_last_attempt():
    """The worker fails a source on the receive the queue's redrive policy makes the last one."""
    from botplot_dev.lambda_runtime import load_module

    queue = tpl.resources("AWS::SQS::Queue")["CrawlQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == load_module("CrawlWorkerFunction").MAX_RECEIVES


def test_the_crawl_deadline_outlasts_every_attempt():
    """A source is swept only once no attempt can still be running: receives x visibility timeout."""
    from botplot.config import _load

    queue = tpl.resources("AWS::SQS::Queue")["CrawlQueue"]["Properties"]
    attempts = queue["RedrivePolicy"]["maxReceiveCount"] * queue["VisibilityTimeout"]
    assert _load().crawl_deadline_seconds > attempts
