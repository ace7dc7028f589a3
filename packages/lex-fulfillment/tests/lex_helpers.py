"""What several test modules share: the fast settings, the captured log lines, the fulfiller factory's type.

Imported as a module (``from lex_helpers import ...``); conftest.py keeps only the fixtures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bedrockgate.lex_fulfillment import Fulfiller

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


MakeFulfiller = Callable[..., Fulfiller]
