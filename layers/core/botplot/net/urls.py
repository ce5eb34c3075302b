"""The shape of a URL the API accepts from a customer, written once for the server and for the
OpenAPI document (which publishes the same pattern), so that the two cannot disagree.

Only ASCII character classes are used: Python's ``re`` and the document's ECMA-262 regexes read
them the same way (``\\s`` and ``\\w`` differ between the two). A host is a registered name or a
bracketed IPv6 address; there are no credentials; a port is 0-65535; the rest has no spaces or
control characters.
"""

from __future__ import annotations

import re

_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join((
    f"(?:{_H}:){{7}}{_H}",
    f"(?:{_H}:){{1,7}}:",
    f"(?:{_H}:){{1,6}}:{_H}",
    f"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}",
    f"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}",
    f"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}",
    f"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
    f"{_H}:(?::{_H}){{1,6}}",
    f":(?:(?::{_H}){{1,7}}|:)",
))
_HOST = rf"(?:\[(?:{_IPV6})\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)"
_PORT = r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
_REST = r"(?:[/?#][^\x00-\x20\x7f]*)?"
#: what ``str.strip(SPACE)`` removes around a URL before it is checked
SPACE = " \t\r\n"


def url_pattern(*schemes: str) -> str:
    """A regex (anchored, case-insensitive scheme) for absolute URLs with one of these schemes."""
    spelled = "|".join("".join(f"[{c.upper()}{c.lower()}]" for c in scheme) for scheme in schemes)
    return rf"^[ \t\r\n]*(?:{spelled})://{_HOST}{_PORT}{_REST}[ \t\r\n]*$"


HTTP_URL = url_pattern("https", "http")
HTTPS_URL = url_pattern("https")
_http, _https = re.compile(HTTP_URL), re.compile(HTTPS_URL)


def is_http_url(url: str) -> bool:
    return _http.match(url) is not None


def is_https_url(url: str) -> bool:
    return _https.match(url) is not None
