"""Run in the tools venv (it holds samtranslator): the IAM statements SAM gives each function's role.

Reads the template (JSON, intrinsics in long form) on stdin, translates it with samtranslator as
``sam deploy``'s transform does, and prints ``{function: [{"label", "statements"}]}``: each inline
policy of the function's generated role (SAM policy templates expanded), labelled with the
template's ``Policies`` item it came from, and the AWS managed policies SAM attaches (basic
execution, X-Ray with ``Tracing: Active``, the SQS and DynamoDB stream pollers'), whose contents are
AWS's published ones.
"""

import copy
import json
import re
import sys

from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

#: the managed policies SAM attaches to function roles, as AWS publishes them
MANAGED = {
    "AWSLambdaBasicExecutionRole": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "*"}],
    "AWSXrayWriteOnlyAccess": [
        {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                                       "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries"],
         "Resource": "*"}],
    "AWSLambdaDynamoDBExecutionRole": [
        {"Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                                       "dynamodb:ListStreams", "logs:CreateLogGroup", "logs:CreateLogStream",
                                       "logs:PutLogEvents"],
         "Resource": "*"}],
    "AWSLambdaSQSQueueExecutionRole": [
        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                       "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "*"}],
}


def _label(item) -> str:
    if isinstance(item, str):
        return item
    (name, value), = item.items() if len(item) == 1 else (("Statement", item),)
    if name == "Statement":
        return "inline statement"
    args = ", ".join(f"{k}={_short(v)}" for k, v in (value or {}).items())
    return f"{name}({args})"


def _short(value) -> str:
    if isinstance(value, dict) and len(value) == 1:
        (kind, arg), = value.items()
        if kind == "Ref":
            return f"!Ref {arg}"
        if kind == "Fn::GetAtt":
            return "!GetAtt " + (".".join(arg) if isinstance(arg, list) else arg)
        if kind == "Fn::Sub":
            return "!Sub " + (arg if isinstance(arg, str) else arg[0])
    return json.dumps(value)


def _managed_name(arn) -> str:
    text = json.dumps(arn)
    match = re.search(r"policy/(?:service-role/)?([A-Za-z0-9]+)", text)
    return match.group(1) if match else text


def main() -> None:
    template = json.loads(sys.stdin.read())
    original = copy.deepcopy(template)
    for resource in template["Resources"].values():  # the transform wants packaged (S3) code locations
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = "s3://twin-artifacts/" + props[key].strip("/") + ".zip"
    translated = Translator(managed_policy_map={}, sam_parser=Parser()).translate(template, parameter_values={})
    out = {}
    for name, resource in original["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        role = translated["Resources"][f"{name}Role"]["Properties"]
        items = resource["Properties"].get("Policies") or []
        policies = []
        for policy in role.get("Policies", []):
            statements = policy["PolicyDocument"]["Statement"]
            numbered = re.search(r"RolePolicy(\d+)$", policy["PolicyName"])
            # SAM also adds policies of its own, e.g. <Fn>EventInvokeConfigOnFailureSQSPolicy for an
            # asynchronous-invocation destination (Lambda itself sends there, not the function's code)
            label = (f"Policies[{int(numbered.group(1))}] {_label(items[int(numbered.group(1))])}" if numbered
                     else f"SAM-generated {policy['PolicyName'].removeprefix(name)}")
            policies.append({"label": label,
                             "statements": statements if isinstance(statements, list) else [statements]})
        for arn in role.get("ManagedPolicyArns", []):
            managed = _managed_name(arn)
            policies.append({"label": f"managed {managed}", "statements": MANAGED.get(managed, [])})
        out[name] = policies
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
