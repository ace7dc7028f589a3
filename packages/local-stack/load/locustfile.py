"""Load on the local gateway: chat completions through the real proxy to the scripted backend.

Run by ``./dev nox -s load`` (which starts the stack and reads the figures); on its own:
``locust -f locustfile.py --headless -u 20 -r 10 -t 30s --host http://127.0.0.1:4000``, with the
key in ``LITELLM_MASTER_KEY``. LiteLLM's own overhead per request (its
``x-litellm-overhead-duration-ms`` header) is reported as the pseudo-request ``litellm overhead``.
"""

from __future__ import annotations

import os
import time

from locust import FastHttpUser, between, task

MODEL = os.environ.get("LOAD_MODEL", "claude-fast")
PROMPT = "Summarise the benefits of an LLM gateway in one sentence."


class GatewayUser(FastHttpUser):
    """An agent calling one alias, with a short think time."""

    wait_time = between(0.05, 0.2)

    def on_start(self) -> None:
        """Read the key once per user."""
        self.headers = {"Authorization": f"Bearer {os.environ['LITELLM_MASTER_KEY']}"}

    @task
    def chat(self) -> None:
        """One chat completion; LiteLLM's overhead header becomes its own statistic."""
        body = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 64}
        with self.client.post(
            "/v1/chat/completions", json=body, headers=self.headers, name="chat", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:200] if response.text else ''}")
                return
            overhead = response.headers.get("x-litellm-overhead-duration-ms")
            if overhead is not None:
                self.environment.events.request.fire(
                    request_type="METRIC", name="litellm overhead", response_time=float(overhead),
                    response_length=0, exception=None, context={}, start_time=time.time(), url="",
                )  # fmt: skip
