"""``botplot``: manage projects, plans and keys, on the local stack or, when asked, on AWS.

By default it works on the running local stack (``make run``), found by its ``.botplot/local.json``
in this folder or a parent, or in the project it was installed from. It goes to AWS only with
``--aws`` (table names from ``BOTPLOT_TABLE_*``) or ``--stack NAME`` (table names from that stack's
outputs), and says on stderr which target it uses. Errors are one readable line, not a traceback.

    botplot project create --name "Acme" --plan pro
    botplot project list
    botplot project set-plan <projectId> business
    botplot project delete <projectId> --yes
    botplot keys list <projectId>
    botplot keys rotate <projectId> [--kind public|secret]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

PLANS = ["free", "pro", "business", "enterprise"]


class TargetError(Exception):
    """No target to work on; the message says what to do."""


def _local_json() -> Path | None:
    if os.environ.get("BOTPLOT_STATE_DIR"):
        candidates = [Path(os.environ["BOTPLOT_STATE_DIR"])]
    else:
        here = Path.cwd().resolve()
        candidates = [folder / ".botplot" for folder in (here, *here.parents)]
        from botplot_dev import ROOT

        candidates.append(ROOT / ".botplot")
    return next((c / "local.json" for c in candidates if (c / "local.json").exists()), None)


def _use_local_stack() -> str:
    path = _local_json()
    if path is None:
        from botplot_dev import ROOT

        raise TargetError(f"no local stack is running (start one with `make run` in {ROOT}); "
                          "to manage a deployed stack, pass --aws or --stack NAME")
    info = json.loads(path.read_text())
    os.environ.update({"AWS_ENDPOINT_URL": info["awsEndpoint"], "AWS_ACCESS_KEY_ID": "local",
                       "AWS_SECRET_ACCESS_KEY": "local"})
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for name, value in info.get("environment", {}).items():
        os.environ.setdefault(name, value)
    return f"the local stack at {info['apiUrl']}"


def _use_aws(stack: str | None) -> str:
    """Table names from ``BOTPLOT_TABLE_*``, or from the stack's outputs (``<Name>TableName``)."""
    import boto3

    from botplot.db.registry import env_suffix

    region = boto3.session.Session().region_name or "no region set"
    if stack is None:
        return f"AWS ({region}), tables from BOTPLOT_TABLE_* or their default names"
    outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for output in outputs:
        key = output["OutputKey"]
        if key.endswith("TableName"):
            os.environ.setdefault(f"BOTPLOT_TABLE_{env_suffix(key.removesuffix('Name'))}", output["OutputValue"])
    return f"AWS stack {stack!r} ({region})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="botplot", description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--aws", action="store_true", help="work on AWS (tables from BOTPLOT_TABLE_*)")
    target.add_argument("--stack", metavar="NAME", help="work on this deployed CloudFormation stack")
    groups = parser.add_subparsers(dest="group", required=True)

    project = groups.add_parser("project", help="create, list, change and delete projects")
    commands = project.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a project and its keys")
    create.add_argument("--name", required=True)
    create.add_argument("--plan", required=True, choices=PLANS)
    commands.add_parser("list", help="every project: id, name, plan, created")
    set_plan = commands.add_parser("set-plan", help="change a project's plan")
    set_plan.add_argument("project_id")
    set_plan.add_argument("plan", choices=PLANS)
    delete = commands.add_parser("delete", help="delete a project and everything it owns")
    delete.add_argument("project_id")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    keys = groups.add_parser("keys", help="list and rotate a project's API keys")
    commands = keys.add_subparsers(dest="command", required=True)
    list_keys = commands.add_parser("list", help="a project's keys (prefixes and status; keys are never stored)")
    list_keys.add_argument("project_id")
    rotate = commands.add_parser("rotate", help="revoke a project's keys and issue new ones")
    rotate.add_argument("project_id")
    rotate.add_argument("--kind", choices=["public", "secret"], help="only this kind (default: both)")
    return parser


def _run(args: argparse.Namespace):
    from botplot.services import projects

    command = (args.group, args.command)
    if command == ("project", "create"):
        project, keys = projects.create_project(args.name, args.plan)
        return {"projectId": project.project_id, "publicKey": keys.public_key, "secretKey": keys.secret_key,
                "plan": project.plan}
    if command == ("project", "list"):
        return [{"projectId": p.project_id, "name": p.name, "plan": p.plan, "createdAt": p.created_at}
                for p in projects.list_projects()]
    if command == ("project", "set-plan"):
        project = projects.set_plan(args.project_id, args.plan)
        return {"projectId": project.project_id, "plan": project.plan}
    if command == ("project", "delete"):
        name = projects.get_project(args.project_id).name
        if not args.yes:
            if not sys.stdin.isatty():
                raise TargetError("deleting a project needs --yes when not run from a terminal")
            if input(f"Delete project {name!r} ({args.project_id}) and all its data? [y/N] ").strip().lower() != "y":
                raise TargetError("nothing deleted")
        projects.delete_project(args.project_id)
        return {"projectId": args.project_id, "deleted": True}
    if command == ("keys", "list"):
        return [{"kind": k.kind, "prefix": k.key_prefix, "status": k.status, "createdAt": k.created_at,
                 **({"revokedAt": k.revoked_at} if k.revoked_at else {})} for k in projects.list_keys(args.project_id)]
    kinds = (args.kind,) if args.kind else ("public", "secret")
    issued = projects.rotate_keys(args.project_id, kinds)
    return {"projectId": args.project_id, **{f"{kind}Key": key for kind, key in issued.items()}}


def _fail(message: str) -> int:
    print(f"botplot: error: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    from botplot.errors import ApiError

    try:
        target = _use_aws(args.stack) if (args.aws or args.stack) else _use_local_stack()
        print(f"botplot: using {target}", file=sys.stderr)
        result = _run(args)
    except TargetError as error:
        return _fail(str(error))
    except ApiError as error:
        return _fail(f"{error.body()['error']} ({error.body()['code']})")
    except ClientError as error:
        return _fail(f"AWS refused {error.operation_name}: {error.response['Error'].get('Message', error)}")
    except BotoCoreError as error:
        return _fail(f"could not reach the target: {error}")
    except PynamoDBException as error:  # pynamodb wraps botocore's errors
        cause = error.cause or error
        return _fail(f"could not read or write the target's tables: {getattr(cause, 'msg', None) or cause}")
    except KeyboardInterrupt:
        return _fail("interrupted")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
