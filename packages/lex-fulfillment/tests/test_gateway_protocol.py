"""The chat completion protocol without a network: what each response means, and the back-off."""

from __future__ import annotations

import json

import pytest
from bedrockgate.lex_fulfillment import GatewayResponseError, GatewayStatusError
from bedrockgate.lex_fulfillment.deadline import Deadline, remaining_invocation_seconds
from bedrockgate.lex_fulfillment.gateway import backoff, build_messages, interpret
from bedrockgate.lex_fulfillment.transport import RawResponse
from gateway_stub import completion, guardrail_block, legacy_guardrail_block
from hypothesis import given, settings
from hypothesis import strategies as st
from lex_events import FakeContext


def raw(status: int, body: object, headers: dict[str, str] | None = None) -> RawResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return RawResponse(status, headers or {}, data)


@settings(max_examples=300, deadline=None)
@given(
    attempt=st.integers(1, 10),
    base=st.floats(0, 2),
    cap=st.floats(0, 30),
    retry_after=st.none() | st.floats(0, 100),
    jitter=st.floats(0, 1, exclude_max=True),
)
def test_backoff_is_full_jitter_under_the_cap_and_never_below_retry_after(
    attempt: int, base: float, cap: float, retry_after: float | None, jitter: float
) -> None:
    pause = backoff(attempt, base, cap, retry_after, lambda: jitter)
    assert pause >= (retry_after or 0.0)
    assert pause <= max(min(cap, base * 2 ** (attempt - 1)), retry_after or 0.0)


def test_backoff_uses_random_by_default() -> None:
    pauses = {backoff(3, 1.0, 10.0, None) for _ in range(20)}
    assert len(pauses) > 1
    assert all(0 <= pause <= 4.0 for pause in pauses)


def test_build_messages_puts_the_memory_between_the_prompt_and_the_question() -> None:
    assert build_messages("Be brief.", [("q1", "a1")], "q2") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
    ]


def test_a_completion_is_an_answer() -> None:
    answer = interpret(raw(200, completion("Hello.")))
    assert (answer.text, answer.blocked, answer.status) == ("Hello.", False, 200)


@pytest.mark.parametrize(
    ("response", "text"),
    [
        (raw(400, guardrail_block("No.")), "No."),
        (raw(400, legacy_guardrail_block("Not that.")), "Not that."),
        (raw(400, {"error": {"message": json.dumps({"error": "Violated guardrail policy"})}}), ""),
        (raw(200, completion("Filtered.", finish_reason="content_filter")), "Filtered."),
        (raw(200, completion("", finish_reason="guardrail_intervened")), ""),
    ],
)
def test_guardrail_blocks_are_answers(response: RawResponse, text: str) -> None:
    answer = interpret(response)
    assert answer.blocked
    assert answer.text == text


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({"retry-after": "inf"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], wait: float | None) -> None:
    with pytest.raises(GatewayStatusError) as caught:
        interpret(raw(429, {"error": {"message": "slow down"}}, headers))
    assert caught.value.retry_after == wait
    assert caught.value.retryable


@pytest.mark.parametrize(
    "body",
    [b"", b"null", b"[]", b'{"choices": "x"}', b'{"choices": [1]}', b'{"choices": [{"message": "x"}]}', b"\xff\xfe"],
)
def test_bodies_without_a_reply_are_bad_responses(body: bytes) -> None:
    with pytest.raises(GatewayResponseError):
        interpret(RawResponse(200, {}, body))


def test_a_4xx_that_is_not_a_guardrail_is_rejected_not_retried() -> None:
    with pytest.raises(GatewayStatusError) as caught:
        interpret(raw(422, {"error": {"message": "bad request"}}))
    assert caught.value.outcome == "gateway_rejected"
    assert not caught.value.retryable
    assert caught.value.detail is not None
    assert "bad request" in caught.value.detail


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_deadline_takes_the_sooner_of_the_budget_and_lambda_s_time_left() -> None:
    clock = Clock()
    deadline = Deadline.for_invocation(FakeContext(remaining_ms=10_000), 25.0, 1.0, clock=clock)
    assert deadline.remaining() == 9.0
    clock.now += 9.5
    assert deadline.remaining() == 0.0
    assert deadline.expired
    assert Deadline.for_invocation(FakeContext(remaining_ms=60_000), 25.0, 1.0, clock=clock).remaining() == 25.0
    assert Deadline.for_invocation(None, 25.0, 1.0, clock=clock).remaining() == 25.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (1500, 1.5),
        (0, 0.0),
        (-20, 0.0),
        (2.5, 0.0025),
        (True, None),
        ("1000", None),
        (float("inf"), None),
        (None, None),
    ],
)
def test_remaining_time_is_read_defensively(value: object, seconds: float | None) -> None:
    assert remaining_invocation_seconds(FakeContext(remaining_ms=value)) == seconds
