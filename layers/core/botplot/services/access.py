"""A project's access settings (``GET``/``PATCH /projects/:projectId/settings``): which origins may
use its public key, and whether its visitors must be verified (``require_identity``, see
``services/identity.py``).

They live on the project item and reach the request path through the cached project lookup
(``services/auth.py``), so a change takes effect within ``BOTPLOT_KEY_CACHE_SECONDS`` (15 s) on
a warm function. Any paid plan may set them.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, UpdateError

from botplot.db.base import condition_failed
from botplot.db.projects import Project
from botplot.errors import conflict, not_found
from botplot.services import identity, origins


def _project(project_id: str) -> Project:
    try:
        return Project.get(project_id, consistent_read=True)
    except DoesNotExist:
        raise not_found("Project", "PROJECT_NOT_FOUND") from None


def _view(project: Project) -> dict:
    return {"allowed_origins": list(project.allowed_origins or []), "require_identity": bool(project.require_identity),
            "identity_secret_created_at": identity.created_at(project.project_id)}


def view(project_id: str) -> dict:
    return _view(_project(project_id))


def update(project_id: str, allowed_origins: list[str] | None = None, require_identity: bool | None = None) -> dict:
    """Validate everything, then write it in one update: a refused request changes nothing.

    Identity cannot be required before the project has a secret (``409 IDENTITY_SECRET_REQUIRED``):
    every visitor would be refused. Secrets are never deleted, only rotated, so one that exists
    stays.
    """
    actions = []
    if allowed_origins is not None:
        actions.append(Project.allowed_origins.set(origins.validate(allowed_origins)))
    if require_identity is not None:
        if require_identity and not identity.exists(project_id):
            raise conflict("Create the identity secret (POST …/identity-secret) before requiring identity",
                           "IDENTITY_SECRET_REQUIRED")
        actions.append(Project.require_identity.set(require_identity))
    project = Project(project_id)
    try:
        project.update(actions=actions, condition=Project.project_id.exists())
    except UpdateError as error:
        if condition_failed(error):
            raise not_found("Project", "PROJECT_NOT_FOUND") from None
        raise
    return _view(project)  # update() read back the whole item
