"""End to end on the real local stack: OpenAI SDK -> LiteLLM proxy -> emulator -> models.

One stack for the whole module (its start is the slow part); each test leaves faults cleared.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from bedrockgate.local_stack.stack import LocalStack
from e2e_config import (
    EMBEDDING_ALIAS,
    FALLBACK_ID,
    FAST_ID,
    LIMITED_ALIAS,
    LIMITED_RPM,
    PRIMARY_ID,
)
from local_stack_helpers import (
    MASTER_KEY,
    auth,
    clear_faults,
    phoenix_spans,
    proxy_url,
    received,
    set_faults,
    wait_for_records,
)
from openai import OpenAI


@pytest.fixture
def client(stack: LocalStack) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{proxy_url(stack)}/v1", api_key=MASTER_KEY, max_retries=0, timeout=60) as openai:
        yield openai
    clear_faults(stack)


def proxy_log(stack: LocalStack) -> Path:
    return stack.state_dir / "logs" / "proxy.log"


def test_a_chat_answer_comes_back_from_the_embedded_model_with_usage_and_cost(client: OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="claude-primary",
        messages=[{"role": "user", "content": "What is the capital of France? Answer in one word."}],
        max_tokens=16,
    )
    completion = raw.parse()
    answer = completion.choices[0].message.content or ""
    assert answer.strip()
    assert not answer.startswith("["), "a scripted reply: claude-primary should be served by SmolLM2"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0
    # Bedrock's price for Claude Sonnet 4.6 (US profile) from LiteLLM's bundled map, times the model's own counts.
    assert float(raw.headers["x-litellm-response-cost"]) > 0


def test_streaming_delivers_the_guarded_answer_with_usage_at_the_end(client: OpenAI) -> None:
    # The output guardrail masks (mask_response_content), so LiteLLM buffers the stream, scans the
    # whole answer and sends it as one piece: production streams behave the same way.
    stream = client.chat.completions.create(
        model="claude-fast",
        messages=[{"role": "user", "content": "stream these five words please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, usage = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    assert len(pieces) == 1, "with mask_response_content LiteLLM 1.106.2 sends the scanned answer whole"
    assert "".join(pieces) == f"[{FAST_ID}] You said: stream these five words please"
    assert usage is not None
    assert usage.completion_tokens > 0


def test_with_claude_primary_down_the_fallback_answers_and_the_record_says_so(
    stack: LocalStack, client: OpenAI
) -> None:
    set_faults(stack, PRIMARY_ID, down=True)
    raw = client.chat.completions.with_raw_response.create(
        model="claude-primary", messages=[{"role": "user", "content": "who answers?"}]
    )
    answer = raw.parse().choices[0].message.content or ""
    assert answer.startswith(f"[{FALLBACK_ID}]")
    records = wait_for_records(proxy_log(stack), {raw.headers["x-litellm-call-id"]}, status="success")
    served = [r for r in records if r["status"] == "success"]
    assert served, records
    assert served[-1]["provider_model"] == f"bedrock/{FALLBACK_ID}"
    assert served[-1]["FallbackCount"] == 1


def test_with_claude_primary_throttled_the_fallback_answers(stack: LocalStack, client: OpenAI) -> None:
    set_faults(stack, PRIMARY_ID, throttle_rate=1.0)
    before = received(stack, PRIMARY_ID)["failed"].get(PRIMARY_ID, 0)
    answer = (
        client.chat.completions.create(model="claude-primary", messages=[{"role": "user", "content": "still there?"}])
        .choices[0]
        .message.content
    )
    assert (answer or "").startswith(f"[{FALLBACK_ID}]")
    assert received(stack, PRIMARY_ID)["failed"].get(PRIMARY_ID, 0) > before, "the primary was never tried"


def test_every_request_produces_exactly_one_metrics_record(stack: LocalStack, client: OpenAI) -> None:
    call_ids = []
    for index in range(6):
        raw = client.chat.completions.with_raw_response.create(
            model="claude-fast", messages=[{"role": "user", "content": f"request number {index}"}]
        )
        call_ids.append(raw.headers["x-litellm-call-id"])
    records = wait_for_records(proxy_log(stack), set(call_ids))
    assert sorted(r["litellm_call_id"] for r in records) == sorted(call_ids)
    assert all(r["ModelGroup"] == "claude-fast" and r["RequestCount"] == 1 for r in records)


def test_an_email_address_never_reaches_the_model_unmasked(stack: LocalStack, client: OpenAI) -> None:
    address = "jane.doe+test@example.org"
    answer = (
        client.chat.completions.create(
            model="claude-fast",
            messages=[{"role": "user", "content": f"Please write to {address} about the invoice."}],
        )
        .choices[0]
        .message.content
    )
    seen = [r["text"] for r in received(stack, FAST_ID)["requests"] if "about the invoice" in r["text"]]
    assert seen, "the model never received the request"
    assert all(address not in text for text in seen)
    assert "{EMAIL}" in seen[-1]
    assert address not in (answer or "")


def test_two_proxies_sharing_redis_hold_the_rpm_limit_together(stack: LocalStack) -> None:
    second = stack.start_proxy()
    assert second.url is not None
    urls = [proxy_url(stack), second.url]
    _wait_for_a_fresh_minute(min_seconds_left=50)
    minute = int(time.time() // 60)
    statuses = []
    with httpx.Client(timeout=60, headers=auth()) as http:
        for index in range(3 * LIMITED_RPM):
            if int(time.time() // 60) != minute:
                break  # the limit counts per calendar minute: on a loaded machine the loop can reach the next one
            response = http.post(
                f"{urls[index % 2]}/v1/chat/completions",
                # No router retries: a request over the limit would otherwise wait for the next minute.
                json={
                    "model": LIMITED_ALIAS,
                    "messages": [{"role": "user", "content": f"limited {index}"}],
                    "num_retries": 0,
                },
            )
            statuses.append(response.status_code)
    ok = statuses.count(200)
    # The limit is per deployment per minute, counted in Redis. Measured here: exactly the limit
    # (sequential requests). Stated tolerance: +1 per proxy, for counts in flight between them.
    assert LIMITED_RPM <= ok <= LIMITED_RPM + 2, statuses
    assert set(statuses) <= {200, 429}, statuses


def _wait_for_a_fresh_minute(min_seconds_left: float) -> None:
    seconds_into_minute = time.time() % 60
    if 60 - seconds_into_minute < min_seconds_left:
        time.sleep(60 - seconds_into_minute + 0.5)


def test_the_lex_handler_answers_through_the_running_gateway(stack: LocalStack) -> None:
    from bedrockgate.lex_fulfillment import Fulfiller, Settings  # noqa: PLC0415 -- only this test uses it

    settings = Settings(endpoint=proxy_url(stack), model="claude-fast", api_key=MASTER_KEY)
    event = {
        "messageVersion": "1.0",
        "invocationSource": "FulfillmentCodeHook",
        "inputMode": "Text",
        "responseContentType": "text/plain; charset=utf-8",
        "sessionId": "e2e-session-1",
        "inputTranscript": "What can you do for me?",
        "bot": {"id": "BOT", "name": "bedrockgate", "aliasId": "TSTALIASID", "localeId": "en_US", "version": "DRAFT"},
        "interpretations": [],
        "sessionState": {
            "intent": {"name": "FallbackIntent", "slots": {}, "state": "ReadyForFulfillment"},
            "sessionAttributes": {},
        },
    }
    response = Fulfiller(settings)(event, _LambdaContext())
    assert response["sessionState"]["dialogAction"]["type"] == "Close"
    text = " ".join(m["content"] for m in response["messages"])
    assert text.startswith(f"[{FAST_ID}]"), text
    assert "What can you do for me?" in text


class _LambdaContext:
    """The one method of Lambda's context object the handler reads."""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _evals(stack: LocalStack, out: Path, *gates: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "bedrockgate.evals.cli", "run",
        "--endpoint", f"{proxy_url(stack)}/v1", "--model", "claude-primary",
        "--embedding-model", EMBEDDING_ALIAS, "--api-key-env", "E2E_GATEWAY_KEY",
        "--dataset", "sample", "--samples", "8", "--concurrency", "2", "--max-tokens", "24",
        "--out", str(out), "--progress", "none", "--no-phoenix", *gates,
    ]  # fmt: skip
    env = {"E2E_GATEWAY_KEY": MASTER_KEY, "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)


def test_gateway_evals_reports_on_the_stack_and_its_gate_works_both_ways(stack: LocalStack, tmp_path: Path) -> None:
    out = tmp_path / "evals"
    passing = _evals(stack, out, "--max-error-rate", "0", "--min-similarity", "0.05")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert (out / "report.html").is_file()
    assert (out / "summary.md").is_file()
    metrics = results["metrics"]
    assert metrics["total"] == metrics["answered"] == 8
    assert metrics["similarity_measured"] == 8, "similarity goes through the gateway's Titan alias (MiniLM)"
    assert metrics["cost_usd"]["total"] > 0
    assert results["gates"]["passed"] is True
    failing = _evals(stack, out, "--min-f1", "99.9")
    assert failing.returncode == 1, failing.stdout + failing.stderr


def test_traces_reach_phoenix_and_requests_succeed_without_it(stack: LocalStack, client: OpenAI) -> None:
    assert stack.info is not None
    assert stack.info.phoenix_url is not None
    # The config turns message logging off (prompts stay out of traces), so spans are found by time.
    since = datetime.now(UTC) - timedelta(seconds=1)
    client.chat.completions.create(model="claude-fast", messages=[{"role": "user", "content": "trace me"}])
    spans = phoenix_spans(stack, since, until=bool)
    assert spans, "no span carrying the request reached Phoenix"

    [phoenix_process] = [p for p in stack.processes if p.name == "phoenix"]
    phoenix_process.stop()
    try:
        started = time.monotonic()
        answer = (
            client.chat.completions.create(
                model="claude-fast", messages=[{"role": "user", "content": "phoenix is down"}]
            )
            .choices[0]
            .message.content
        )
        assert (answer or "").endswith("phoenix is down")
        assert time.monotonic() - started < 30
    finally:
        phoenix_process.start()
