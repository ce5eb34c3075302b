"""Projects and API keys: creation, plans and key rotation (used by the CLI and tests)."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from botplot import clock, ids
from botplot.config import PLANS
from botplot.db.projects import ApiKey, Project
from botplot.errors import bad_request, not_found


@dataclass(frozen=True)
class IssuedKeys:
    public_key: str
    secret_key: str


def _issue_key(project_id: str, kind: str) -> str:
    key = ids.new_api_key(kind)
    ApiKey(
        key_hash=ids.hash_key(key),
        project_id=project_id,
        kind=kind,
        status="active",
        key_prefix=key[:10],
        created_at=clock.iso_ms(clock.now()),
    ).save(condition=ApiKey.key_hash.does_not_exist())
    return key


def _check_plan(plan: str) -> None:
    if plan not in PLANS:
        raise bad_request(f"plan must be one of {', '.join(PLANS)}")


def create_project(name: str, plan: str) -> tuple[Project, IssuedKeys]:
    _check_plan(plan)
    if not name.strip():
        raise bad_request("name must not be empty")
    project = Project(
        project_id=ids.uuid7(),
        name=name.strip(),
        plan=plan,
        created_at=clock.iso_ms(clock.now()),
    )
    project.save(condition=Project.project_id.does_not_exist())
    keys = IssuedKeys(_issue_key(project.project_id, "public"), _issue_key(project.project_id, "secret"))
    return project, keys


def get_project(project_id: str) -> Project:
    try:
        return Project.get(project_id)
    except DoesNotExist:
        raise not_found("Project") from None


def set_plan(project_id: str, plan: str) -> Project:
    _check_plan(plan)
    project = get_project(project_id)
    project.update(actions=[Project.plan.set(plan)])
    return project


def rotate_keys(project_id: str, kinds: tuple[str, ...] = ("public", "secret")) -> dict[str, str]:
    """Revoke the project's active keys of these kinds and issue new ones."""
    get_project(project_id)
    now = clock.iso_ms(clock.now())
    for entry in ApiKey.by_project.query(project_id):
        key = ApiKey.get(entry.key_hash)
        if key.kind in kinds and key.status == "active":
            key.update(actions=[ApiKey.status.set("revoked"), ApiKey.revoked_at.set(now)])
    return {kind: _issue_key(project_id, kind) for kind in kinds}
