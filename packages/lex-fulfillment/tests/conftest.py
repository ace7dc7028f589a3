"""Fixtures: the stub gateway on loopback, a closed port, captured logs, a fulfiller on the stub.

Shared helpers (the fast settings, ``LogLines``, ``MakeFulfiller``) are in lex_helpers.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from bedrockgate.lex_fulfillment import Fulfiller, JsonLog, KeyCache, Settings
from gateway_stub import GatewayStub
from hypothesis import settings
from lex_helpers import FAST, LogLines, MakeFulfiller

# Timing is the benchmarks' job, never a test's: on a loaded 2-core CI machine hypothesis's default 200 ms
# deadline per example fails correct code (it did, in pipelines/tests/test_publish.py).
settings.register_profile("bedrockgate", deadline=None)
settings.load_profile("bedrockgate")


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


@pytest.fixture
def make_fulfiller(gateway: GatewayStub, logs: LogLines) -> MakeFulfiller:
    """A Fulfiller on the stub gateway with the fast settings; keyword arguments override them."""

    def make(*, keys: KeyCache | None = None, **overrides: Any) -> Fulfiller:
        settings = Settings(**({"endpoint": gateway.url} | FAST | overrides))
        return Fulfiller(settings, keys=keys, log=JsonLog(logs.write))

    return make
