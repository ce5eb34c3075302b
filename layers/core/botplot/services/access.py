"""A project's access settings (``GET``/``PATCH /projects/:projectId/settings``): which origins may
use its public key.

They live on the project item and reach the request path through the cached project lookup
(``services/auth.py``), so a change takes effect within ``BOTPLOT_KEY_CACHE_SECONDS`` (15 s) on
a warm function. Any paid plan may set them.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, UpdateError

from botplot.db.base import condition_failed
from botplot.db.projects import Project
from botplot.errors import not_found
from botplot.services import origins


def _project(project_id: str) -> Project:
    try:
        return Project.get(project_id, consistent_read=True)
    except DoesNotExist:
        raise not_found("Project", "PROJECT_NOT_FOUND") from None


def _view(project: Project) -> dict:
    return {"allowed_origins": list(project.allowed_origins or [])}


def view(project_id: str) -> dict:
    return _view(_project(project_id))


def update(project_id: str, allowed_origins: list[str] | None = None) -> dict:
    """Validate everything, then write it in one update: a refused request changes nothing."""
    actions = []
    if allowed_origins is not None:
        actions.append(Project.allowed_origins.set(origins.validate(allowed_origins)))
    project = Project(project_id)
    try:
        project.update(actions=actions, condition=Project.project_id.exists())
    except UpdateError as error:
        if condition_failed(error):
            raise not_found("Project", "PROJECT_NOT_FOUND") from None
        raise
    return _view(project)  # update() read back the whole item
