"""The local stack's demo project, created once and seeded so that its first questions answer.

A new stack's demo project knows a little about a fictional shop: a few Q&A pairs (indexed before
the stack says it is ready, so the README's first examples answer with citations at once) and a
small help site bundled in ``demo_site/``, served by the stack itself at ``/demo-site/`` and
crawled by the crawl worker like any customer's site. With saved state, a restart finds the same
project and keys (``demo.json`` in the state folder) and seeds nothing again.
"""

from __future__ import annotations

import json
from pathlib import Path

SITE_DIR = Path(__file__).with_name("demo_site")
SITE_PATH = "/demo-site/"

QA_PAIRS = [
    ("What is your return policy?",
     "You can return any item within 30 days of delivery for a full refund. Items must be unused and in "
     "their original packaging, and return shipping is free for members. Refunds reach the original payment "
     "method within 5 business days after the item arrives at our warehouse."),
    ("How do I get started?",
     "Create a free account with your email address, confirm it from the email we send you and add a "
     "delivery address. Your first order ships free. (This is BotPlot's demo project: to train a bot on "
     "your own site, add it with POST /api/v1/knowledge/url and your secret key; the API docs are at /docs.)"),
    ("How long does shipping take?",
     "Standard shipping takes 3 to 5 business days; express shipping arrives the next business day for "
     "orders placed before 2 pm. Shipping is free on orders over $50."),
    ("Do you offer a warranty?",
     "Tents and backpacks have a two-year limited warranty against manufacturing defects; camping stoves "
     "one year. Send a photo of the defect and your order number to make a claim."),
]


def load(state: Path) -> dict | None:
    """The saved demo project, if it still exists in the restored state (keys and all)."""
    path = state / "demo.json"
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    from botplot.services.auth import load_project

    return saved if load_project(saved.get("projectId", "")) is not None else None


def create(state: Path, api_url: str) -> dict:
    """A new demo project on the enterprise plan with its Q&A pairs indexed and its site queued."""
    from botplot.services import knowledge
    from botplot.services.projects import create_project

    project, keys = create_project("Acme Outdoor (demo)", "enterprise")
    for question, answer in QA_PAIRS:
        source = knowledge.add_qa(project.project_id, question, answer)
        if source.status != "ready":  # a bad OPENAI_API_KEY, say: start anyway and say why
            print(f"The demo project's Q&A pair {question!r} was not indexed: {source.error}", flush=True)
    site = knowledge.add_url(project.project_id, f"{api_url}{SITE_PATH}index.html", "manual")
    demo = {"projectId": project.project_id, "publicKey": keys.public_key, "secretKey": keys.secret_key,
            "siteSourceId": site.source_id}
    (state / "demo.json").write_text(json.dumps(demo, indent=2))
    return demo
