"""SIGINT, SIGTERM and SIGHUP as one clean stop of ``bedrockgate-local-stack up``, from before the first child on.

The first stop signal raises ``StopRequested`` wherever ``up`` is (starting, asking its first
question, serving), so the code unwinds through its ``finally`` blocks and stops the stack. Later
signals, and any that arrive while the stack is being stopped, are recorded and do not raise: a
second Ctrl-C must not cut the tear-down short and leave half the stack running.
"""

from __future__ import annotations

import signal
from types import FrameType

from bedrockgate.local_stack.exceptions import StopRequested
from bedrockgate.local_stack.processes import STOP_SIGNALS


class Interrupts:
    """Install once, first thing; ``shield()`` before the tear-down."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._stopping = False

    def install(self) -> None:
        """Route the stop signals here (from the main thread, as Python requires)."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self.handle)

    def handle(self, signum: int, _frame: FrameType | None = None) -> None:
        """Record the signal; raise only for the first, and never while stopping."""
        first = not self.received
        self.received.append(signum)
        if first and not self._stopping:
            raise StopRequested(signum)

    @property
    def first(self) -> int | None:
        """The signal that stopped ``up``, if one did."""
        return self.received[0] if self.received else None

    def shield(self) -> None:
        """From now on signals are only recorded: the tear-down (or the detach) runs to its end."""
        self._stopping = True
