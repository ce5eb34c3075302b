"""Project settings on the Enterprise plan: white-label branding, subdomain, custom domain.

Every input is validated in full before anything is written, so a rejected request leaves the
stored settings as they were. Logos are checked by their bytes (PNG, JPEG or SVG signature, not
only the declared type), at most 100 KB decoded; SVGs with scripts, event handlers, external
references or ``foreignObject`` are refused. A subdomain is claimed with a conditional write on its
own item, so two projects racing for a name cannot both get it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import xml.etree.ElementTree as ET

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from botplot import clock
from botplot.aws import client
from botplot.config import settings
from botplot.db.base import connection
from botplot.db.projects import Project, Subdomain
from botplot.errors import ApiError, bad_request, conflict, not_found
from botplot.net.ssrf import literal_ip

MAX_LOGO_BYTES = 100 * 1024
LOGO_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/svg+xml": "svg"}
RESERVED_SUBDOMAINS = frozenset("""
    www api admin app apps mail email smtp imap pop pop3 ftp sftp ssh ns ns1 ns2 ns3 dns mx cdn static assets
    media img images blog docs doc help support status dashboard login logout signin signup register auth oauth
    sso account accounts billing pay payments dev staging stage test qa demo beta alpha preview sandbox botplot
    root system sys webhook webhooks widget widgets chat secure security m mobile portal console internal
    intranet localhost api-docs developer developers partners news forum community shop store
