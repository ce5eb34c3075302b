"""Who may call (README "Keys", "Plans and quotas"): the Authorization header's shape, which key reaches
which route, revoked keys and plan changes taking effect within BOTPLOT_KEY_CACHE_SECONDS.

The apps run in-process behind the template's router (as API Gateway routes them), on moto."""

from __future__ import annotations


import pytest

from tests.support.waiting import eventually

CACHE_SECONDS = 0.5


@pytest.fixture(scope="module")
def app(moto_endpoint):
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("BOTPLOT_KEY_CACHE_SECONDS", str(CACHE_SECONDS))
    from starlette.testclient import TestClient

    from botplot.config import reload_settings
    from botplot_dev.router import TemplateRouter

    reload_settings()
    yield TestClient(TemplateRouter())
    monkeypatch.undo()
    reload_settings()


@pytest.fixture(scope="module")
def keys(app):
    from botplot.services.projects import create_project

    return create_project("auth rules", "business")[1]


def leads(app, authorization: str | None):
    return app.get("/api/v1/leads", headers={} if authorization is None else {"Authorization": authorization})


def chat(app, key: str):
    return app.post("/api/v1/chat", json={"message": "Hello"}, headers={"Authorization": f"Bearer {key}"})


@pytest.mark.parametrize("authorization", [None, "", "   "])
def test_no_key_is_401_missing_api_key(app, authorization):
    r = leads(app, authorization)
    assert r.status_code == 401 and r.json() == {
        "error": "Missing API key: send 'Authorization: Bearer <key>'", "code": "MISSING_API_KEY"}


@pytest.mark.parametrize("shape", [
    "Basic {key}", "Token {key}", "{key}", "Bearer", "Bearer ", "Bearer {key}x{bad}", "Bearer {short}",
    "Bearer {long}", "Bearer xk_{body}", "Bearer {key} trailing", "Bearer pk{body}",
])
def test_a_malformed_header_is_401_invalid_api_key(app, keys, shape):
    secret = keys.secret_key
    r = leads(app, shape.format(key=secret, bad="!", short=secret[:3 + 31], long=secret + "a" * 200,
                                body=secret[3:]))
    assert r.status_code == 401 and r.json() == {
        "error": "Malformed Authorization header: expected 'Bearer pk_…' or 'Bearer sk_…'", "code": "INVALID_API_KEY"}


@pytest.mark.parametrize("shape", ["Bearer {key}", "bearer {key}", "BEARER {key}", "  Bearer   {key}  "])
def test_the_scheme_is_case_insensitive_and_spaces_around_are_ignored(app, keys, shape):
    assert leads(app, shape.format(key=keys.secret_key)).status_code == 200


def test_key_lengths_from_32_to_200_characters_are_well_formed(app):
    for body in ("a" * 32, "a" * 200):
        r = leads(app, f"Bearer sk_{body}")
        assert r.status_code == 401 and r.json() == {"error": "Invalid or revoked API key", "code": "INVALID_API_KEY"}


def test_public_keys_reach_chat_only_secret_keys_reach_everything(app, keys):
    r = leads(app, f"Bearer {keys.public_key}")
    assert r.status_code == 403 and r.json() == {
        "error": "This route needs your secret key (sk_…); public keys only reach chat routes",
        "code": "SECRET_KEY_REQUIRED"}
    assert chat(app, keys.public_key).status_code == 200
    assert chat(app, keys.secret_key).status_code == 200  # a server may chat too


def test_a_rotated_key_is_refused_once_the_cache_time_is_up(app):
    from botplot.services.projects import create_project, rotate_keys

    project, old = create_project("rotated", "pro")
    assert chat(app, old.public_key).status_code == 200
    assert leads(app, f"Bearer {old.secret_key}").status_code == 200
    new = rotate_keys(project.project_id)
    refused = eventually(lambda: (r := chat(app, old.public_key)).status_code == 401 and r, timeout=10, interval=0.05)
    assert refused and refused.json() == {"error": "Invalid or revoked API key", "code": "INVALID_API_KEY"}
    assert eventually(lambda: leads(app, f"Bearer {old.secret_key}").status_code == 401, timeout=10, interval=0.05)
    assert chat(app, new["public"]).status_code == 200 and leads(app, f"Bearer {new['secret']}").status_code == 200


