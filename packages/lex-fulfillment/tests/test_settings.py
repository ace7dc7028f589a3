"""Settings from the environment: defaults, every problem at once, the URL forms, no key in sight."""

from __future__ import annotations

import pytest
from bedrockgate.lex_fulfillment import ConfigurationError, Settings
from bedrockgate.lex_fulfillment.settings import DEFAULT_FAILURE_MESSAGE, ENVIRONMENT_VARIABLES, GatewayURL

BASE = {"LITELLM_ENDPOINT": "https://gateway.example.com", "LITELLM_MODEL": "claude-fast"}


def test_defaults_fit_inside_lex_s_thirty_seconds() -> None:
    settings = Settings.from_environ(BASE)
    assert settings.model == "claude-fast"
    assert str(settings.url) == "https://gateway.example.com:443/v1/chat/completions"
    assert settings.total_timeout == 25.0
    assert settings.effective_attempt_timeout == 20.0
    assert settings.max_attempts == 3
    assert settings.max_tokens == 1024
    assert settings.max_messages == 4
    assert settings.failure_message == DEFAULT_FAILURE_MESSAGE
    assert settings.failure_message.startswith("Sorry, I couldn't process your request")
    assert settings.api_key is None
    assert settings.api_key_secret_arn is None
    assert not settings.debug
    assert settings.warnings == ()


def test_every_variable_is_read() -> None:
    environ = BASE | {
        "LITELLM_API_KEY": "sk-local-123456789",
        "LITELLM_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gw-key-AbCdEf",
        "LITELLM_API_KEY_SECRET_FIELD": "key",
        "LEX_SYSTEM_PROMPT": "Be terse.",
        "LEX_TOTAL_TIMEOUT_SECONDS": "12.5",
        "LEX_ATTEMPT_TIMEOUT_SECONDS": "5",
        "LEX_MIN_ATTEMPT_SECONDS": "0.5",
        "LEX_DEADLINE_MARGIN_SECONDS": "2",
        "LEX_MAX_ATTEMPTS": "2",
        "LEX_BACKOFF_BASE_SECONDS": "0.1",
        "LEX_BACKOFF_CAP_SECONDS": "1",
        "LEX_MAX_TOKENS": "0",
        "LEX_MEMORY_TURNS": "3",
        "LEX_MEMORY_MAX_CHARS": "2000",
        "LEX_MAX_MESSAGES": "2",
        "LEX_FAILURE_MESSAGE": "Désolé, réessayez.",
        "LEX_BLOCKED_MESSAGE": "Je ne peux pas répondre.",
        "LEX_EMPTY_INPUT_MESSAGE": "Pardon ?",
        "LEX_DEBUG": "true",
    }
    assert set(environ) == set(ENVIRONMENT_VARIABLES)
    settings = Settings.from_environ(environ)
    assert settings.api_key_secret_arn is not None
    assert (settings.secret_region, settings.api_key_secret_field) == ("eu-west-1", "key")
    assert settings.system_prompt == "Be terse."
    assert (settings.total_timeout, settings.attempt_timeout, settings.min_attempt_time) == (12.5, 5.0, 0.5)
    assert (settings.deadline_margin, settings.max_attempts) == (2.0, 2)
    assert (settings.backoff_base, settings.backoff_cap) == (0.1, 1.0)
    assert settings.max_tokens is None
    assert (settings.memory_turns, settings.memory_max_chars, settings.max_messages) == (3, 2000, 2)
    assert settings.failure_message == "Désolé, réessayez."
    assert settings.blocked_message == "Je ne peux pas répondre."
    assert settings.empty_input_message == "Pardon ?"
    assert settings.debug
    assert settings.warnings == ("both LITELLM_API_KEY_SECRET_ARN and LITELLM_API_KEY are set: the secret is used",)


def test_all_problems_are_reported_at_once_with_the_variable_and_the_fix() -> None:
    environ = {
        "LITELLM_ENDPOINT": "ftp://gateway",
        "LEX_TOTAL_TIMEOUT_SECONDS": "40",
        "LEX_MAX_ATTEMPTS": "three",
        "LEX_DEBUG": "maybe",
        "LEX_FAILURE_MESSAGE": "   ",
        "LITELLM_API_KEY_SECRET_ARN": "my-secret",
    }
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ(environ)
    problems = caught.value.problems
    assert len(problems) == 7, problems
    assert any(p.startswith("LEX_MAX_ATTEMPTS='three' is not a whole number") for p in problems)
    assert any(p.startswith("LEX_DEBUG='maybe' is not a yes/no value") for p in problems)
    assert any("LITELLM_ENDPOINT='ftp://gateway' must be an http:// or https:// URL" in p for p in problems)
    assert any(p.startswith("LITELLM_MODEL is not set") for p in problems)
    assert any(p.startswith("LEX_TOTAL_TIMEOUT_SECONDS=40.0 is out of range") and "at most 28" in p for p in problems)
    assert any(p.startswith("LEX_FAILURE_MESSAGE is empty") for p in problems)
    assert any("is not a Secrets Manager ARN" in p for p in problems)
    assert str(caught.value).startswith("7 problems in the Lex fulfillment settings:")


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("https://gw.example.com", "https://gw.example.com:443/v1/chat/completions"),
        ("https://gw.example.com/", "https://gw.example.com:443/v1/chat/completions"),
        ("https://gw.example.com/v1", "https://gw.example.com:443/v1/chat/completions"),
        ("https://gw.example.com/v1/chat/completions", "https://gw.example.com:443/v1/chat/completions"),
        ("http://localhost:4000", "http://localhost:4000/v1/chat/completions"),
        ("https://gw.example.com/llm/", "https://gw.example.com:443/llm/v1/chat/completions"),
        ("http://[::1]:4000", "http://[::1]:4000/v1/chat/completions"),
    ],
)
def test_endpoint_forms(endpoint: str, url: str) -> None:
    assert str(GatewayURL.parse(endpoint)) == url


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("gateway.example.com", "http:// or https://"),
        ("https://user:pw@gw.example.com", "must not carry credentials"),
        ("https://gw.example.com/?key=1", "query string"),
        ("https://", "has no host name"),
        ("https://gw.example.com:99999", "port"),
    ],
)
def test_bad_endpoints_say_what_to_write(endpoint: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GatewayURL.parse(endpoint)


def test_plain_http_to_another_host_is_a_warning() -> None:
    settings = Settings.from_environ(BASE | {"LITELLM_ENDPOINT": "http://gateway.internal:4000"})
    assert settings.warnings == (
        "LITELLM_ENDPOINT uses plain http to gateway.internal: the gateway key travels unencrypted; use https",
    )


def test_the_key_never_shows_in_repr_or_problems() -> None:
    key = "sk-very-secret-key-000"
    settings = Settings.from_environ(BASE | {"LITELLM_API_KEY": key})
    assert settings.api_key == key
    assert key not in repr(settings)
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ({"LITELLM_API_KEY": key, "LEX_MAX_TOKENS": "x"})
    assert key not in str(caught.value)


def test_budgets_are_consistent() -> None:
    settings = Settings(
        endpoint="http://127.0.0.1:1", model="m", total_timeout=2.0, attempt_timeout=5.0, min_attempt_time=3.0
    )
    assert settings.effective_attempt_timeout == 2.0, "an attempt never outlasts the whole budget"
    assert settings.effective_min_attempt_time == 1.0, "the minimum for an attempt is at most half of one"


def test_messages_longer_than_lex_allows_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="LEX_BLOCKED_MESSAGE is 1025 characters long"):
        Settings(endpoint="http://127.0.0.1:1", model="m", blocked_message="x" * 1025)
