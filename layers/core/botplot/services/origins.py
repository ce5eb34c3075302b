"""Which browser origins may use a project's public key.

A project's ``allowed_origins`` are exact origins (``https://app.example.com``,
``http://localhost:3000``) or wildcards (``https://*.example.com``) that match one or more
subdomain labels under the named domain (``a.example.com``, ``a.b.example.com``) but not the
domain itself. An origin is a scheme (http or https), a host name (or IPv4 address) and an
optional port: no path, query, credentials or trailing slash. They are compared case-insensitively
with the scheme's default port left out (``https://A.example.com:443`` is ``https://a.example.com``).

The pattern below is published in the OpenAPI document too, so the document and the server accept
exactly the same strings; only ASCII classes are used, which Python and ECMA-262 read alike.
"""

from __future__ import annotations

import re

from botplot.errors import bad_request

MAX_ORIGINS = 50
MAX_ORIGIN_CHARS = 300
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
#: an exact origin, or ``*.`` followed by at least two labels (``https://*.com`` is refused)
ORIGIN_PATTERN = rf"^[Hh][Tt][Tt][Pp][Ss]?://(?:\*\.{_LABEL}(?:\.{_LABEL})+|{_LABEL}(?:\.{_LABEL})*){_PORT}$"
_ORIGIN = re.compile(ORIGIN_PATTERN)
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def normalise(origin: str) -> str | None:
    """The canonical spelling of an origin (or wildcard), or ``None`` when it is not one."""
    if not isinstance(origin, str) or len(origin) > MAX_ORIGIN_CHARS or not _ORIGIN.fullmatch(origin):
        return None
    scheme, _, rest = origin.lower().partition("://")
    host, _, port = rest.partition(":")
    if port and port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def validate(origins: list[str]) -> list[str]:
    """The list as stored: each origin normalised, duplicates dropped, order kept; or a 400 naming
    the first entry that is not an origin (the route bounds the count at ``MAX_ORIGINS``)."""
    out: list[str] = []
    for i, origin in enumerate(origins):
        canonical = normalise(origin)
        if canonical is None:
            raise bad_request(
                f"'allowed_origins[{i}]' is not an origin: use scheme://host[:port] with no path or trailing "
                f"slash, e.g. https://app.example.com, or https://*.example.com for every subdomain",
                "INVALID_ORIGIN")
        if canonical not in out:
            out.append(canonical)
    return out


def allows(allowed: tuple[str, ...], origin: str | None) -> bool:
    """Whether a request's ``Origin`` header is one of ``allowed`` (canonical entries).

    An empty list allows every origin. A request without ``Origin`` is allowed: browsers send it on
    every cross-origin request, so its absence means a server or a tool, which could send any
    ``Origin`` it liked anyway; the list keeps other websites from using the key in their visitors'
    browsers, it does not authenticate servers. ``null`` (sandboxed frames, ``file:`` pages) and
    anything that is not an origin never match a non-empty list.
    """
    if not allowed or origin is None:
        return True
    canonical = normalise(origin.strip())
    if canonical is None or canonical.partition("://")[2].startswith("*."):
        return False
    if canonical in allowed:
        return True
    scheme, _, authority = canonical.partition("://")
    for entry in allowed:
        entry_scheme, _, entry_authority = entry.partition("://")
        if entry_scheme != scheme or not entry_authority.startswith("*."):
            continue
        suffix = entry_authority[1:]  # ".example.com[:port]"
        domain, _, port = suffix.partition(":")
        host, _, request_port = authority.partition(":")
        if port == request_port and host.endswith(domain) and len(host) > len(domain):
            return True
    return False
