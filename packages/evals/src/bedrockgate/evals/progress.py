"""The run's progress on stderr: a rich bar with running EM, F1 and errors on a terminal, plain lines in CI logs.

A CI log is not a terminal: an animated bar there is either invisible until the end or a wall of
redraws. So ``auto`` draws the bar only when stderr is a terminal, and otherwise prints one line
at every tenth of the run (and at least every 30 seconds).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["NullProgress", "PlainProgress", "RichProgress", "make_progress"]


class NullProgress:
    """Shows nothing (``--progress none``)."""

    def start(self, total: int, done: int) -> None:
        """Nothing to show."""

    def advance(self, *, exact_match: float, f1: float, errors: int) -> None:
        """Nothing to show."""

    def stop(self) -> None:
        """Nothing to show."""


class PlainProgress:
    """One line per tenth of the run (or per 30 s), for logs."""

    def __init__(self, stream: TextIO, *, interval_s: float = 30.0) -> None:
        self._stream = stream
        self._interval_s = interval_s
        self._total = self._done = self._next = 0
        self._last = 0.0
        self._line = ""

    def start(self, total: int, done: int) -> None:
        """Print where the run starts."""
        self._total, self._done = total, done
        self._next = done + max(total // 10, 1)
        self._last = time.monotonic()
        resumed = f" ({done} already answered, resuming)" if done else ""
        self._stream.write(f"asking {total - done} of {total} questions{resumed}\n")
        self._stream.flush()

    def advance(self, *, exact_match: float, f1: float, errors: int) -> None:
        """Print a line at each tenth or after the interval."""
        self._done += 1
        self._line = f"{self._done}/{self._total} answered  EM {exact_match:.1f}  F1 {f1:.1f}  errors {errors}"
        now = time.monotonic()
        if self._done >= self._next or now - self._last >= self._interval_s or self._done == self._total:
            self._stream.write(self._line + "\n")
            self._stream.flush()
            self._next = self._done + max(self._total // 10, 1)
            self._last = now

    def stop(self) -> None:
        """Nothing more: the last line was printed at the end."""


class RichProgress:
    """A progress bar with running EM, F1 and the error count."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]SQuAD"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("EM {task.fields[em]:5.1f}  F1 {task.fields[f1]:5.1f}  errors {task.fields[errors]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def start(self, total: int, done: int) -> None:
        """Show the bar."""
        self._task = self._progress.add_task("squad", total=total, completed=done, em=0.0, f1=0.0, errors=0)
        self._progress.start()

    def advance(self, *, exact_match: float, f1: float, errors: int) -> None:
        """Move the bar and refresh the running scores."""
        if self._task is not None:
            self._progress.update(self._task, advance=1, em=exact_match, f1=f1, errors=errors)

    def stop(self) -> None:
        """Leave the final bar on screen."""
        self._progress.stop()


def make_progress(mode: str, stream: TextIO | None = None) -> NullProgress | PlainProgress | RichProgress:
    """``auto`` (rich on a terminal, plain otherwise), ``rich``, ``plain`` or ``none``."""
    out = stream or sys.stderr
    if mode == "none":
        return NullProgress()
    if mode == "rich" or (mode == "auto" and out.isatty()):
        return RichProgress(Console(file=out, force_terminal=mode == "rich" or None))
    return PlainProgress(out)
