"""The local stack with the SSRF guard ON (as in AWS), run in a private network namespace
(``unshare -rn``) where 11.22.33.44 — a public address — is given to the loopback interface.

The local stack normally lets developers crawl 127.0.0.1 (``BOTPLOT_ALLOW_PRIVATE_TARGETS=1``); here
it runs without that, so everything reaches the guard as it would in AWS: a site served on the
public address is crawled and answered from, while URLs naming private targets — directly, through
DNS or through a redirect — are refused, and the private server never sees a request.
Prints the outcomes as JSON."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.ssrf_scenarios import PUBLIC, network, server  # noqa: E402


def main() -> None:
    network()
    from tests.support.dns_server import TestDNS
    from tests.support.ports import free_port
    from tests.support.stack import LocalStack

    port = free_port()
    private_hits, public_hits = [], []
    server("127.0.0.1", port, {}, private_hits)
    page = ("<html><head><title>Opening hours</title></head><body><main><h1>Opening hours</h1><p>The Acme "
            "store is open from 9am to 6pm on weekdays and closed on Sundays.</p></main></body></html>")
    server(PUBLIC, port, {"/": (200, page), "/to-private": (302, f"http://127.0.0.1:{port}/secret")}, public_hits)
    dns = TestDNS().start()
    dns.set("shop.test", "A", PUBLIC)
    dns.set("inside.test", "A", "127.0.0.1")
    state = Path(os.environ["GUARDED_STATE_DIR"])
    stack = LocalStack(state / ".botplot", {"BOTPLOT_ALLOW_PRIVATE_TARGETS": "0",
                                            "BOTPLOT_DNS_NAMESERVERS": dns.address}).start()
    results: dict = {}
    try:
        project = stack.new_project("enterprise", "Guarded")
        with stack.client(project["secretKey"]) as c:
            sources = {}
            for name, url in {"public": f"http://shop.test:{port}/", "loopback": f"http://127.0.0.1:{port}/",
                              "private name": f"http://inside.test:{port}/",
                              "redirect": f"http://shop.test:{port}/to-private"}.items():
                r = c.post("/api/v1/knowledge/url", json={"url": url})
                sources[name] = r.json()["sourceId"] if r.status_code == 200 else f"refused {r.status_code}"
            deadline = time.monotonic() + 90
            for name, source_id in sources.items():
                while not source_id.startswith("refused"):
                    source = c.get(f"/api/v1/knowledge/{source_id}").json()["source"]
                    if source["status"] != "processing" or time.monotonic() > deadline:
                        results[f"source {name}"] = {"status": source["status"], "error": source.get("error")}
                        break
                    time.sleep(0.5)
                else:
                    results[f"source {name}"] = {"status": source_id}
            hooks = {"public": f"https://shop.test:{port}/hook", "loopback": f"https://127.0.0.1:{port}/hook",
                     "private name": f"https://inside.test:{port}/hook", "http": f"http://shop.test:{port}/hook"}
            for name, url in hooks.items():
                r = c.post(f"/api/v1/projects/{project['projectId']}/webhooks",
                           json={"url": url, "events": ["lead.captured"]})
                results[f"webhook {name}"] = r.status_code if r.status_code == 200 else r.json()["code"]
        with stack.client(project["publicKey"]) as c:
            answer = c.post("/api/v1/chat", json={"message": "When is the store open on weekdays?"}).json()
        results["answer"] = {"response": answer.get("response"), "sources": answer.get("sources")}
    finally:
        stack.stop()
        dns.stop()
    print(json.dumps({"results": results, "private_hits": private_hits, "public_hits": len(public_hits)}))


if __name__ == "__main__":
    main()
