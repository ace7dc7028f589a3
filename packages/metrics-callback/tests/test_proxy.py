"""The real LiteLLM proxy, configured with the one line, on loopback: one record per request.

One proxy serves the whole module (starting it takes tens of seconds). Its config names the
callback exactly as a deployment does; the package is found on the proxy's ``sys.path`` because it
is installed in the environment. The proxy runs without a database, as it can here.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from emf_spec import emf_problems
from metric_filters import matches
from metrics_helpers import CANARIES, CANARY_API_KEY, CANARY_PROMPT

CONFIG = textwrap.dedent(
    """\
    model_list:
      - model_name: claude-fast
        litellm_params:
          model: openai/gpt-4o-mini
          api_key: os.environ/MOCK_PROVIDER_KEY
          mock_response: "Hello from the mock deployment."
      - model_name: claude-throttled
        litellm_params:
          model: openai/gpt-4o-mini
          api_key: os.environ/MOCK_PROVIDER_KEY
          mock_response: litellm.RateLimitError
      - model_name: claude-primary
        litellm_params:
          model: openai/gpt-4o-mini
          api_key: os.environ/MOCK_PROVIDER_KEY
          mock_response: litellm.InternalServerError
      - model_name: claude-backup
        litellm_params:
          model: openai/gpt-4o
          api_key: os.environ/MOCK_PROVIDER_KEY
          mock_response: "Hello from the backup."
    router_settings:
      num_retries: 0
      fallbacks: [{"claude-primary": ["claude-backup"]}]
    litellm_settings:
      callbacks: bedrockgate.metrics_callback.metrics_logger
    general_settings:
      master_key: os.environ/LITELLM_MASTER_KEY
    guardrails:
      - guardrail_name: word-filter
        litellm_params:
          guardrail: litellm_content_filter
          mode: pre_call
          default_on: true
          blocked_words:
            - keyword: forbiddenword
              action: BLOCK
    """
)


@dataclass
class Proxy:
    url: str
    master_key: str
    stdout: Path

    def records(self) -> list[str]:
        text = self.stdout.read_text(encoding="utf-8", errors="replace")
        return [line for line in text.splitlines() if line.startswith('{"_aws"')]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    workdir = tmp_path_factory.mktemp("proxy")
    (workdir / "config.yaml").write_text(CONFIG, encoding="utf-8")
    port = _free_port()
    master_key = "sk-" + secrets.token_hex(24)
    env = {
        **os.environ,
        "LITELLM_MASTER_KEY": master_key,
        "MOCK_PROVIDER_KEY": CANARY_API_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "BEDROCKGATE_METRICS_SERVICE": "proxy-test",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)
    litellm_cli = Path(sys.executable).with_name("litellm")
    stdout = workdir / "stdout.log"
    stderr = workdir / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [str(litellm_cli), "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_live(url, process, stderr)
        yield Proxy(url, master_key, stdout)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_live(url: str, process: subprocess.Popen[bytes], stderr: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the proxy exited with {process.returncode}:\n{stderr.read_text()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health/liveliness", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"the proxy did not come up within 180 s:\n{stderr.read_text()[-4000:]}")


@dataclass
class Sent:
    name: str
    status: int
    call_id: str | None
    body: str


def _send(
    client: httpx.Client,
    proxy: Proxy,
    name: str,
    model: str,
    text: str,
    *,
    stream: bool = False,
    key: str | None = None,
) -> Sent:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text}]}
    if stream:
        body["stream"] = True
    headers = {"Authorization": f"Bearer {key or proxy.master_key}"}
    response = client.post(f"{proxy.url}/v1/chat/completions", json=body, headers=headers)
    return Sent(name, response.status_code, response.headers.get("x-litellm-call-id"), response.text)


def _wait_for_records(proxy: Proxy, count: int, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        records = proxy.records()
        if len(records) >= count or time.monotonic() > deadline:
            time.sleep(0.5)  # a surplus record (a double delivery) would show up by now
            return proxy.records()
        time.sleep(0.1)


def test_every_request_through_the_proxy_yields_one_record(proxy: Proxy) -> None:
    with httpx.Client(timeout=30) as client:
        sent = [
            # The first request after start is a failure: it must be counted too.
            _send(client, proxy, "throttled", "claude-throttled", f"hi {CANARY_PROMPT}"),
            *(
                _send(client, proxy, f"ok-{index}", "claude-fast", f"hello {index} {CANARY_PROMPT}")
                for index in range(5)
            ),
            *(
                _send(client, proxy, f"stream-{index}", "claude-fast", "stream please", stream=True)
                for index in range(2)
            ),
            _send(client, proxy, "guardrail", "claude-fast", f"say forbiddenword {CANARY_PROMPT}"),
            _send(client, proxy, "unknown-model", "no-such-model", "hello"),
            _send(client, proxy, "bad-key", "claude-fast", "hello", key=CANARY_API_KEY),
        ]
        statuses = {request.name: request.status for request in sent}
        assert statuses["throttled"] == 429
        assert all(statuses[f"ok-{index}"] == 200 for index in range(5))
        assert all(statuses[f"stream-{index}"] == 200 for index in range(2))
        assert statuses["guardrail"] == 400
        assert statuses["unknown-model"] >= 400
        assert statuses["bad-key"] == 401  # a wrong key without a key database (auth_answers), not 400

        lines = _wait_for_records(proxy, len(sent))
    assert len(lines) == len(sent), "\n".join(lines)
    records = [json.loads(line) for line in lines]
    for line in lines:
        assert emf_problems(line) == []
        assert matches("{ $.litellm_metric IS TRUE }", line)
        for canary in CANARIES:
            assert canary not in line
    assert all(record["Service"] == "proxy-test" for record in records)

    by_call_id = {record.get("litellm_call_id"): record for record in records}
    for request in sent:
        if request.call_id is not None:  # every response LiteLLM answers itself carries it
            record = by_call_id[request.call_id]
            assert record["status_code"] == request.status, request.name
    assert sorted(record["status_code"] for record in records) == sorted(request.status for request in sent)

    throttled = by_call_id[sent[0].call_id]
    assert (throttled["ModelGroup"], throttled["error"], throttled["RequestErrors"]) == (
        "claude-throttled",
        "RateLimitError",
        1,
    )
    streamed = [record for record in records if record["stream"]]
    assert len(streamed) == 2
    assert all(0 <= record["TimeToFirstTokenMs"] <= record["ResponseTimeMs"] for record in streamed)
    [guarded] = [record for record in records if record["GuardrailInterventions"] == 1]
    assert (guarded["ModelGroup"], guarded["status_code"], guarded["guardrail_status"]) == (
        "claude-fast",
        400,
        "guardrail_intervened",
    )
    served = [record for record in records if record["status_code"] == 200]
    assert len(served) == 7
    assert all(record["ResponseCostUSD"] > 0 and record["InputTokens"] > 0 for record in served)


def test_a_fallback_through_the_proxy_records_the_model_that_served(proxy: Proxy) -> None:
    before = len(proxy.records())
    with httpx.Client(timeout=30) as client:
        request = _send(client, proxy, "fallback", "claude-primary", "hello")
    assert request.status == 200
    assert "Hello from the backup." in request.body
    lines = _wait_for_records(proxy, before + 2)[before:]
    records = [json.loads(line) for line in lines]
    # The served request, and the failed attempt on the primary that LiteLLM also reports; both
    # carry the request's call id.
    assert sorted((record["ModelGroup"], record["status_code"]) for record in records) == [
        ("claude-backup", 200),
        ("claude-primary", 500),
    ]
    [served] = [record for record in records if record["status_code"] == 200]
    assert (served["provider_model"], served["FallbackCount"]) == ("openai/gpt-4o", 1)
    assert {record["litellm_call_id"] for record in records} == {request.call_id}
