"""Structured logs: one JSON line per turn with the session and outcome; no key; no user text unless debugging."""

from __future__ import annotations

import pytest
from bedrockgate.lex_fulfillment import JsonLog
from bedrockgate.lex_fulfillment.logs import REDACTED
from gateway_stub import GatewayStub, Reply, completion, error_body, guardrail_block
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lex_events import FakeContext, lex_event
from lex_helpers import LogLines, MakeFulfiller

KEY = "sk-CANARY-key-5f2d8e1a9b7c"
USER_TEXT = "my card number is CANARY-4111-1111"
REPLY = "CANARY-REPLY: here is the answer"

# Each echoes what it received where it can: the worst case for leaks.
SCENARIOS = [
    Reply(200, completion(REPLY)),
    Reply(500, error_body(f"upstream failed for prompt {USER_TEXT} with key {KEY}", 500)),
    Reply(400, error_body(f"context too long: {USER_TEXT}", 400)),
    Reply(401, error_body(f"invalid key {KEY}", 401)),
    Reply(400, guardrail_block(f"Blocked: {USER_TEXT}")),
    Reply(200, f"<html>{USER_TEXT} {KEY}</html>"),
    Reply(close=True),
]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reply=st.sampled_from(SCENARIOS), debug=st.booleans())
def test_the_key_never_and_the_user_text_only_when_debugging(
    reply: Reply, debug: bool, gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    gateway.reset(reply)
    logs.raw.clear()
    make_fulfiller(api_key=KEY, debug=debug, max_attempts=1)(lex_event(USER_TEXT), FakeContext())
    assert KEY not in logs.text
    assert (USER_TEXT in logs.text) is debug
    if not debug:
        assert "CANARY" not in logs.text


def test_one_line_per_turn_with_the_session_and_the_outcome(
    gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    make_fulfiller()(lex_event("hello", session_id="session-42"), FakeContext(request_id="req-7"))
    [record] = logs.records
    assert record["level"] == "INFO"
    assert record["event"] == "lex_turn"
    assert record["session_id"] == "session-42"
    assert record["request_id"] == "req-7"
    assert record["outcome"] == "answered"
    assert record["attempts"] == 1
    assert record["status"] == 200
    assert record["input_chars"] == 5
    assert record["messages"] == 1
    assert record["cold_start"] is True
    assert record["latency_ms"] >= record["gateway_ms"] > 0
    assert "user_text" not in record
    assert "reply" not in record


def test_debugging_adds_the_texts_and_the_gateway_s_error(
    gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    gateway.reset(Reply(400, error_body("context window exceeded", 400)))
    make_fulfiller(debug=True)(lex_event("hello"), FakeContext())
    record = logs.last
    assert record["user_text"] == "hello"
    assert record["reply"].startswith("Sorry, I couldn't process your request")
    assert "context window exceeded" in record["error_detail"]
    assert record["level"] == "ERROR"


def test_a_key_is_scrubbed_whatever_put_it_in_a_line() -> None:
    lines: list[str] = []
    log = JsonLog(lines.append)
    log.redact("sk-long-enough-key")
    log.redact("short")  # too short to scrub safely: ordinary words would vanish
    log.emit("INFO", "x", {"a": "prefix sk-long-enough-key suffix", "b": "short"})
    assert "sk-long-enough-key" not in lines[0]
    assert REDACTED in lines[0]
    assert '"b":"short"' in lines[0]


def test_a_failing_sink_or_odd_fields_never_raise() -> None:
    def broken(line: str) -> None:
        raise OSError("stdout closed")

    JsonLog(broken).emit("INFO", "x", {"a": 1})
    lines: list[str] = []
    JsonLog(lines.append).emit("INFO", "x", {"obj": object(), "text": "\ud800", "nan": float("nan")})
    assert lines
    assert lines[0].endswith("\n")


def test_the_default_sink_is_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    JsonLog().emit("INFO", "x", {"a": "é"})
    assert capsys.readouterr().out == '{"level":"INFO","event":"x","a":"\\u00e9"}\n'
