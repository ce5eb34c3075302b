"""Public keys restricted to origins: the settings route, the 403, and CORS answers that name only
allowed origins — over HTTP against the local stack (its key and project cache lasts 1 s)."""

from __future__ import annotations


import pytest

from tests.support.waiting import eventually

APP = "https://app.example.com"


@pytest.fixture
def owner(stack):
    return stack.new_project("enterprise", "Origins")


def settings_url(owner, project_id=None):
    return f"/api/v1/projects/{project_id or owner['projectId']}/settings"


def patch_settings(stack, owner, body):
    with stack.client(owner["secretKey"]) as c:
        return c.patch(settings_url(owner), json=body)


def chat(stack, key, origin=None, path="/api/v1/chat"):
    headers = {"Origin": origin} if origin else {}
    with stack.client(key) as c:
        if path == "/api/v1/chat/config":
            return c.get(path, headers=headers)
        return c.post(path, json={"message": "Hello"}, headers=headers)


def restrict(stack, owner, allowed, probe_origin="https://probe.invalid"):
    r = patch_settings(stack, owner, {"allowed_origins": allowed})
    assert r.status_code == 200, r.text
    # once a refused origin is refused, the new list is in force
    assert eventually(lambda: chat(stack, owner["publicKey"], probe_origin).status_code == 403)
    return r.json()


def test_settings_start_empty_and_store_origins_canonically(stack, owner):
    with stack.client(owner["secretKey"]) as c:
        assert c.get(settings_url(owner)).json()["allowed_origins"] == []
        r = c.patch(settings_url(owner), json={"allowed_origins": [
            "HTTPS://App.Example.com:443", "http://localhost:3000", "https://*.Example.org", "https://app.example.com"]})
        assert r.status_code == 200, r.text
        expected = ["https://app.example.com", "http://localhost:3000", "https://*.example.org"]
        assert r.json()["allowed_origins"] == expected
        assert c.get(settings_url(owner)).json()["allowed_origins"] == expected


@pytest.mark.parametrize("bad", [
    "https://app.example.com/", "https://app.example.com/path", "app.example.com", "ftp://app.example.com",
    "https://*.com", "https://a.*.example.com", "https://user@app.example.com", "https://app.example.com:99999",
    "https://app.example.com?x=1", "", "null", "*",
])
def test_what_is_not_an_origin_is_refused_and_nothing_changes(stack, owner, bad):
    assert patch_settings(stack, owner, {"allowed_origins": [APP]}).status_code == 200
    r = patch_settings(stack, owner, {"allowed_origins": ["https://ok.example.com", bad]})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_ORIGIN", r.text
    assert "allowed_origins[1]" in r.json()["error"]
    with stack.client(owner["secretKey"]) as c:
        assert c.get(settings_url(owner)).json()["allowed_origins"] == [APP]


@pytest.mark.parametrize("body, code", [
    ({}, "VALIDATION_ERROR"), ({"allowed_origins": None}, "VALIDATION_ERROR"),
    ({"allowed_origins": "https://app.example.com"}, "VALIDATION_ERROR"),
    ({"allowed_origins": [1]}, "VALIDATION_ERROR"),
    ({"allowed_origins": [f"https://a{i}.example.com" for i in range(51)]}, "VALIDATION_ERROR"),
])
def test_malformed_settings_are_400(stack, owner, body, code):
    r = patch_settings(stack, owner, body)
    assert r.status_code == 400 and r.json()["code"] == code, r.text


def test_settings_are_the_owners_only(stack, owner):
    other = stack.new_project("enterprise", "Someone else")
    with stack.client(other["secretKey"]) as c:
        assert c.get(settings_url(owner)).status_code == 404
        assert c.patch(settings_url(owner), json={"allowed_origins": ["https://evil.example"]}).status_code == 404
    with stack.client(owner["publicKey"]) as c:
        r = c.get(settings_url(owner))
        assert r.status_code == 403 and r.json()["code"] == "SECRET_KEY_REQUIRED"
    with stack.client(owner["secretKey"]) as c:
        assert c.get(settings_url(owner)).json()["allowed_origins"] == []


def test_an_empty_list_allows_any_origin_with_a_star(stack, owner):
    r = chat(stack, owner["publicKey"], "https://anywhere.example")
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"


def test_a_listed_origin_is_allowed_and_named_and_others_are_refused_uncounted(stack, owner):
    restrict(stack, owner, [APP])
    allowed = chat(stack, owner["publicKey"], APP)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == APP and "Origin" in allowed.headers["vary"]
    assert "X-RateLimit-Remaining" in allowed.headers["access-control-expose-headers"]
    remaining = int(allowed.headers["x-ratelimit-remaining"])

    refused = chat(stack, owner["publicKey"], "https://evil.example")
    assert refused.status_code == 403
    assert refused.json() == {"error": refused.json()["error"], "code": "ORIGIN_NOT_ALLOWED"}
    assert "access-control-allow-origin" not in refused.headers  # the refused page cannot read it
    for path in ("/api/v1/chat/stream", "/api/v1/chat/config"):
        r = chat(stack, owner["publicKey"], "https://evil.example", path)
        assert r.status_code == 403 and r.json()["code"] == "ORIGIN_NOT_ALLOWED", path
    assert chat(stack, owner["publicKey"], "null").status_code == 403  # sandboxed frames, file: pages

    again = chat(stack, owner["publicKey"], APP)
    assert int(again.headers["x-ratelimit-remaining"]) == remaining - 1  # the refusals did not count


def test_a_wildcard_matches_subdomains_only_on_its_scheme_and_port(stack, owner):
    restrict(stack, owner, ["https://*.shop.example", "http://localhost:3000"])
    for origin in ("https://a.shop.example", "https://x.y.shop.example", "HTTPS://A.Shop.Example:443",
                   "http://localhost:3000"):
        r = chat(stack, owner["publicKey"], origin)
        assert r.status_code == 200, origin
        assert r.headers["access-control-allow-origin"] == origin  # the request's origin, never the pattern
    for origin in ("https://shop.example", "http://a.shop.example", "https://a.shop.example:8443",
                   "https://evilshop.example", "https://a.shop.example.evil.com", "http://localhost:3001",
                   "http://localhost"):
        assert chat(stack, owner["publicKey"], origin).status_code == 403, origin


def test_calls_without_an_origin_and_secret_key_calls_are_not_restricted(stack, owner):
    restrict(stack, owner, [APP])
    r = chat(stack, owner["publicKey"])  # a server: browsers always send Origin across origins
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    r = chat(stack, owner["secretKey"], "https://evil.example")
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers  # still named only for allowed origins


def test_preflights_name_the_asking_origin_and_grant_nothing_else(stack, owner):
    restrict(stack, owner, [APP])
    with stack.client() as c:  # a preflight never carries the key
        r = c.options("/api/v1/chat", headers={"Origin": "https://evil.example",
                                               "Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": "authorization,content-type"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://evil.example" and "Origin" in r.headers["vary"]
    assert "authorization" in r.headers["access-control-allow-headers"].lower()
    # ... the request it announces is refused before anything happens
    assert chat(stack, owner["publicKey"], "https://evil.example").status_code == 403


def test_clearing_the_list_allows_every_origin_again(stack, owner):
    restrict(stack, owner, [APP])
    assert patch_settings(stack, owner, {"allowed_origins": []}).json()["allowed_origins"] == []
    assert eventually(lambda: chat(stack, owner["publicKey"], "https://evil.example").status_code == 200)
    assert chat(stack, owner["publicKey"], "https://evil.example").headers["access-control-allow-origin"] == "*"
