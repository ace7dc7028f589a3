"""Fault injection: per model id, changeable while the emulator runs (the admin endpoint)."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Literal

from bedrockgate.local_stack.settings import ErrorKind, Faults

Verdict = Literal["ok", "throttle", "error", "down"]


@dataclass(frozen=True)
class Draw:
    """The outcome for one request: how long to wait first, then what to answer."""

    latency_s: float
    verdict: Verdict
    error_kind: ErrorKind


class FaultBoard:
    """The faults in force. ``*`` is the default for models without their own entry."""

    def __init__(self, initial: dict[str, Faults] | None = None, seed: int | None = None) -> None:
        self._faults: dict[str, Faults] = dict(initial or {})
        self._random = random.Random(seed)  # noqa: S311 -- fault draws, not cryptography
        self._lock = threading.Lock()

    def set(self, model_id: str, faults: Faults) -> None:
        """Replace the faults of one model id (or ``*``)."""
        with self._lock:
            self._faults[model_id] = faults

    def clear(self, model_id: str | None = None) -> None:
        """Remove one model's faults, or all of them."""
        with self._lock:
            if model_id is None:
                self._faults.clear()
            else:
                self._faults.pop(model_id, None)

    def snapshot(self) -> dict[str, Faults]:
        """The faults in force, for the admin endpoint."""
        with self._lock:
            return dict(self._faults)

    def faults_for(self, model_id: str) -> Faults:
        """A model's own faults, else the ``*`` default, else none."""
        with self._lock:
            return self._faults.get(model_id) or self._faults.get("*") or Faults()

    def draw(self, model_id: str) -> Draw:
        """Decide one request's fate: down beats throttle beats error."""
        faults = self.faults_for(model_id)
        with self._lock:
            throttle_roll, error_roll = self._random.random(), self._random.random()
        verdict: Verdict = "ok"
        if faults.down:
            verdict = "down"
        elif throttle_roll < faults.throttle_rate:
            verdict = "throttle"
        elif error_roll < faults.error_rate:
            verdict = "error"
        return Draw(latency_s=faults.latency_ms / 1000, verdict=verdict, error_kind=faults.error_kind)
