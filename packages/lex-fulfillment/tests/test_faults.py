"""The fault matrix: every way the gateway can fail, injected by a real server on 127.0.0.1.

Each fault must end in a valid Lex response with the friendly failure message (or, for a
guardrail block, the guardrail's own message), the session's attributes intact, the right
outcome in the log, the expected number of attempts, and within the invocation's budget.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bedrockgate.lex_fulfillment import transport
from bedrockgate.lex_fulfillment.memory import MEMORY_ATTRIBUTE
from bedrockgate.lex_fulfillment.settings import DEFAULT_BLOCKED_MESSAGE, DEFAULT_FAILURE_MESSAGE
from gateway_stub import GatewayStub, Reply, completion, error_body, guardrail_block, legacy_guardrail_block
from lex_events import FakeContext, lex_event
from lex_helpers import FAST, LogLines, MakeFulfiller
from lex_schema import handler_problems

MEMORY = json.dumps({"v": 1, "turns": [["earlier question", "earlier answer"]]}, separators=(",", ":"))
ATTRIBUTES = {"customerId": "42", MEMORY_ATTRIBUTE: MEMORY}
BUDGET = float(FAST["total_timeout"])
SLACK = 0.8  # scheduling on a busy two-core machine; the budget itself is 1.5 s
OK = Reply(200, completion("Recovered answer."))


def run(handler: Any, context: object | None = None) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = handler(lex_event("Tell me about Bedrock.", session_attributes=ATTRIBUTES), context or FakeContext())
    return response, time.monotonic() - started


def assert_failed_gracefully(response: dict[str, Any], message: str = DEFAULT_FAILURE_MESSAGE) -> None:
    assert handler_problems(response) == []
    assert [m["content"] for m in response["messages"]] == [message]
    assert response["sessionState"]["sessionAttributes"] == ATTRIBUTES, "the session and its memory are kept"


# (scripted replies, then the default reply), outcome, attempts
FAILURES: dict[str, tuple[list[Reply], Reply, str, int]] = {
    "timeout (no answer at all)": ([], Reply(hang=True), "gateway_timeout", 3),
    "connection closed without an answer": ([], Reply(close=True), "gateway_unreachable", 3),
    "not HTTP at all": ([], Reply(raw=b"SSH-2.0-OpenSSH_9.6\r\n"), "gateway_unreachable", 3),
    "429 on every attempt": ([], Reply(429, error_body("Rate limit exceeded", 429)), "gateway_rate_limited", 3),
    "500": ([], Reply(500, error_body("Internal Server Error", 500)), "gateway_server_error", 3),
    "502 from the load balancer (HTML)": ([], Reply(502, "<html>Bad Gateway</html>"), "gateway_server_error", 3),
    "503": ([], Reply(503, error_body("No deployments available", 503)), "gateway_server_error", 3),
    "504": ([], Reply(504, ""), "gateway_server_error", 3),
    "400 that is not a guardrail": ([], Reply(400, error_body("context window exceeded", 400)), "gateway_rejected", 1),
    "404 unknown model alias": ([], Reply(404, error_body("model not found", 404)), "gateway_rejected", 1),
    "401 bad key": ([], Reply(401, error_body("Authentication Error", 401)), "gateway_auth_failed", 1),
    "403 key without access": (
        [],
        Reply(403, error_body("key not allowed to access model", 403)),
        "gateway_auth_failed",
        1,
    ),
    "200 with a body that is not JSON": ([], Reply(200, "<html>ok</html>"), "gateway_bad_response", 1),
    "200 with JSON but no choices": ([], Reply(200, {"object": "chat.completion"}), "gateway_bad_response", 1),
    "200 with empty choices": ([], Reply(200, {"choices": []}), "gateway_bad_response", 1),
    "200 with a null content": (
        [],
        Reply(200, {"choices": [{"message": {"role": "assistant", "content": None}, "finish_reason": "tool_calls"}]}),
        "gateway_bad_response",
        1,
    ),
    "200 with only whitespace": ([], Reply(200, completion(" \n ")), "gateway_bad_response", 1),
    "200 with a body over 1 MiB": ([], Reply(200, b"x" * ((1 << 20) + 1)), "gateway_bad_response", 1),
    "200 with a JSON array": ([], Reply(200, [1, 2, 3]), "gateway_bad_response", 1),
}


@pytest.mark.parametrize("case", FAILURES.values(), ids=FAILURES.keys())
def test_each_fault_ends_in_the_failure_message(
    case: tuple[list[Reply], Reply, str, int], gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    replies, default, outcome, attempts = case
    gateway.reset(default)
    gateway.push(*replies)
    response, elapsed = run(make_fulfiller())
    assert_failed_gracefully(response)
    record = logs.last
    assert record["outcome"] == outcome
    assert record["attempts"] == attempts
    assert len(gateway.requests) == attempts
    assert record["level"] in ("WARNING", "ERROR")
    assert elapsed < BUDGET + SLACK


def test_refused_connections_are_retried_then_fail(
    refused_url: str, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    response, elapsed = run(make_fulfiller(endpoint=refused_url))
    assert_failed_gracefully(response)
    assert logs.last["outcome"] == "gateway_unreachable"
    assert logs.last["attempts"] == 3
    assert "ConnectionRefusedError" in logs.last["error"]
    assert elapsed < BUDGET + SLACK


def test_a_dripping_body_is_cut_off_at_the_deadline(
    gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    # A byte every 20 ms never trips a socket timeout: only the deadline on each read stops it.
    gateway.reset(Reply(200, drip=0.02))
    response, elapsed = run(make_fulfiller(max_attempts=1, attempt_timeout=0.5))
    assert_failed_gracefully(response)
    assert logs.last["outcome"] == "gateway_timeout"
    assert 0.5 <= elapsed < 0.5 + SLACK


@pytest.mark.parametrize(
    ("first", "outcome_of_first"),
    [
        (Reply(429, error_body("Rate limit exceeded", 429)), "429"),
        (Reply(503, ""), "503"),
        (Reply(close=True), "reset"),
        (Reply(200, completion("late"), delay=0.6), "timeout"),
    ],
    ids=["429", "503", "reset", "timeout"],
)
def test_a_transient_fault_then_success_answers(
    first: Reply, outcome_of_first: str, gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    gateway.reset(OK)
    gateway.push(first)
    response, _ = run(make_fulfiller())
    assert handler_problems(response) == []
    assert response["messages"][0]["content"] == "Recovered answer."
    assert logs.last["outcome"] == "answered"
    assert logs.last["attempts"] == 2, outcome_of_first


def test_retry_after_is_honoured_when_it_fits(
    gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    gateway.reset(OK)
    gateway.push(Reply(429, error_body("slow down", 429), {"Retry-After": "1"}))
    response, elapsed = run(make_fulfiller(total_timeout=3.0))
    assert response["messages"][0]["content"] == "Recovered answer."
    assert elapsed >= 1.0
    assert logs.last["attempts"] == 2


def test_retry_after_ms_is_honoured(gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines) -> None:
    gateway.reset(OK)
    gateway.push(Reply(429, error_body("slow down", 429), {"retry-after-ms": "250"}))
    response, elapsed = run(make_fulfiller())
    assert response["messages"][0]["content"] == "Recovered answer."
    assert elapsed >= 0.25


def test_a_retry_after_beyond_the_deadline_gives_up_at_once(
    gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    gateway.reset(Reply(429, error_body("slow down", 429), {"Retry-After": "60"}))
    response, elapsed = run(make_fulfiller())
    assert_failed_gracefully(response)
    assert logs.last["attempts"] == 1
    assert logs.last["retry_after_s"] == 60.0
    assert elapsed < 0.5


GUARDRAILS = {
    "LiteLLM 1.106 block (400)": (
        Reply(400, guardrail_block("Sorry, I can't discuss that topic.")),
        "Sorry, I can't discuss that topic.",
    ),
    "legacy block (400, repr)": (
        Reply(400, legacy_guardrail_block("That request is not allowed.")),
        "That request is not allowed.",
    ),
    "block without a message": (Reply(400, guardrail_block("")), DEFAULT_BLOCKED_MESSAGE),
    "legacy block that cannot be parsed": (
        Reply(400, error_body("Violated guardrail policy: {unparseable", 400)),
        DEFAULT_BLOCKED_MESSAGE,
    ),
    "content filter (200)": (
        Reply(200, completion("The guardrail blocked this answer.", finish_reason="content_filter")),
        "The guardrail blocked this answer.",
    ),
    "guardrail intervened (200)": (
        Reply(200, completion("", finish_reason="guardrail_intervened")),
        DEFAULT_BLOCKED_MESSAGE,
    ),
}


@pytest.mark.parametrize(("reply", "message"), GUARDRAILS.values(), ids=GUARDRAILS.keys())
def test_a_guardrail_s_message_passes_through_and_is_not_remembered(
    reply: Reply, message: str, gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    gateway.reset(reply)
    response, _ = run(make_fulfiller())
    assert handler_problems(response) == []
    assert [m["content"] for m in response["messages"]] == [message]
    assert response["sessionState"]["sessionAttributes"] == ATTRIBUTES, "a blocked exchange is not remembered"
    assert logs.last["outcome"] == "guardrail_blocked"
    assert logs.last["level"] == "INFO"
    assert len(gateway.requests) == 1


def test_the_deadline_follows_the_lambda_context(
    gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    gateway.reset(Reply(hang=True))
    handler = make_fulfiller(total_timeout=20.0, attempt_timeout=20.0, deadline_margin=0.2)
    response, elapsed = run(handler, FakeContext(remaining_ms=700))
    assert_failed_gracefully(response)
    assert logs.last["budget_s"] == pytest.approx(0.5, abs=0.01)
    assert logs.last["outcome"] == "gateway_timeout"
    assert elapsed < 0.5 + SLACK


@pytest.mark.parametrize("remaining", [0, 100, -5])
def test_no_time_left_means_no_call(
    remaining: int, gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    response, _ = run(make_fulfiller(deadline_margin=0.2), FakeContext(remaining_ms=remaining))
    assert_failed_gracefully(response)
    assert logs.last["outcome"] == "no_time"
    assert gateway.requests == []


class BrokenContext:
    def get_remaining_time_in_millis(self) -> int:
        raise RuntimeError("context is broken")

    @property
    def aws_request_id(self) -> str:
        raise RuntimeError("no id either")


@pytest.mark.parametrize(
    "context", [BrokenContext(), FakeContext(remaining_ms="soon"), FakeContext(remaining_ms=float("nan")), object()]
)
def test_a_context_that_says_nothing_usable_leaves_the_configured_budget(
    context: object, gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    response, _ = run(make_fulfiller(), context)
    assert handler_problems(response) == []
    assert logs.last["outcome"] == "answered"
    assert logs.last["budget_s"] == pytest.approx(BUDGET, abs=0.01)


@pytest.fixture
def tls_gateway(tmp_path: Path) -> Iterator[tuple[GatewayStub, Path]]:
    """An HTTPS stub with a fresh self-signed certificate for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    key_options = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key)]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [openssl, "req", "-x509", "-days", "1", *key_options, "-out", str(cert), *subject],
        check=True,
        capture_output=True,
    )
    with GatewayStub(Reply(200, completion("Over TLS.")), tls=(str(cert), str(key))) as stub:
        yield stub, cert


def test_an_untrusted_certificate_is_not_retried(
    tls_gateway: tuple[GatewayStub, Path], make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    stub, _ = tls_gateway
    response, _ = run(make_fulfiller(endpoint=stub.url))
    assert_failed_gracefully(response)
    assert logs.last["outcome"] == "gateway_unreachable"
    assert logs.last["attempts"] == 1
    assert "SSLCertVerificationError" in logs.last["error"]


def test_https_with_a_trusted_certificate_answers(
    tls_gateway: tuple[GatewayStub, Path], make_fulfiller: MakeFulfiller, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub, cert = tls_gateway
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # what the default context trusts
    monkeypatch.setattr(transport, "_tls_context", None)  # built again, once, from it
    response, _ = run(make_fulfiller(endpoint=stub.url))
    assert response["messages"][0]["content"] == "Over TLS."
    assert stub.requests[0].headers["authorization"] == "Bearer sk-test-key-0123456789"
