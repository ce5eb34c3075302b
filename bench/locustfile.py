"""Load for `bench.load`: visitors chatting (ChatVisitor, POST /chat) or streaming (StreamVisitor,
POST /chat/stream read to its done event), in loops with no think time.

BOTPLOT_LOAD_KEY is the public key they use; the class to run is named on locust's command line.
"""

import json
import os
import random

from locust import FastHttpUser, HttpUser, constant, task

QUESTIONS = ["What are your opening hours?", "How long does shipping take?", "What is your return policy?",
             "Do you ship to Canada?", "Can I pay with PayPal?"]


def _body(user) -> dict:
    body = {"message": random.choice(QUESTIONS), "visitorId": f"load-{id(user) % 1000}"}
    if user.conversation and random.random() < 0.5:
        body["conversationId"] = user.conversation
    return body


class ChatVisitor(FastHttpUser):
    wait_time = constant(0)
    network_timeout = 120.0
    connection_timeout = 30.0

    def on_start(self):
        self.headers = {"Authorization": f"Bearer {os.environ['BOTPLOT_LOAD_KEY']}"}
        self.conversation = None

    @task
    def chat(self):
        with self.client.post("/api/v1/chat", json=_body(self), headers=self.headers, name="/api/v1/chat",
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            self.conversation = response.json()["conversationId"]


class StreamVisitor(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.headers = {"Authorization": f"Bearer {os.environ['BOTPLOT_LOAD_KEY']}"}
        self.conversation = None

    @task
    def stream(self):
        with self.client.post("/api/v1/chat/stream", json=_body(self), headers=self.headers, stream=True,
                              name="/api/v1/chat/stream", catch_response=True, timeout=120) as response:
            events = [json.loads(line[6:]) for line in response.iter_lines(decode_unicode=True)
                      if line and line.startswith("data: ")]
            if response.status_code != 200 or not events or events[-1].get("type") != "done":
                response.failure(f"status {response.status_code}, last event {events[-1:]}")
                return
            self.conversation = events[-1]["conversationId"]
