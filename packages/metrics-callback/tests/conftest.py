"""Shared fixtures: an in-memory stdout, a logger writing to it, LiteLLM with the logger registered.

LiteLLM is imported here once, with its import-time warnings silenced (they are LiteLLM's own and
not what these tests measure; pytest turns every other warning into an error). LiteLLM would fetch
its price map from the network at import unless told to use its bundled copy.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import litellm
    from litellm.integrations.custom_logger import CustomLogger

from bedrockgate.metrics_callback import MetricsSettings
from bedrockgate.metrics_callback.logger import MetricsLogger

T = TypeVar("T")

# Warnings LiteLLM 1.106.2 itself raises while it works, each matched narrowly: the package's
# tests keep every other warning an error (the root config's filterwarnings = ["error"]).
LITELLM_WARNINGS = (
    # pydantic, building schemas of LiteLLM's ReadOnly TypedDicts on first use
    "ignore:Items? .* on TypedDict class .* (is|are) using the `ReadOnly` qualifier:UserWarning",
)


def pytest_configure(config: pytest.Config) -> None:
    for line in LITELLM_WARNINGS:
        config.addinivalue_line("filterwarnings", line)


# Strings that must never reach a record: prompt, completion, keys, key hash, error text.
CANARY_PROMPT = "CANARY-PROMPT-7f3a"
CANARY_COMPLETION = "CANARY-COMPLETION-91bc"
CANARY_API_KEY = "sk-CANARY-APIKEY-55de"
CANARY_KEY_HASH = "CANARY-KEYHASH-0c41"
CANARY_ERROR = "CANARY-ERROR-TEXT-e2e2"
CANARIES = (CANARY_PROMPT, CANARY_COMPLETION, CANARY_API_KEY, CANARY_KEY_HASH, CANARY_ERROR)


class LineCapture:
    """A stand-in stdout that keeps what is written, for one logger's writer thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._text: list[str] = []

    def write(self, text: str) -> int:
        with self._lock:
            self._text.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    @property
    def text(self) -> str:
        with self._lock:
            return "".join(self._text)

    def lines(self) -> list[str]:
        text = self.text
        assert text == "" or text.endswith("\n"), "a write ended mid-line"
        return text.splitlines()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]


@pytest.fixture
def capture() -> LineCapture:
    return LineCapture()


@pytest.fixture
def logger(capture: LineCapture) -> Iterator[MetricsLogger]:
    metrics = MetricsLogger(MetricsSettings(), stream=lambda: capture)
    yield metrics
    metrics.close(timeout=5)


_CALLBACK_LISTS = (
    "callbacks",
    "success_callback",
    "failure_callback",
    "_async_success_callback",
    "_async_failure_callback",
)


@pytest.fixture
def registered() -> Iterator[Callable[[CustomLogger], None]]:
    """Make a callback LiteLLM's only one for the test, as ``litellm_settings.callbacks`` does."""
    saved = {name: list(getattr(litellm, name)) for name in _CALLBACK_LISTS}

    def register(callback: CustomLogger) -> None:
        for name in _CALLBACK_LISTS:
            setattr(litellm, name, [])
        litellm.callbacks = [callback]

    yield register
    for name, value in saved.items():
        setattr(litellm, name, value)


class Runner:
    """Runs coroutines on one event loop, as a proxy worker does (LiteLLM's logging worker binds to it)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __call__(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def close(self) -> None:
        # As asyncio.run does: cancel what is left (LiteLLM's logging worker) before closing, so
        # no task of a closed loop is destroyed pending later, in some other test.
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


@pytest.fixture(scope="module")
def run() -> Iterator[Runner]:
    runner = Runner()
    yield runner
    runner.close()


async def settle(metrics: MetricsLogger, events: int, timeout: float = 10.0) -> None:
    """Wait for LiteLLM's logging worker to deliver ``events`` events, then for their lines."""
    deadline = time.monotonic() + timeout
    while metrics.stats().events < events:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {events} logging events, got {metrics.stats()}")
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # a second delivery of the same event would arrive by now
    assert metrics.flush(timeout=5)
