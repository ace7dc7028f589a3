"""Shared fixtures: the stub gateway on loopback, a closed port, fast settings, captured logs."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bedrockgate.lex_fulfillment import Fulfiller, JsonLog, KeyCache, Settings
from gateway_stub import GatewayStub

# Small budgets keep the fault matrix fast: an attempt times out after 0.3 s, a turn after 1.5 s.
FAST: dict[str, Any] = {
    "model": "claude-fast",
    "api_key": "sk-test-key-0123456789",
    "total_timeout": 1.5,
    "attempt_timeout": 0.3,
    "min_attempt_time": 0.05,
    "deadline_margin": 0.0,
    "max_attempts": 3,
    "backoff_base": 0.01,
    "backoff_cap": 0.05,
}


class LogLines:
    """The handler's log lines, parsed."""

    def __init__(self) -> None:
        self.raw: list[str] = []

    def write(self, line: str) -> None:
        self.raw.append(line)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.raw]

    @property
    def last(self) -> dict[str, Any]:
        return self.records[-1]

    @property
    def text(self) -> str:
        return "".join(self.raw)


@pytest.fixture
def gateway() -> Iterator[GatewayStub]:
    with GatewayStub() as stub:
        yield stub


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback URL whose port refuses connections: bound, never listening, held for the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def logs() -> LogLines:
    return LogLines()


MakeFulfiller = Callable[..., Fulfiller]


@pytest.fixture
def make_fulfiller(gateway: GatewayStub, logs: LogLines) -> MakeFulfiller:
    """A Fulfiller on the stub gateway with the fast settings; keyword arguments override them."""

    def make(*, keys: KeyCache | None = None, **overrides: Any) -> Fulfiller:
        settings = Settings(**({"endpoint": gateway.url} | FAST | overrides))
        return Fulfiller(settings, keys=keys, log=JsonLog(logs.write))

    return make
