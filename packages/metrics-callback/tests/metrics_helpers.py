"""Shared test helpers, imported as a plain module (``conftest.py`` keeps the fixtures only).

Named for the package, not ``helpers``: every package's tests folder is put on ``sys.path``, and two
modules of one name would shadow each other.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from bedrockgate.metrics_callback.logger import MetricsLogger

__all__ = [
    "CANARIES",
    "CANARY_API_KEY",
    "CANARY_COMPLETION",
    "CANARY_ERROR",
    "CANARY_KEY_HASH",
    "CANARY_PROMPT",
    "LineCapture",
    "Runner",
    "settle",
]

T = TypeVar("T")

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


async def settle(metrics: MetricsLogger, events: int, timeout: float = 10.0) -> None:
    """Wait for LiteLLM's logging worker to deliver ``events`` events, then for their lines."""
    deadline = time.monotonic() + timeout
    while metrics.stats().events < events:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {events} logging events, got {metrics.stats()}")
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # a second delivery of the same event would arrive by now
    assert metrics.flush(timeout=5)