def test_a_plan_change_takes_effect_once_the_cache_time_is_up(app):
    from botplot.services.projects import create_project, set_plan

    project, keys = create_project("upgraded", "free")
    r = chat(app, keys.public_key)
    assert r.status_code == 403 and r.json() == {
        "error": "API access requires a paid plan (pro, business or enterprise)", "code": "PLAN_REQUIRED"}
    set_plan(project.project_id, "business")
    upgraded = eventually(lambda: (r := chat(app, keys.public_key)).status_code == 200 and r, timeout=10, interval=0.05)
    assert upgraded and upgraded.headers["X-RateLimit-Limit"] == "5000"
    set_plan(project.project_id, "free")
    assert eventually(lambda: chat(app, keys.public_key).status_code == 403, timeout=10, interval=0.05)


def test_a_deleted_project_s_keys_are_refused(app, monkeypatch):
    """Refused once the cache time is up, even for a key whose own entry is still cached then (its
    project's entry, loaded earlier, is not). The cache's clock is moved by hand."""
    from botplot.services import ttl_cache
    from botplot.services.projects import create_project, delete_project

    class Clock:
        now = 0.0

        def monotonic(self):
            return self.now

    clock = Clock()
    monkeypatch.setattr(ttl_cache, "time", clock)
    project, keys = create_project("deleted", "pro")
    assert chat(app, keys.public_key).status_code == 200  # the project's entry: until 0.5 s
    clock.now = 0.3
    assert chat(app, keys.secret_key).status_code == 200  # the secret key's entry: until 0.8 s
    delete_project(project.project_id)
    assert chat(app, keys.secret_key).status_code == 200  # within the cache time
    clock.now = 0.6
    r = chat(app, keys.secret_key)
    assert r.status_code == 401 and r.json() == {"error": "Invalid or revoked API key", "code": "INVALID_API_KEY"}
    assert chat(app, keys.public_key).status_code == 401


def test_the_project_s_name_and_instructions_reach_the_model(app, monkeypatch, tmp_path):
    """README "Answers", step 3: the grounded prompt names the site and carries its owner's instructions
    (read with the key, so they follow the project's record). The model is the local OpenAI fake."""
    from botplot.config import reload_settings
    from botplot.db.projects import Project
    from botplot.knowledge.embeddings import default_embedder
    from botplot.knowledge.index import default_index
    from botplot.services import knowledge
    from botplot.services.projects import create_project
    from tests.support.fake_openai import FakeOpenAI

    fake = FakeOpenAI()
    # a key of its own: the shared client is rebuilt when the key changes (this fake is on a new port)
    monkeypatch.setenv("OPENAI_API_KEY", f"sk-auth-prompt-{fake.base_url.rsplit(':', 1)[1].split('/')[0]}")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("BOTPLOT_EMBEDDER", "openai")
    monkeypatch.setenv("BOTPLOT_INDEX", "sqlite")
    monkeypatch.setenv("BOTPLOT_INDEX_PATH", str(tmp_path / "index.sqlite"))
    reload_settings()
    default_embedder.cache_clear()
    default_index.cache_clear()
    try:
        project, keys = create_project("Acme Outdoor", "business")
        Project(project.project_id).update(actions=[Project.instructions.set("Always answer in French.")])
        knowledge.add_qa(project.project_id, "Do you ship to Canada?", "Yes, we ship to Canada in 5 days.")
        assert chat(app, keys.public_key).status_code == 200
        r = app.post("/api/v1/chat", json={"message": "Do you ship to Canada?"},
                     headers={"Authorization": f"Bearer {keys.public_key}"})
        assert r.status_code == 200 and fake.chat_requests
        system = fake.chat_requests[-1]["messages"][0]["content"]
        assert "Acme Outdoor" in system and "Always answer in French." in system
    finally:
        fake.close()
        monkeypatch.undo()
        reload_settings()
        default_embedder.cache_clear()
        default_index.cache_clear()