""".split())
SUBDOMAIN_PATTERN = r"^[a-z0-9][a-z0-9-]{1,28}[a-z0-9]$"
_SUBDOMAIN = re.compile(SUBDOMAIN_PATTERN)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def require_enterprise(project: Project) -> None:
    if project.plan != "enterprise":
        raise ApiError(403, "ENTERPRISE_REQUIRED", "This setting requires the Enterprise plan")


def _project(project_id: str) -> Project:
    try:
        return Project.get(project_id, consistent_read=True)
    except DoesNotExist:
        raise not_found("Project", "PROJECT_NOT_FOUND") from None


# ---------------------------------------------------------------- logos
_DANGEROUS_ELEMENTS = {"script", "foreignobject", "iframe", "embed", "object", "handler", "listener", "audio",
                       "video", "animate", "set", "animatemotion", "animatetransform"}
_URL_REFERENCE = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def check_svg(data: bytes) -> None:
    text = data.decode("utf-8", errors="strict") if data else ""
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise bad_request("SVG logos must not declare a DOCTYPE or entities", "INVALID_LOGO")
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        raise bad_request("'custom_logo' is not a well-formed SVG", "INVALID_LOGO") from None
    if _local(root.tag) != "svg":
        raise bad_request("'custom_logo' is not an SVG image", "INVALID_LOGO")
    for element in root.iter():
        name = _local(element.tag)
        if name in _DANGEROUS_ELEMENTS:
            raise bad_request(f"SVG logos must not contain <{name}> elements", "INVALID_LOGO")
        if name == "style" and (_URL_REFERENCE.search(element.text or "") or "@import" in (element.text or "")):
            raise bad_request("SVG logos must not reference external resources", "INVALID_LOGO")
        for attribute, value in element.attrib.items():
            attr = _local(attribute)
            if attr.startswith("on"):
                raise bad_request("SVG logos must not contain event handlers", "INVALID_LOGO")
            if attr == "href" and not value.strip().startswith("#"):
                raise bad_request("SVG logos must not reference external resources", "INVALID_LOGO")
            if _URL_REFERENCE.search(value) or "javascript:" in value.lower().replace(" ", ""):
                raise bad_request("SVG logos must not reference external resources", "INVALID_LOGO")


def parse_logo(data_url: str) -> tuple[str, bytes]:
    """(content type, bytes) of a ``data:image/...;base64,...`` URL, checked by its bytes."""
    match = re.fullmatch(r"data:([\w.+/-]+);base64,([A-Za-z0-9+/=\s]*)", data_url.strip())
    if not match:
        raise bad_request("'custom_logo' must be a base64 data URL (data:image/png;base64,...)", "INVALID_LOGO")
    declared = match.group(1).lower()
    if declared not in LOGO_TYPES:
        raise bad_request("'custom_logo' must be a PNG, JPEG or SVG image", "INVALID_LOGO")
    encoded = re.sub(r"\s", "", match.group(2))
    if len(encoded) > (MAX_LOGO_BYTES * 4) // 3 + 4:
        raise bad_request("'custom_logo' must be at most 100 KB", "LOGO_TOO_LARGE")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("'custom_logo' is not valid base64", "INVALID_LOGO") from None
    if len(data) > MAX_LOGO_BYTES:
        raise bad_request("'custom_logo' must be at most 100 KB", "LOGO_TOO_LARGE")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        actual = "image/png"
    elif data.startswith(b"\xff\xd8\xff"):
        actual = "image/jpeg"
    else:
        try:
            check_svg(data)
        except UnicodeDecodeError:
            raise bad_request("'custom_logo' is not a PNG, JPEG or SVG image", "INVALID_LOGO") from None
        actual = "image/svg+xml"
    if LOGO_TYPES[actual] != LOGO_TYPES[declared]:
        raise bad_request(f"'custom_logo' says {declared} but its bytes are {actual}", "INVALID_LOGO")
    return actual, data


def _store_logo(project_id: str, content_type: str, data: bytes) -> str:
    s = settings()
    key = f"logos/{project_id}/{hashlib.sha256(data).hexdigest()[:32]}.{LOGO_TYPES[content_type]}"
    client("s3").put_object(Bucket=s.assets_bucket, Key=key, Body=data, ContentType=content_type,
                            CacheControl="public, max-age=31536000, immutable",
                            ContentDisposition="inline", Metadata={"project-id": project_id})
    return f"{s.assets_base_url.rstrip('/')}/{key}"


def _delete_logo(url: str) -> None:
    s = settings()
    key = url.removeprefix(s.assets_base_url.rstrip("/") + "/")
    if key != url:
        client("s3").delete_object(Bucket=s.assets_bucket, Key=key)


# ---------------------------------------------------------------- domains
def validate_domain(domain: str) -> str:
    domain = domain.strip().lower().rstrip(".")
    labels = domain.split(".")
    if (len(domain) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels)
            or not re.fullmatch(r"[a-z]{2,63}|xn--[a-z0-9-]+", labels[-1]) or literal_ip(domain) is not None):
        raise bad_request("'custom_domain' must be a hostname such as chat.example.com", "INVALID_DOMAIN")
    target = settings().custom_domain_target.lower().rstrip(".")
    apex = target.split(".", 1)[-1]
    if domain == target or domain.endswith("." + apex) or domain == apex:
        raise bad_request("'custom_domain' must be your own domain", "INVALID_DOMAIN")
    return domain


def branding_view(project: Project) -> dict:
    view = {"white_label": bool(project.white_label), "custom_logo": bool(project.logo_url)}
    if project.logo_url:
        view["logo_url"] = project.logo_url
    if project.custom_domain:
        view["custom_domain"] = project.custom_domain
    return view


_UNSET = object()


def update_branding(project_id: str, white_label=_UNSET, custom_logo=_UNSET, custom_domain=_UNSET) -> dict:
    project = _project(project_id)
    require_enterprise(project)
    if white_label is _UNSET and custom_logo is _UNSET and custom_domain is _UNSET:
        raise bad_request("Send at least one of white_label, custom_logo, custom_domain")
    logo = parse_logo(custom_logo) if isinstance(custom_logo, str) else None
    domain = validate_domain(custom_domain) if isinstance(custom_domain, str) else None
    actions, old_logo = [], project.logo_url
    if white_label is not _UNSET:
        actions.append(Project.white_label.set(bool(white_label)))
    if custom_logo is None:
        actions.append(Project.logo_url.remove())
    elif logo is not None:
        actions.append(Project.logo_url.set(_store_logo(project_id, *logo)))
    if custom_domain is None:
        actions += [Project.custom_domain.remove(), Project.domain_verified_at.remove()]
    elif domain is not None and domain != project.custom_domain:
        actions += [Project.custom_domain.set(domain), Project.domain_verified_at.remove()]
    if actions:
        project.update(actions=actions, condition=Project.project_id.exists())
    if old_logo and old_logo != project.logo_url:
        _delete_logo(old_logo)
    return branding_view(project)


# ---------------------------------------------------------------- subdomains
def validate_subdomain(name: str) -> str:
    if not 3 <= len(name) <= 30 or not _SUBDOMAIN.match(name):
        raise bad_request("'subdomain' must be 3-30 lowercase letters, digits and hyphens, not starting or "
                          "ending with a hyphen", "INVALID_SUBDOMAIN")
    if name in RESERVED_SUBDOMAINS:
        raise bad_request(f"'{name}' is reserved; choose another subdomain", "SUBDOMAIN_RESERVED")
    return name


def claim_subdomain(project_id: str, name: str) -> str:
    name = validate_subdomain(name)
    project = _project(project_id)
    require_enterprise(project)
    if project.subdomain == name:
        return name
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(Subdomain(name, project_id=project_id, claimed_at=clock.iso_ms(clock.now())),
                    condition=Subdomain.subdomain.does_not_exist() | (Subdomain.project_id == project_id))
            tx.update(project, actions=[Project.subdomain.set(name)],
                      condition=(Project.subdomain == project.subdomain) if project.subdomain
                      else Project.subdomain.does_not_exist())
            if project.subdomain:  # the old name is released in the same transaction
                tx.delete(Subdomain(project.subdomain), condition=Subdomain.project_id == project_id)
    except TransactWriteError as error:
        reasons = getattr(error, "cancellation_reasons", None) or []
        if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
            raise conflict(f"The subdomain '{name}' is already taken", "SUBDOMAIN_TAKEN") from None
        raise ApiError(409, "CONCURRENT_UPDATE", "The project's subdomain changed meanwhile; try again") from None
    return name


# ---------------------------------------------------------------- custom domain verification
def _cname(domain: str) -> str | None:
    import dns.exception
    import dns.resolver

    servers = settings().dns_nameservers
    resolver = dns.resolver.Resolver(configure=not servers)
    if servers:
        resolver.nameservers, resolver.nameserver_ports = [], {}
        for server in servers:
            address, _, port = server.strip().rpartition(":") if server.count(":") == 1 else (server, "", "")
            resolver.nameservers.append(address)
            if port:
                resolver.nameserver_ports[address] = int(port)
    resolver.lifetime = 5
    try:
        answer = resolver.resolve(domain, "CNAME")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
        return None
    except dns.exception.Timeout:
        raise ApiError(503, "DNS_UNAVAILABLE", "DNS did not answer in time; try again in a minute") from None
    return str(answer[0].target).rstrip(".").lower()


def verify_domain(project_id: str) -> dict:
    project = _project(project_id)
    require_enterprise(project)
    if not project.custom_domain:
        raise bad_request("Set a custom_domain (PATCH …/branding) before verifying it", "NO_CUSTOM_DOMAIN")
    target = settings().custom_domain_target.lower().rstrip(".")
    found = _cname(project.custom_domain)
    verified = found == target
    now = clock.iso_ms(clock.now())
    try:
        project.update(actions=[Project.domain_verified_at.set(now) if verified
                                else Project.domain_verified_at.remove()],
                       condition=Project.custom_domain == project.custom_domain)
    except UpdateError:
        raise ApiError(409, "CONCURRENT_UPDATE", "The custom domain changed meanwhile; try again") from None
    result = {"verified": verified, "domain": project.custom_domain, "expected": target, "found": found}
    if verified:
        result["verifiedAt"] = clock.api_time(now)
    return result
