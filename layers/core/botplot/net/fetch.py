"""HTTP requests to customer-supplied URLs: SSRF-guarded on every hop, bounded in time and size.

urllib3 (already in the Lambda runtime with botocore) connects to the address the guard checked,
while TLS still verifies the certificate for the host name (SNI and hostname check) and the
``Host`` header names the host.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3

from botplot.net.ssrf import BlockedTarget, UnresolvedHost, checked_address

REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """The request did not produce a usable answer; the message says why, for the customer."""


@dataclass
class Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_ms: float
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def text(self) -> str:
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def _split(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:  # an invalid port or IPv6 address
        raise FetchError(f"the URL cannot be read ({error})") from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be fetched, not '{parts.scheme}:'")
    if not parts.hostname:
        raise FetchError("the URL has no host")
    if parts.username or parts.password:
        raise FetchError("URLs with credentials are not allowed")
    port = port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


class Fetcher:
    def __init__(self, user_agent: str, connect_timeout: float = 5, read_timeout: float = 15,
                 total_timeout: float = 30, max_bytes: int = 5 * 1024 * 1024, max_redirects: int = 5):
        self.user_agent = user_agent
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects

    def request(self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                follow_redirects: bool = True, accept: str = "*/*") -> Response:
        started = time.monotonic()
        hops: list[str] = []
        for _ in range(self.max_redirects + 1):
            scheme, host, port, path = _split(url)
            try:
                address = checked_address(host, port)
            except UnresolvedHost as failure:
                raise FetchError(str(failure)) from None
            except BlockedTarget as blocked:
                raise FetchError(f"refused: {blocked}") from None
            response = self._send(method, scheme, host, port, str(address), path, body, headers or {}, accept,
                                  started)
            if follow_redirects and response.status in REDIRECTS and "location" in response.headers:
                hops.append(url)
                url = urljoin(url, response.headers["location"])
                if response.status in (301, 302, 303) and method != "HEAD":
                    method, body = "GET", None
                continue
            response.url, response.redirects = url, hops
            return response
        raise FetchError(f"more than {self.max_redirects} redirects")

    def _send(self, method, scheme, host, port, address, path, body, headers, accept, started) -> Response:
        default_port = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
        host_header = host if default_port else f"{host}:{port}"
        if ":" in address:
            address = f"[{address}]"
        if scheme == "https":
            pool = urllib3.HTTPSConnectionPool(address, port, timeout=self.timeout, retries=False,
                                               server_hostname=host, assert_hostname=host, maxsize=1)
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=self.timeout, retries=False, maxsize=1)
        all_headers = {"Host": host_header, "User-Agent": self.user_agent, "Accept": accept,
                       "Accept-Encoding": "gzip, deflate", **headers}
        try:
            raw = pool.urlopen(method, path, body=body, headers=all_headers, redirect=False,
                               preload_content=False, assert_same_host=False)
            chunks, size = [], 0
            for chunk in raw.stream(64 * 1024, decode_content=True):
                size += len(chunk)
                if size > self.max_bytes:
                    raw.release_conn()
                    raise FetchError(f"response larger than {self.max_bytes // (1024 * 1024)} MB")
                if time.monotonic() - started > self.total_timeout:
                    raise FetchError(f"took longer than {self.total_timeout:.0f} s")
                chunks.append(chunk)
            response_headers = {k.lower(): v for k, v in raw.headers.items()}
            status = raw.status
            raw.release_conn()
        except urllib3.exceptions.NewConnectionError:  # a subclass of the timeout error in urllib3 2
            raise FetchError("connection failed (refused or unreachable)") from None
        except urllib3.exceptions.TimeoutError:
            raise FetchError("timed out") from None
        except urllib3.exceptions.SSLError as error:
            raise FetchError(f"TLS error: {error.__class__.__name__}") from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise FetchError(f"connection failed ({error.__class__.__name__})") from None
        finally:
            pool.close()
        return Response(url="", status=status, headers=response_headers, body=b"".join(chunks),
                        elapsed_ms=(time.monotonic() - started) * 1000)
