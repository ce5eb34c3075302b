"""Branding, subdomains and custom-domain verification over HTTP against the local stack."""

from __future__ import annotations

import base64
import threading
import zlib
import struct

import httpx
import pytest


def png(size: int = 1) -> bytes:
    """A real PNG of size×size pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def data_url(kind: str, data: bytes) -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


SAFE_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><linearGradient id="g"/></defs>' \
           b'<rect width="10" height="10" fill="url(#g)"/><use href="#g"/></svg>'
UNSAFE_SVGS = {
    "script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "handler": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
    "foreignObject": b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div>x</div></foreignObject></svg>',
    "external href": b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
                     b'<image xlink:href="https://evil.example/x.png"/></svg>',
    "javascript href": b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><rect/></a></svg>',
    "css url": b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://evil.example/f)"/></svg>',
    "style import": b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(//evil.example/a.css);</style>'
                    b'</svg>',
    "entities": b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">'
                b'&x;</svg>',
}


@pytest.fixture
def owner(stack):
    return stack.new_project("enterprise", "Branded")


def patch(stack, owner, what, body, project_id=None):
    with stack.client(owner["secretKey"]) as c:
        return c.patch(f"/api/v1/projects/{project_id or owner['projectId']}/{what}", json=body)


def test_logo_is_stored_where_the_widget_can_fetch_it_and_removed(stack, owner):
    logo = png(4)
    r = patch(stack, owner, "branding", {"white_label": True, "custom_logo": data_url("image/png", logo)})
    assert r.status_code == 200
    body = r.json()
    assert body["white_label"] is True and body["custom_logo"] is True
    served = httpx.get(body["logo_url"])
    assert served.status_code == 200 and served.content == logo and served.headers["content-type"] == "image/png"
    r = patch(stack, owner, "branding", {"custom_logo": None})
    assert r.json() == {"white_label": True, "custom_logo": False}
    assert httpx.get(body["logo_url"]).status_code == 404


def test_a_safe_svg_and_a_jpeg_are_accepted(stack, owner):
    assert patch(stack, owner, "branding", {"custom_logo": data_url("image/svg+xml", SAFE_SVG)}).status_code == 200
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 100
    assert patch(stack, owner, "branding", {"custom_logo": data_url("image/jpeg", jpeg)}).status_code == 200


@pytest.mark.parametrize("name", sorted(UNSAFE_SVGS))
def test_unsafe_svgs_are_refused_and_nothing_changes(stack, owner, name):
    before = patch(stack, owner, "branding", {"white_label": False, "custom_domain": "chat.before.example"}).json()
    r = patch(stack, owner, "branding", {"white_label": True, "custom_domain": "chat.after.example",
                                         "custom_logo": data_url("image/svg+xml", UNSAFE_SVGS[name])})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_LOGO", r.text
    assert patch(stack, owner, "branding", {"custom_domain": "chat.before.example"}).json() == before


@pytest.mark.parametrize("logo, code", [
    (data_url("image/png", b"GIF89a" + b"\x00" * 20), "INVALID_LOGO"),  # the bytes are not a PNG
    (data_url("image/png", b"\xff\xd8\xff\xe0" + b"\x00" * 20), "INVALID_LOGO"),  # a JPEG labelled PNG
    (data_url("image/gif", b"GIF89a" + b"\x00" * 20), "INVALID_LOGO"),
    (data_url("image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (100 * 1024)), "LOGO_TOO_LARGE"),
    ("data:image/png;base64,not*base64!", "INVALID_LOGO"),
    ("https://example.com/logo.png", "INVALID_LOGO"),
])
def test_bad_logos_are_400(stack, owner, logo, code):
    r = patch(stack, owner, "branding", {"custom_logo": logo})
    assert r.status_code == 400 and r.json()["code"] == code


@pytest.mark.parametrize("domain", ["not a domain", "localhost", "-bad.example.com", "a..b.com", "192.168.1.1",
                                    "x" * 64 + ".com", "chat.example.123", "custom.botplot.app", "evil.botplot.app"])
def test_bad_custom_domains_are_400(stack, owner, domain):
    r = patch(stack, owner, "branding", {"custom_domain": domain})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DOMAIN"


@pytest.mark.parametrize("body", [{}, {"white_label": "yes"}, {"white_label": None}, {"custom_logo": 5}])
def test_malformed_branding_is_400(stack, owner, body):
    r = patch(stack, owner, "branding", body)
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR", r.text


def test_settings_need_the_enterprise_plan_and_the_own_project(stack, owner):
    pro = stack.new_project("pro", "Not enterprise")
    for what, body in (("branding", {"white_label": True}), ("subdomain", {"subdomain": "pro-shop"})):
        r = patch(stack, pro, what, body)
        assert r.status_code == 403 and r.json()["code"] == "ENTERPRISE_REQUIRED"
        r = patch(stack, owner, what, body, project_id=pro["projectId"])
        assert r.status_code == 404 and r.json()["code"] == "PROJECT_NOT_FOUND"
    with stack.client(pro["secretKey"]) as c:
        r = c.post(f"/api/v1/projects/{pro['projectId']}/verify-domain")
        assert r.status_code == 403 and r.json()["code"] == "ENTERPRISE_REQUIRED"


@pytest.mark.parametrize("name, code", [("ab", "INVALID_SUBDOMAIN"), ("a" * 31, "INVALID_SUBDOMAIN"),
                                        ("My-Shop", "INVALID_SUBDOMAIN"), ("-shop", "INVALID_SUBDOMAIN"),
                                        ("shop-", "INVALID_SUBDOMAIN"), ("my_shop", "INVALID_SUBDOMAIN"),
                                        ("my.shop", "INVALID_SUBDOMAIN"), ("www", "SUBDOMAIN_RESERVED"),
                                        ("api", "SUBDOMAIN_RESERVED"), ("admin", "SUBDOMAIN_RESERVED")])
def test_bad_subdomains_are_400(stack, owner, name, code):
    r = patch(stack, owner, "subdomain", {"subdomain": name})
    assert r.status_code == 400 and r.json()["code"] == code


def test_a_subdomain_belongs_to_one_project_and_is_released_when_changed(stack, owner):
    other = stack.new_project("enterprise", "Rival")
    assert patch(stack, owner, "subdomain", {"subdomain": "acme-help"}).json() == {"subdomain": "acme-help"}
    assert patch(stack, owner, "subdomain", {"subdomain": "acme-help"}).status_code == 200  # idempotent
    r = patch(stack, other, "subdomain", {"subdomain": "acme-help"})
    assert r.status_code == 409 and r.json()["code"] == "SUBDOMAIN_TAKEN"
    assert patch(stack, owner, "subdomain", {"subdomain": "acme-support"}).status_code == 200
    assert patch(stack, other, "subdomain", {"subdomain": "acme-help"}).json() == {"subdomain": "acme-help"}


def test_two_projects_racing_for_a_name_cannot_both_get_it(stack):
    projects = [stack.new_project("enterprise", f"Racer {i}") for i in range(4)]
    tag = projects[0]["projectId"][-6:]
    held = {}  # project id -> the name it won last (winning a new name releases the old one)
    for round_ in range(5):
        name = f"race-{round_}-{tag}"
        results = {}

        def claim(project):
            results[project["projectId"]] = patch(stack, project, "subdomain", {"subdomain": name}).status_code

        threads = [threading.Thread(target=claim, args=(p,)) for p in projects]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [200, 409, 409, 409], results
        (winner,) = [pid for pid, status in results.items() if status == 200]
        held[winner] = name
    holders = stack.table("SUBDOMAINS").scan(ConsistentRead=True)["Items"]
    mine = {h["subdomain"]: h["projectId"] for h in holders if h["subdomain"].endswith(f"-{tag}")}
    # exactly the winners' last names are held, each by its winner; every released name is free again
    assert mine == {name: pid for pid, name in held.items()}
    for project in projects:
        stored = stack.table("PROJECTS").get_item(Key={"projectId": project["projectId"]})["Item"]
        assert stored.get("subdomain") == held.get(project["projectId"])


def test_custom_domain_verification_checks_the_cname(stack, owner, dns):
    with stack.client(owner["secretKey"]) as c:
        base = f"/api/v1/projects/{owner['projectId']}"
        r = c.post(f"{base}/verify-domain")
        assert r.status_code == 400 and r.json()["code"] == "NO_CUSTOM_DOMAIN"
        dns.set("chat.acme-verify.test", "CNAME", "elsewhere.example.net")
        c.patch(f"{base}/branding", json={"custom_domain": "Chat.Acme-Verify.TEST"})
        r = c.post(f"{base}/verify-domain")
        assert r.status_code == 200
        assert r.json()["verified"] is False and r.json()["domain"] == "chat.acme-verify.test"
        dns.set("chat.acme-verify.test", "CNAME", "custom.botplot.app")
        body = c.post(f"{base}/verify-domain").json()
        assert body["verified"] is True and body["domain"] == "chat.acme-verify.test" and body["verifiedAt"]
        project = stack.table("PROJECTS").get_item(Key={"projectId": owner["projectId"]})["Item"]
        assert project["domainVerifiedAt"]
        dns.set("chat.acme-verify.test", "CNAME")  # the record is removed
        assert c.post(f"{base}/verify-domain").json()["verified"] is False
        assert "domainVerifiedAt" not in stack.table("PROJECTS").get_item(Key={"projectId": owner["projectId"]})["Item"]
