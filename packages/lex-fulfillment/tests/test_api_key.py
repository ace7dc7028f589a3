"""The gateway key: plain for local runs, from Secrets Manager in production, read once, re-read after a 401."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from bedrockgate.lex_fulfillment import KeyCache, SecretUnavailableError, Settings
from bedrockgate.lex_fulfillment.api_key import fetch_secret_string, key_from_secret
from gateway_stub import GatewayStub, Reply, completion, error_body
from lex_events import FakeContext, lex_event
from lex_helpers import LogLines, MakeFulfiller

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gateway-key-AbCdEf"


class FakeSecrets:
    """Stands in for Secrets Manager: returns the current value, counts the reads."""

    def __init__(self, *values: object) -> None:
        self.values = list(values)
        self.calls: list[tuple[str, str | None, float]] = []

    def __call__(self, arn: str, region: str | None, timeout: float) -> object:
        self.calls.append((arn, region, timeout))
        value = self.values[0] if len(self.values) == 1 else self.values.pop(0)
        if isinstance(value, Exception):
            raise value
        return value


def settings(**overrides: object) -> Settings:
    return Settings(**{"endpoint": "http://127.0.0.1:1", "model": "m", "api_key_secret_arn": ARN, **overrides})  # type: ignore[arg-type]


def test_the_secret_is_read_once_per_container() -> None:
    secrets = FakeSecrets("sk-from-secrets-manager")
    keys = KeyCache(secrets)
    assert keys.api_key(settings(), 5.0) == "sk-from-secrets-manager"
    assert keys.api_key(settings(), 5.0) == "sk-from-secrets-manager"
    assert secrets.calls == [(ARN, "eu-west-1", 5.0)]


def test_a_plain_key_is_used_without_a_secret() -> None:
    keys = KeyCache(FakeSecrets(RuntimeError("must not be called")))
    assert keys.api_key(settings(api_key_secret_arn=None, api_key="sk-local"), 5.0) == "sk-local"
    assert keys.api_key(settings(api_key_secret_arn=None), 5.0) is None


@pytest.mark.parametrize(
    ("secret", "field", "key"),
    [
        ("sk-plain\n", "api_key", "sk-plain"),
        ('{"api_key": "sk-json"}', "api_key", "sk-json"),
        ('{"LITELLM_MASTER_KEY": "sk-other", "x": 1}', "LITELLM_MASTER_KEY", "sk-other"),
    ],
)
def test_secret_shapes(secret: str, field: str, key: str) -> None:
    assert key_from_secret(secret, field, ARN) == key


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "has no SecretString"),
        ("   ", "has no SecretString"),
        ('{"api_key": ', "is not JSON"),
        ('{"key": "sk-secret-value"}', "without a non-empty string 'api_key'"),
    ],
)
def test_unusable_secrets_say_why_without_the_value(secret: object, message: str) -> None:
    with pytest.raises(SecretUnavailableError, match=message) as caught:
        key_from_secret(secret, "api_key", ARN)
    assert "sk-secret-value" not in str(caught.value)


def test_a_secrets_manager_failure_is_a_friendly_failure(
    gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    keys = KeyCache(FakeSecrets(PermissionError("AccessDeniedException: not authorized")))
    response = make_fulfiller(keys=keys, api_key=None, api_key_secret_arn=ARN)(lex_event(), FakeContext())
    assert response["messages"][0]["content"].startswith("Sorry, I couldn't process your request")
    assert logs.last["outcome"] == "secret_unavailable"
    assert "AccessDeniedException" in logs.last["error"]
    assert gateway.requests == []


def test_a_rotated_key_is_read_again_after_a_401(
    gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    secrets = FakeSecrets("sk-old-key-123456", "sk-new-key-654321")
    handler = make_fulfiller(keys=KeyCache(secrets), api_key=None, api_key_secret_arn=ARN)
    gateway.push(Reply(401, error_body("Authentication Error", 401)), Reply(200, completion("Fresh answer.")))
    response = handler(lex_event(), FakeContext())
    assert response["messages"][0]["content"] == "Fresh answer."
    assert [r.headers["authorization"] for r in gateway.requests] == [
        "Bearer sk-old-key-123456",
        "Bearer sk-new-key-654321",
    ]
    assert len(secrets.calls) == 2
    assert logs.last["attempts"] == 2
    assert "sk-old-key" not in logs.text
    assert "sk-new-key" not in logs.text


def test_a_401_with_an_unchanged_secret_fails_without_looping(
    gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    secrets = FakeSecrets("sk-same-key-123456")
    gateway.reset(Reply(401, error_body("Authentication Error", 401)))
    handler = make_fulfiller(keys=KeyCache(secrets), api_key=None, api_key_secret_arn=ARN)
    handler(lex_event(), FakeContext())
    assert logs.last["outcome"] == "gateway_auth_failed"
    assert len(gateway.requests) == 1
    assert len(secrets.calls) == 2


FAKE_BOTO3 = """
from botocore.config import Config

calls = []


class _Client:
    def __init__(self, service, region_name, config):
        calls.append(("client", service, region_name, config.kwargs))

    def get_secret_value(self, SecretId):
        calls.append(("get_secret_value", SecretId))
        return {"ARN": SecretId, "Name": "gateway-key", "SecretString": '{"api_key": "sk-from-boto3"}'}


def client(service, region_name=None, config=None):
    return _Client(service, region_name, config)
"""
FAKE_BOTOCORE_CONFIG = """
class Config:
    def __init__(self, **kwargs):
        self.kwargs = kwargs
"""


@pytest.fixture
def fake_boto3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A tiny boto3 on sys.path: AWS cannot exist here, and boto3 is not a dependency."""
    (tmp_path / "boto3").mkdir()
    (tmp_path / "boto3" / "__init__.py").write_text(textwrap.dedent(FAKE_BOTO3), encoding="utf-8")
    (tmp_path / "botocore").mkdir()
    (tmp_path / "botocore" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "botocore" / "config.py").write_text(textwrap.dedent(FAKE_BOTOCORE_CONFIG), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [name for name in sys.modules if name.split(".")[0] in ("boto3", "botocore")]:
        del sys.modules[name]


def test_the_secret_is_read_with_boto3_within_the_time_left(fake_boto3: Path) -> None:
    assert "boto3" not in sys.modules, "boto3 is imported only when a secret is read"
    value = fetch_secret_string(ARN, "eu-west-1", 3.0)
    assert value == '{"api_key": "sk-from-boto3"}'
    calls = sys.modules["boto3"].calls
    assert calls[0][:3] == ("client", "secretsmanager", "eu-west-1")
    config = calls[0][3]
    assert config["connect_timeout"] == pytest.approx(0.6)
    assert config["read_timeout"] == pytest.approx(0.6)
    assert config["retries"] == {"total_max_attempts": 2, "mode": "standard"}
    assert calls[1] == ("get_secret_value", ARN)
    assert KeyCache().api_key(settings(), 3.0) == "sk-from-boto3"
