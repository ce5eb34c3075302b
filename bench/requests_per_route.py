"""DynamoDB requests (and consumed capacity as moto reports it) for one call of each route.

The route is served by its function's real app (the same app as in Lambda) in this process, over
HTTP-shaped ASGI calls, against moto; requests are counted with botocore event hooks.
"""

from __future__ import annotations

from bench.support import DynamoCounter, start_moto


def run() -> dict:
    start_moto()
    from starlette.testclient import TestClient

    from botplot.services.projects import create_project
    from botplot_dev.router import TemplateRouter

    project, keys = create_project("bench", "enterprise")
    client = TestClient(TemplateRouter())
    counter = DynamoCounter().attach()
    chat = {"Authorization": f"Bearer {keys.public_key}"}
    client.post("/api/v1/chat", json={"message": "warm-up"}, headers=chat)  # warm the key cache
    counter.attach()

    figures = {}

    def measure(label, method, path, **kwargs):
        with counter.recording():
            response = client.request(method, path, **kwargs)
        assert response.status_code < 400, (label, response.status_code, response.text)
        figures[label] = (counter.total, dict(counter.calls), counter.read_units, counter.write_units)
        return response

    first = measure("POST /chat (new conversation)", "POST", "/api/v1/chat",
                    json={"message": "What is your return policy?", "visitorId": "v1"}, headers=chat)
    conversation_id = first.json()["conversationId"]
    measure("POST /chat (continued)", "POST", "/api/v1/chat",
            json={"message": "And shipping?", "conversationId": conversation_id}, headers=chat)
    measure("POST /chat/stream (new)", "POST", "/api/v1/chat/stream", json={"message": "Hello"}, headers=chat)

    print("DynamoDB requests per call (warm key cache; capacity as moto reports it)")
    for label, (total, calls, rcu, wcu) in figures.items():
        detail = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
        print(f"  {label:34s} {total:2d} requests  ({detail})  RCU {rcu:.1f} WCU {wcu:.1f}")
    return figures


if __name__ == "__main__":
    run()
