"""SSRF scenarios run in a private network namespace (``unshare -rn``), where 11.22.33.44 — a public
address — can be given to the loopback interface: a "public" server there redirects to private
targets, a "private" server on 127.0.0.1 records every request that reaches it, and a DNS server
answers names with public, private and changing addresses. Prints the outcomes as JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

PUBLIC = "11.22.33.44"


def network() -> None:
    ip = shutil.which("ip") or "/usr/sbin/ip"
    subprocess.run([ip, "link", "set", "lo", "up"], check=True)
    subprocess.run([ip, "addr", "add", f"{PUBLIC}/32", "dev", "lo"], check=True)


def server(address: str, port: int, routes: dict[str, tuple[int, str]], hits: list) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            hits.append((address, self.path))
            status, value = routes.get(self.path, (200, "<html><body><main><p>private data</p></main></body></html>"))
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", value)
                self.end_headers()
                return
            data = value.encode()
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer((address, port), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd


def main() -> None:
    network()
    from tests.support.dns_server import TestDNS
    from tests.support.ports import free_port

    port = free_port()
    private_hits, public_hits = [], []
    server("127.0.0.1", port, {}, private_hits)
    page = "<html><head><title>Public</title></head><body><main><h1>Public page</h1><p>Hello from a public " \
           "site with enough text to index.</p><a href='/next'>next</a></main></body></html>"
    redirects = {
        "/to-loopback": f"http://127.0.0.1:{port}/secret", "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-decimal": f"http://2130706433:{port}/secret", "/to-octal": f"http://0177.0.0.1:{port}/secret",
        "/to-ipv6": f"http://[::1]:{port}/secret", "/to-mapped": f"http://[::ffff:127.0.0.1]:{port}/secret",
        "/to-private-name": f"http://private.test:{port}/secret", "/to-10": f"http://10.0.0.1:{port}/secret",
    }
    server(PUBLIC, port, {**{k: (302, v) for k, v in redirects.items()}, "/": (200, page), "/next": (200, page)},
           public_hits)
    dns = TestDNS().start()
    dns.set("public.test", "A", PUBLIC)
    dns.set("private.test", "A", "127.0.0.1")
    dns.set("v6local.test", "AAAA", "::1")
    dns.set("rebind.test", "A", PUBLIC, "127.0.0.1")  # answers alternate between public and private
    os.environ["BOTPLOT_DNS_NAMESERVERS"] = dns.address
    os.environ.pop("BOTPLOT_ALLOW_PRIVATE_TARGETS", None)

    from botplot.knowledge.crawler import Crawler
    from botplot.net.fetch import Fetcher, FetchError

    fetcher = Fetcher("BotPlot-Crawler/1.0", connect_timeout=2, read_timeout=2, total_timeout=4)
    results: dict[str, str] = {}

    def attempt(name, url, method="GET"):
        try:
            response = fetcher.request(method, url, body=b"{}" if method == "POST" else None)
            results[name] = f"fetched {response.status}"
        except FetchError as error:
            results[name] = f"refused: {error}" if "refused:" in str(error) else f"failed: {error}"

    direct = {"loopback": f"http://127.0.0.1:{port}/", "localhost-name": f"http://private.test:{port}/",
              "decimal": f"http://2130706433:{port}/", "octal": f"http://0177.0.0.1:{port}/",
              "hex": f"http://0x7f.1:{port}/", "ipv6-loopback": f"http://[::1]:{port}/",
              "ipv4-mapped": f"http://[::ffff:127.0.0.1]:{port}/", "ipv6-name": f"http://v6local.test:{port}/",
              "metadata": "http://169.254.169.254/latest/meta-data/", "private-10": "http://10.0.0.1/",
              "unspecified": f"http://0.0.0.0:{port}/"}
    for name, url in direct.items():
        attempt(f"direct {name}", url)
        attempt(f"webhook {name}", url, "POST")
    for path in redirects:
        attempt(f"redirect {path}", f"http://public.test:{port}{path}")
    attempt("public page", f"http://public.test:{port}/")
    # DNS rebinding: every resolution alternates; each fetch connects to the address it checked
    crawl = Crawler(fetcher=fetcher, page_limit=10).crawl(f"http://rebind.test:{port}/")
    results["rebind crawl"] = f"pages {len(crawl.pages)}, failed {sorted(crawl.failed.values())}"
    print(json.dumps({"results": results, "private_hits": private_hits, "public_hits": len(public_hits),
                      "dns_queries": len(dns.queries)}))


if __name__ == "__main__":
    main()
