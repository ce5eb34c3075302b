"""A small website the tests serve on 127.0.0.1 (or ::1) and change between crawls."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def page(title: str, body: str, links: list[str] = ()) -> str:
    nav = "".join(f'<a href="{href}">{href}</a> ' for href in links)
    return (f"<!doctype html><html><head><title>{title}</title></head><body>"
            f"<nav>{nav}</nav><div class='cookie-banner'>We use cookies to improve your experience.</div>"
            f"<main>{body}</main><footer>© Test Site. All rights reserved.</footer></body></html>")


class Site:
    """``pages`` maps a path to (content type, body); edit it between crawls to change the site."""

    def __init__(self, pages: dict[str, tuple[str, str | bytes]] | None = None, ipv6: bool = False):
        self.pages: dict[str, tuple[str, str | bytes]] = dict(pages or {})
        self.requests: list[tuple[str, str]] = []  # (path, user agent)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append((self.path, self.headers.get("User-Agent", "")))
                entry = site.pages.get(self.path)
                if entry is None:
                    self.send_response(404)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"not found")
                    return
                kind, body = entry
                if kind == "redirect":
                    self.send_response(301)
                    self.send_header("Location", body)
                    self.end_headers()
                    return
                data = body.encode() if isinstance(body, str) else body
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ipv6 else socket.AF_INET

        self.server = Server(("::1" if ipv6 else "127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        host = "[::1]" if ipv6 else "127.0.0.1"
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self) -> "Site":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths_fetched(self) -> list[str]:
        return [p for p, _ in self.requests]


def shop_site(pages: dict[str, tuple[str, str | bytes]] | None = None) -> Site:
    """The shop's help site (``store_site()``, or these pages with its sitemap), not yet started (use
    it in a ``with``), its sitemap naming the warranty page at the address it is served on."""
    site = Site(pages or store_site())
    kind, body = site.pages["/sitemap.xml"]
    site.pages["/sitemap.xml"] = (kind, body.format(base=site.url))
    return site


def store_site() -> dict[str, tuple[str, str]]:
    """A shop's help site: linked pages, a sitemap-only page, a page robots.txt disallows."""
    html = "text/html; charset=utf-8"
    links = ["/", "/help/returns", "/help/shipping", "/help/internal"]
    return {
        "/": (html, page("Acme Help Center", "<h1>Acme Help Center</h1><p>Welcome to the Acme help center. "
                         "Find answers about returns, shipping and warranties.</p>", links)),
        "/help/returns": (html, page("Returns and refunds", "<h1>Returns and refunds</h1>"
                                     "<h2>Return policy</h2><p>You can return any item within 30 days of purchase "
                                     "for a full refund. Items must be unused and in their original packaging.</p>"
                                     "<h2>Refund timing</h2><p>Refunds are issued to the original payment method "
                                     "within 5 business days after we receive the item.</p>", links)),
        "/help/shipping": (html, page("Shipping", "<h1>Shipping</h1><p>Standard shipping takes 3 to 5 business "
                                      "days. Express shipping arrives the next business day for orders placed "
                                      "before 2pm.</p><p>Shipping is free on orders over $50.</p>", links)),
        "/help/internal": (html, page("Internal notes", "<h1>Internal notes</h1><p>The staff discount code is "
                                      "STAFF-ONLY-4242.</p>", links)),
        "/help/warranty": (html, page("Warranty", "<h1>Warranty</h1><p>Every Acme appliance comes with a "
                                      "two-year limited warranty covering manufacturing defects.</p>")),
        "/robots.txt": ("text/plain", "User-agent: *\nDisallow: /help/internal\n"),
        "/sitemap.xml": ("application/xml", '<?xml version="1.0"?><urlset '
                         'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{base}/help/warranty</loc>'
                         "</url></urlset>"),
    }
