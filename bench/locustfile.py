"""Load for `bench.load`: visitors chatting (POST /chat) or streaming (POST /chat/stream) in loops.

Configured by environment: BOTPLOT_LOAD_KEY (a public key), BOTPLOT_LOAD_MODE (chat | stream).
"""

import json
import os
import random

from locust import HttpUser, constant, task

QUESTIONS = ["What are your opening hours?", "How long does shipping take?", "What is your return policy?",
             "Do you ship to Canada?", "Can I pay with PayPal?"]


class Visitor(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.headers = {"Authorization": f"Bearer {os.environ['BOTPLOT_LOAD_KEY']}"}
        self.conversation = None

    @task
    def ask(self):
        body = {"message": random.choice(QUESTIONS), "visitorId": f"load-{id(self) % 1000}"}
        if self.conversation and random.random() < 0.5:
            body["conversationId"] = self.conversation
        if os.environ.get("BOTPLOT_LOAD_MODE") == "stream":
            with self.client.post("/api/v1/chat/stream", json=body, headers=self.headers, stream=True,
                                  name="/api/v1/chat/stream", catch_response=True) as response:
                events = [json.loads(line[6:]) for line in response.iter_lines(decode_unicode=True)
                          if line and line.startswith("data: ")]
                if response.status_code != 200 or not events or events[-1].get("type") != "done":
                    response.failure(f"status {response.status_code}, last event {events[-1:]}")
                    return
                self.conversation = events[-1]["conversationId"]
        else:
            with self.client.post("/api/v1/chat", json=body, headers=self.headers, name="/api/v1/chat",
                                  catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(f"status {response.status_code}")
                    return
                self.conversation = response.json()["conversationId"]
