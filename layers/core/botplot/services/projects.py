"""Projects and API keys: creation, plans and key rotation (used by the CLI and tests)."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import DeleteError, DoesNotExist

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


def list_projects() -> list[Project]:
    """Every project, oldest first (a table scan: for the CLI, not for request paths)."""
    return sorted(Project.scan(), key=lambda p: p.created_at)


def list_keys(project_id: str) -> list[ApiKey]:
    """The project's keys, newest first: kind, prefix, status and dates (the keys themselves are never stored)."""
    get_project(project_id)
    keys = [ApiKey.get(entry.key_hash) for entry in ApiKey.by_project.query(project_id)]
    return sorted(keys, key=lambda k: k.created_at, reverse=True)


def delete_project(project_id: str) -> None:
    """Delete a project and everything it owns: keys first (so the API refuses it at once), then
    knowledge and its chunks, webhooks and their deliveries, conversations and messages, leads,
    analytics and usage, its subdomain, its identity secret, and the project itself."""
    from botplot.db.conversations import Conversation, Message
    from botplot.db.knowledge import Source
    from botplot.db.leads import Lead
    from botplot.db.projects import IdentitySecret, Subdomain
    from botplot.db.stats import DailyStats, Visitor
    from botplot.db.usage import Usage
    from botplot.db.webhooks import Delivery, Webhook
    from botplot.knowledge.indexing import remove_source_content

    project = get_project(project_id)
    for entry in ApiKey.by_project.query(project_id):
        ApiKey(entry.key_hash).delete()
    for source in Source.query(project_id):
        remove_source_content(project_id, source.source_id)
        source.delete()
    for webhook in Webhook.query(project_id):
        _delete_all(Delivery.query(webhook.webhook_id))
        webhook.delete()
    for conversation in Conversation.query(project_id):
        _delete_all(Message.query(conversation.conversation_id))
        conversation.delete()
    for model in (Lead, DailyStats, Visitor, Usage):
        _delete_all(model.query(project_id))
    if project.subdomain:
        try:
            Subdomain.get(project.subdomain).delete(condition=Subdomain.project_id == project_id)
        except (DoesNotExist, DeleteError):  # already gone, or claimed by another project since
            pass
    IdentitySecret(project_id).delete()  # a no-op when it has none
    project.delete()


def _delete_all(items) -> None:
    for item in items:
        item.delete()
