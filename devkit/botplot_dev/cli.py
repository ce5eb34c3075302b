"""``botplot``: manage projects, plans and keys.

With a local stack running (``.botplot/local.json`` present) it talks to that stack's moto; otherwise
to AWS, with table names from the environment (``BOTPLOT_TABLE_*``) or from a deployed stack's
outputs (``--stack``, default ``botplot``).

    botplot project create --name "Acme" --plan pro
    botplot project set-plan <projectId> business
    botplot keys rotate <projectId> [--kind public|secret]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _use_local_stack() -> bool:
    path = Path(os.environ.get("BOTPLOT_STATE_DIR", ".botplot")) / "local.json"
    if not path.exists():
        return False
    info = json.loads(path.read_text())
    os.environ.update({"AWS_ENDPOINT_URL": info["awsEndpoint"], "AWS_ACCESS_KEY_ID": "local",
                       "AWS_SECRET_ACCESS_KEY": "local"})
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for name, value in info.get("environment", {}).items():
        os.environ.setdefault(name, value)
    return True


def _use_aws_stack(stack: str) -> None:
    """Table names from the deployed stack's outputs (``<Name>TableName`` → ``BOTPLOT_TABLE_<NAME>``)."""
    if any(k.startswith("BOTPLOT_TABLE_") for k in os.environ):
        return
    import boto3

    from botplot.db.registry import env_suffix

    outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for output in outputs:
        key = output["OutputKey"]
        if key.endswith("TableName"):
            os.environ[f"BOTPLOT_TABLE_{env_suffix(key.removesuffix('Name'))}"] = output["OutputValue"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="botplot", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default=os.environ.get("BOTPLOT_STACK", "botplot"),
                        help="CloudFormation stack to read table names from (AWS mode)")
    groups = parser.add_subparsers(dest="group", required=True)

    project = groups.add_parser("project").add_subparsers(dest="command", required=True)
    create = project.add_parser("create", help="create a project and its keys")
    create.add_argument("--name", required=True)
    create.add_argument("--plan", required=True, choices=["free", "pro", "business", "enterprise"])
    set_plan = project.add_parser("set-plan", help="change a project's plan")
    set_plan.add_argument("project_id")
    set_plan.add_argument("plan", choices=["free", "pro", "business", "enterprise"])

    keys = groups.add_parser("keys").add_subparsers(dest="command", required=True)
    rotate = keys.add_parser("rotate", help="revoke a project's keys and issue new ones")
    rotate.add_argument("project_id")
    rotate.add_argument("--kind", choices=["public", "secret"], help="only this kind (default: both)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not _use_local_stack():
        _use_aws_stack(args.stack)

    from botplot.errors import ApiError
    from botplot.services import projects

    try:
        if (args.group, args.command) == ("project", "create"):
            project, keys = projects.create_project(args.name, args.plan)
            result = {"projectId": project.project_id, "publicKey": keys.public_key,
                      "secretKey": keys.secret_key, "plan": project.plan}
        elif (args.group, args.command) == ("project", "set-plan"):
            project = projects.set_plan(args.project_id, args.plan)
            result = {"projectId": project.project_id, "plan": project.plan}
        else:
            kinds = (args.kind,) if args.kind else ("public", "secret")
            issued = projects.rotate_keys(args.project_id, kinds)
            result = {"projectId": args.project_id,
                      **{f"{kind}Key": key for kind, key in issued.items()}}
    except ApiError as error:
        print(json.dumps(error.body()), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
