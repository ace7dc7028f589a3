"""The moment by which the handler must have its answer ready, whatever the gateway does.

Two limits apply and the earlier one wins: the configured budget for the gateway call (Lex
waits about 30 s), and the time the Lambda invocation has left
(``context.get_remaining_time_in_millis()``) minus a margin for building and returning the
response. A context without that method (a test, a local run) leaves only the budget.
"""

from __future__ import annotations

import math
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Deadline", "remaining_invocation_seconds"]


class Deadline:
    """A point on the monotonic clock; ``remaining()`` never goes below zero."""

    __slots__ = ("_at", "_clock")

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._at = clock() + max(0.0, seconds)

    @classmethod
    def for_invocation(
        cls, context: object, budget: float, margin: float, *, clock: Callable[[], float] = time.monotonic
    ) -> Deadline:
        """The deadline of one invocation: ``budget`` seconds, or less if Lambda has less time left."""
        seconds = budget
        left = remaining_invocation_seconds(context)
        if left is not None:
            seconds = min(seconds, left - margin)
        return cls(seconds, clock=clock)

    def remaining(self) -> float:
        """Seconds left, 0.0 once passed."""
        return max(0.0, self._at - self._clock())

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self._clock() >= self._at


def remaining_invocation_seconds(context: object) -> float | None:
    """What ``context.get_remaining_time_in_millis()`` says, in seconds; ``None`` if it says nothing usable.

    Tolerates contexts of any shape: a missing or failing method, or a value that is not a finite
    number, means "unknown", never an error.
    """
    try:
        method = getattr(context, "get_remaining_time_in_millis", None)
        millis = method() if callable(method) else None
    except Exception:
        return None
    if isinstance(millis, bool) or not isinstance(millis, int | float):
        return None
    if not math.isfinite(millis):
        return None
    return max(0.0, float(millis) / 1000.0)
