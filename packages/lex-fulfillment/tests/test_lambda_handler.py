"""The Lambda entry point: settings from the environment, and a valid response whatever goes wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bedrockgate.lex_fulfillment import handler as handler_module
from bedrockgate.lex_fulfillment import lambda_handler
from bedrockgate.lex_fulfillment.settings import DEFAULT_FAILURE_MESSAGE, ENVIRONMENT_VARIABLES
from gateway_stub import GatewayStub, Reply, completion
from lex_events import FakeContext, lex_event
from lex_helpers import LogLines, MakeFulfiller
from lex_schema import handler_problems


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch, gateway: GatewayStub) -> pytest.MonkeyPatch:
    # Each test is a fresh Lambda container: the handler reads its settings on the first call.
    monkeypatch.setattr(handler_module, "_container", None)
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LITELLM_ENDPOINT", gateway.url)
    monkeypatch.setenv("LITELLM_MODEL", "claude-fast")
    monkeypatch.setenv("LITELLM_API_KEY", "sk-local-test-key-1")
    monkeypatch.setenv("LEX_TOTAL_TIMEOUT_SECONDS", "2")
    return monkeypatch


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_lambda_handler_reads_the_environment(
    environ: pytest.MonkeyPatch, gateway: GatewayStub, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.reset(Reply(200, completion("From the gateway.")))
    response = lambda_handler(lex_event("hi"), FakeContext())
    assert handler_problems(response) == []
    assert response["messages"][0]["content"] == "From the gateway."
    assert gateway.requests[0].headers["authorization"] == "Bearer sk-local-test-key-1"
    [record] = log_lines(capsys)
    assert record["outcome"] == "answered"
    assert "sk-local-test-key-1" not in json.dumps(record)


def test_settings_are_read_once_per_container(environ: pytest.MonkeyPatch, gateway: GatewayStub) -> None:
    lambda_handler(lex_event("hi"), FakeContext())
    environ.setenv("LITELLM_MODEL", "claude-primary")  # Lambda never does this to a running container
    lambda_handler(lex_event("hi"), FakeContext())
    assert [request.json["model"] for request in gateway.requests] == ["claude-fast", "claude-fast"]


def test_a_bad_configuration_still_answers_and_lists_every_problem(
    environ: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environ.delenv("LITELLM_ENDPOINT")
    environ.setenv("LEX_MAX_ATTEMPTS", "many")
    event = lex_event("hi", session_attributes={"customerId": "42", "bedrockgate_history": '{"v":1,"turns":[]}'})
    response = lambda_handler(event, FakeContext())
    assert handler_problems(response) == []
    assert response["messages"][0]["content"] == DEFAULT_FAILURE_MESSAGE
    assert response["sessionState"]["sessionAttributes"] == event["sessionState"]["sessionAttributes"]
    [record] = log_lines(capsys)
    assert record["level"] == "ERROR"
    assert record["outcome"] == "configuration_error"
    assert len(record["problems"]) == 2
    assert record["session_id"] == "test-session-0001"


def test_a_bad_configuration_uses_the_configured_failure_message(environ: pytest.MonkeyPatch) -> None:
    environ.delenv("LITELLM_MODEL")
    environ.setenv("LEX_FAILURE_MESSAGE", "Désolé, une erreur est survenue.")
    response = lambda_handler(lex_event("hi"), FakeContext())
    assert response["messages"][0]["content"] == "Désolé, une erreur est survenue."


def test_settings_warnings_are_logged_once_per_container(
    environ: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environ.setenv("LITELLM_API_KEY_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf")
    first = lambda_handler(lex_event("hi"), FakeContext())
    second = lambda_handler(lex_event("hi"), FakeContext())
    records = log_lines(capsys)
    assert [r["event"] for r in records] == ["settings_warning", "lex_turn", "lex_turn"]
    # No boto3 here, as in any environment without it: the turn fails gracefully.
    assert records[1]["outcome"] == "secret_unavailable"
    assert "ModuleNotFoundError" in records[1]["error"]
    assert handler_problems(first) == []
    assert handler_problems(second) == []


@pytest.mark.parametrize("event", [None, [], "hello", 3.5, {"sessionState": None}, {"inputTranscript": ["x"]}])
def test_any_event_shape_is_answered(environ: pytest.MonkeyPatch, event: object) -> None:
    assert handler_problems(lambda_handler(event, None)) == []


def test_a_bug_in_the_handler_is_still_a_valid_answer(
    monkeypatch: pytest.MonkeyPatch, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    def broken(*args: object, **kwargs: object) -> list[str]:
        raise KeyError("the user's secret words")

    monkeypatch.setattr(handler_module, "split_reply", broken)
    event = lex_event("hi", session_attributes={"customerId": "42"})
    response = make_fulfiller()(event, FakeContext())
    assert handler_problems(response) == []
    assert response["messages"][0]["content"] == DEFAULT_FAILURE_MESSAGE
    assert response["sessionState"]["sessionAttributes"] == {"customerId": "42"}
    record = logs.last
    assert record["outcome"] == "internal_error"
    assert record["error"].startswith("KeyError at test_lambda_handler.py:")
    assert "secret words" not in logs.text


def test_a_bug_even_in_reading_the_event_is_a_valid_answer(
    monkeypatch: pytest.MonkeyPatch, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("parser exploded")

    monkeypatch.setattr(handler_module, "parse_event", broken)
    response = make_fulfiller(debug=True)(lex_event("hi"), FakeContext())
    assert handler_problems(response) == []
    assert response["sessionState"]["sessionAttributes"] == {}
    assert logs.last["error"].endswith(": parser exploded"), "with the debug flag the message is kept"
