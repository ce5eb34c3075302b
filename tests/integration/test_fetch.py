"""The fetcher that crawls and delivers webhooks (README "Crawl", "SSRF guard", "Webhooks"): every
redirect hop is checked, at most 5 redirects, a 5 MB cap, the time limits, the headers it sends and
the errors a customer reads. Against servers on 127.0.0.1 (BOTPLOT_ALLOW_PRIVATE_TARGETS=1, as the
local stack runs)."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from botplot.net.fetch import Fetcher, FetchError


class Server:
    """Answers each path with its route: a function of the request handler."""

    def __init__(self, ipv6: bool = False):
        self.routes = {}
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append({"method": self.command, "path": self.path, "body": body,
                                        "headers": {k.lower(): v for k, v in self.headers.items()}})
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    return self.answer(404, b"not found")
                route(self)

            do_GET = do_POST = do_HEAD = do_PUT = handle_any

            def answer(self, status: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the fetcher stopped reading a body over its limit: what those tests expect

            def log_message(self, *args):
                pass

        class HTTPServer(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ipv6 else socket.AF_INET

        self.http = HTTPServer(("::1" if ipv6 else "127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://{'[::1]' if ipv6 else '127.0.0.1'}:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def redirect(self, path: str, status: int, location: str) -> None:
        self.routes[path] = lambda h: h.answer(status, b"", {"Location": location})

    def page(self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8", **headers) -> None:
        self.routes[path] = lambda h: h.answer(200, body, {"Content-Type": content_type, **headers})

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="module")
def local_targets():
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", "1")
    monkeypatch.delenv("BOTPLOT_DNS_NAMESERVERS", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    from botplot.config import reload_settings

    reload_settings()
    yield
    monkeypatch.undo()
    reload_settings()


@pytest.fixture
def server(local_targets):
    s = Server()
    yield s
    s.stop()


def failure(call) -> str:
    with pytest.raises(FetchError) as failed:
        call()
    return str(failed.value)


def test_a_page_with_the_headers_the_crawler_sends(server):
    server.page("/doc", "Préface".encode("latin-1"), "Text/HTML; Charset=\"ISO-8859-1\"", **{"X-Extra": "1"})
    response = Fetcher("BotPlot-Crawler/1.0").request("GET", server.url + "/doc?lang=fr", accept="text/html")
    assert (response.status, response.url) == (200, server.url + "/doc?lang=fr")
    assert response.content_type == "text/html" and response.text() == "Préface"
    assert response.headers["x-extra"] == "1"
    sent = server.requests[-1]
    assert (sent["method"], sent["path"]) == ("GET", "/doc?lang=fr")
    port = server.url.rsplit(":", 1)[1]
    assert sent["headers"]["host"] == f"127.0.0.1:{port}"  # the host, with its port when not the default
    assert sent["headers"]["user-agent"] == "BotPlot-Crawler/1.0" and sent["headers"]["accept"] == "text/html"
    assert "gzip" in sent["headers"]["accept-encoding"]


def test_text_is_utf8_unless_the_charset_says_otherwise(server):
    server.page("/plain", "naïve ✓".encode(), "text/plain")
    server.page("/unknown", "naïve".encode(), "text/plain; charset=no-such-charset")
    server.page("/empty", "naïve".encode(), "text/plain; charset=")
    server.page("/params", "naïve".encode("latin-1"), "text/plain; format=flowed; charset=iso-8859-1")
    fetcher = Fetcher("test")
    assert fetcher.request("GET", server.url + "/plain").text() == "naïve ✓"
    assert fetcher.request("GET", server.url + "/unknown").text() == "naïve"
    assert fetcher.request("GET", server.url + "/empty").text() == "naïve"
    assert fetcher.request("GET", server.url + "/params").text() == "naïve"
    assert server.requests[-1]["headers"]["accept"] == "*/*"


def test_undecodable_bytes_become_replacement_characters(server):
    server.page("/utf8", b"caf\xe9 ok", "text/plain")
    server.page("/ascii", "café ok".encode(), "text/plain; charset=ascii")
    fetcher = Fetcher("test")
    assert fetcher.request("GET", server.url + "/utf8").text() == "caf\ufffd ok"
    assert fetcher.request("GET", server.url + "/ascii").text() == "caf\ufffd\ufffd ok"  # é is 2 bytes


def test_an_ipv6_literal_is_fetched_with_a_bracketed_host(local_targets):
    server = Server(ipv6=True)
    try:
        server.page("/v6", b"over IPv6")
        response = Fetcher("test").request("GET", server.url + "/v6")
        assert response.body == b"over IPv6"
        assert server.requests[-1]["headers"]["host"] == server.url.removeprefix("http://")
    finally:
        server.stop()


def test_a_gzipped_answer_is_decoded(server):
    server.page("/gz", gzip.compress(b"<p>compressed</p>"), "text/html", **{"Content-Encoding": "gzip"})
    assert Fetcher("test").request("GET", server.url + "/gz").body == b"<p>compressed</p>"


def test_redirects_are_followed_up_to_five_then_refused(server):
    for n in range(6):
        server.redirect(f"/hop{n}", 301, f"/hop{n + 1}" if n % 2 else f"{server.url}/hop{n + 1}")
    server.page("/hop6", b"arrived")
    fetcher = Fetcher("test")
    response = fetcher.request("GET", server.url + "/hop1")  # 5 redirects: hop1 ... hop6
    assert response.body == b"arrived" and response.url == server.url + "/hop6"
    assert [r["path"] for r in server.requests] == [f"/hop{n}" for n in range(1, 7)]
    assert failure(lambda: fetcher.request("GET", server.url + "/hop0")) == "more than 5 redirects"


def test_a_redirect_is_returned_as_is_when_not_followed(server):
    server.redirect("/moved", 302, "/elsewhere")
    response = Fetcher("test").request("POST", server.url + "/moved", body=b"{}", follow_redirects=False)
    assert response.status == 302 and response.headers["location"] == "/elsewhere"
    assert [r["path"] for r in server.requests] == ["/moved"]


@pytest.mark.parametrize("status, method, body", [(301, "GET", b""), (302, "GET", b""), (303, "GET", b""),
                                                  (307, "POST", b"payload"), (308, "POST", b"payload")])
def test_a_redirected_post_becomes_a_get_only_after_301_302_303(server, status, method, body):
    server.redirect("/form", status, "/done")
    server.page("/done", b"ok")
    Fetcher("test").request("POST", server.url + "/form", body=b"payload", headers={"Content-Type": "text/plain"})
    assert (server.requests[-1]["method"], server.requests[-1]["body"]) == (method, body)


def test_a_redirected_head_stays_a_head(server):
    server.redirect("/old", 301, "/new")
    server.page("/new", b"body")
    assert Fetcher("test").request("HEAD", server.url + "/old").status == 200
    assert [r["method"] for r in server.requests] == ["HEAD", "HEAD"]


@pytest.mark.parametrize("target, reason", [
    ("http://169.254.169.254/latest/meta-data/", "refused: '169.254.169.254' is not a public address"),
    ("http://10.0.0.1/", "refused: '10.0.0.1' is not a public address"),
    ("ftp://127.0.0.1/file", "only http and https URLs can be fetched, not 'ftp:'"),
])
def test_every_redirect_hop_is_checked(server, target, reason):
    server.redirect("/jump", 302, target)
    assert failure(lambda: Fetcher("test").request("GET", server.url + "/jump")) == reason
    assert [r["path"] for r in server.requests] == ["/jump"]


@pytest.mark.parametrize("url, reason", [
    ("file:///etc/passwd", "only http and https URLs can be fetched, not 'file:'"),
    ("http:///nohost", "the URL has no host"),
    ("http://user:pass@127.0.0.1/", "URLs with credentials are not allowed"),
    ("http://user@127.0.0.1/", "URLs with credentials are not allowed"),
    ("http://127.0.0.1:99999/", "the URL cannot be read (Port out of range 0-65535)"),
    ("http://10.1.2.3/", "refused: '10.1.2.3' is not a public address"),
])
def test_urls_that_are_not_fetched_say_why(local_targets, url, reason):
    assert failure(lambda: Fetcher("test").request("GET", url)) == reason


def test_the_size_cap_is_5_mb(server):
    cap = 5 * 1024 * 1024
    server.page("/exact", b"x" * cap, "application/pdf")
    server.page("/over", b"x" * (cap + 1), "application/pdf")
    fetcher = Fetcher("test")
    assert len(fetcher.request("GET", server.url + "/exact").body) == cap
    assert failure(lambda: fetcher.request("GET", server.url + "/over")) == "response larger than 5 MB"
    small = Fetcher("test", max_bytes=1024 * 1024)  # the webhook fetcher's own cap is smaller
    assert failure(lambda: small.request("GET", server.url + "/over")) == "response larger than 1 MB"


def test_a_slow_answer_times_out(server):
    def slow(handler):
        time.sleep(1.5)
        handler.answer(200, b"late")

    server.routes["/slow"] = slow
    assert failure(lambda: Fetcher("test", read_timeout=0.3).request("GET", server.url + "/slow")) == "timed out"


def test_a_trickling_answer_is_cut_at_the_total_time(server):
    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        try:
            for _ in range(30):
                handler.wfile.write(b"1\r\nx\r\n")
                handler.wfile.flush()
                time.sleep(0.1)
            handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetcher gave up, as it should

    server.routes["/trickle"] = trickle
    fetcher = Fetcher("test", read_timeout=5, total_timeout=1)
    assert failure(lambda: fetcher.request("GET", server.url + "/trickle")) == "took longer than 1 s"


def test_a_closed_port_is_a_connection_failure(local_targets):
    from tests.support.ports import free_port

    url = f"http://127.0.0.1:{free_port()}/"
    assert failure(lambda: Fetcher("test").request("GET", url)) == "connection failed (refused or unreachable)"


def test_a_connection_dropped_midway_is_a_connection_failure(server):
    def drop(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b"partial")
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(2)

    server.routes["/drop"] = drop
    assert failure(lambda: Fetcher("test").request("GET", server.url + "/drop")).startswith("connection failed (")


def test_https_is_fetched_over_tls(server):
    """An https URL is spoken TLS to: a plain HTTP server there fails the handshake."""
    port = server.url.rsplit(":", 1)[1]
    server.page("/", b"plain")
    assert failure(lambda: Fetcher("test").request("GET", f"https://127.0.0.1:{port}/")) == "TLS error: SSLError"
    assert server.requests == []  # nothing was asked in plain HTTP


def test_a_url_without_a_path_asks_for_the_root(server):
    server.page("/", b"home")
    assert Fetcher("test").request("GET", server.url).body == b"home"
    assert server.requests[-1]["path"] == "/"
