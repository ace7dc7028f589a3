"""Get lines to stdout without ever making the caller wait: a bounded buffer and one writer thread.

Why a thread, and not a plain ``print``: stdout of a container is a pipe to the log driver. When
the driver falls behind, the pipe fills and a write blocks; a write on the event loop would then
stall every request of the proxy. So the request path only appends the line to a bounded buffer
(about a microsecond, under a lock nobody holds for long) and a daemon thread does the writing,
waking at most every 50 ms under load so that it costs the proxy's GIL little.
When the buffer is full, the new line is dropped and counted: memory stays bounded and nothing is
retried forever. A failed write (stdout closed, broken pipe) is counted and its lines dropped.

Each write is at most ``PIPE_BUF`` (4 KiB) bytes of whole lines, written straight to the file
descriptor: the kernel writes that much to a pipe atomically, so when several proxy workers share
one stdout their lines never interleave mid-line. (A single line longer than that, which the
record's bounded labels make all but impossible, is written on its own.)
"""

from __future__ import annotations

import atexit
import collections
import io
import logging
import os
import select
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = ["LineSink", "SinkStats"]

_log: Final = logging.getLogger("bedrockgate.metrics_callback")
_PIPE_BUF: Final = getattr(select, "PIPE_BUF", 512)
_REPORT_EVERY_S: Final = 60.0
_BLOCKED_WRITE_GIVE_UP_S: Final = 5.0
_LINGER_S: Final = 0.05


class _TextStream(Protocol):
    def write(self, text: str, /) -> object: ...
    def flush(self) -> object: ...


@dataclass(frozen=True, slots=True)
class SinkStats:
    """What happened to the lines given to a sink, since it was created (or the process forked)."""

    accepted: int
    """Lines taken into the buffer."""
    written: int
    """Lines written to stdout."""
    dropped: int
    """Lines refused because the buffer was full (stdout too slow or blocked)."""
    failed: int
    """Lines lost because their write failed (stdout closed or raising)."""
    pending: int
    """Lines accepted and not yet written or lost."""
    last_error: str | None
    """The most recent write failure, e.g. ``BrokenPipeError: [Errno 32] Broken pipe``."""


def _stdout() -> _TextStream | None:
    return sys.stdout


class LineSink:
    """A bounded buffer of lines and the daemon thread that writes them to stdout.

    Args:
        capacity: lines that may wait; further lines are dropped (and counted) until there is room.
        stream: returns the stream to write to, looked up at each write so that a host (or a test)
            that replaces ``sys.stdout`` is followed. Defaults to ``sys.stdout``.

    """

    def __init__(self, capacity: int, stream: Callable[[], _TextStream | None] = _stdout) -> None:
        if capacity < 1:
            raise ValueError(f"a sink needs room for at least one line, got capacity={capacity}")
        self._capacity = capacity
        self._stream = stream
        self._reset()
        _LIVE_SINKS.add(self)

    def _reset(self) -> None:
        """Fresh state; also used in a forked child, where the parent's thread and lock do not exist."""
        self._lock = threading.Lock()
        self._has_lines = threading.Condition(self._lock)
        self._drained = threading.Condition(self._lock)
        self._lines: collections.deque[str] = collections.deque()
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._idle = False
        self._urgent = False
        self._closing = False
        self._accepted = 0
        self._written = 0
        self._dropped = 0
        self._failed = 0
        self._last_error: str | None = None
        self._reported = (0, 0)
        self._reported_at = -_REPORT_EVERY_S

    def put(self, line: str) -> bool:
        """Queue one line (without its newline); ``False`` if it was dropped. Never blocks or raises."""
        try:
            with self._lock:
                if self._closing or len(self._lines) >= self._capacity:
                    self._dropped += 1
                    return False
                if self._thread is None:
                    self._start_writer()
                self._lines.append(line)
                self._accepted += 1
                if self._idle:  # only an idle writer needs waking; a busy one will see the line
                    self._idle = False
                    self._has_lines.notify()
                return True
        except Exception:  # e.g. no new threads at interpreter shutdown: lose the line, not the request
            self._dropped += 1
            return False

    def _start_writer(self) -> None:
        thread = threading.Thread(target=self._run, name="bedrockgate-metrics-writer", daemon=True)
        thread.start()
        self._thread = thread

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every accepted line is written or lost; ``False`` if ``timeout`` came first."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._lines:
                self._urgent = True  # cut the writer's linger short
                self._has_lines.notify()
            while self._lines or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._drained.wait(remaining)
        return True

    def close(self, timeout: float = 5.0) -> bool:
        """Write what is queued, then stop the thread; later lines are dropped."""
        done = self.flush(timeout)
        with self._lock:
            self._closing = True
            self._has_lines.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(max(0.0, timeout))
        return done

    def stats(self) -> SinkStats:
        """A consistent snapshot of the counters."""
        with self._lock:
            return SinkStats(
                accepted=self._accepted,
                written=self._written,
                dropped=self._dropped,
                failed=self._failed,
                pending=len(self._lines) + self._in_flight,
                last_error=self._last_error,
            )

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._lines and not self._closing:
                    self._idle = True
                    self._has_lines.wait()
                self._idle = False
                if not self._lines:
                    return
                if not self._closing and not self._urgent:
                    # Linger: let lines gather, so that a busy proxy costs this thread (and the
                    # GIL) a wake-up every few tens of milliseconds rather than one per request.
                    self._has_lines.wait(_LINGER_S)
                self._urgent = False
            self._drain()
            self._report()

    def _drain(self) -> None:
        """Write every queued line, in writes of at most ``PIPE_BUF`` bytes of whole lines."""
        while True:
            with self._lock:
                if not self._lines:
                    return
                batch = [self._lines.popleft()]
                size = len(batch[0]) + 1
                while self._lines and size + len(self._lines[0]) + 1 <= _PIPE_BUF:
                    line = self._lines.popleft()
                    batch.append(line)
                    size += len(line) + 1
                self._in_flight = len(batch)
            error = self._write("".join(line + "\n" for line in batch))
            with self._lock:
                self._in_flight = 0
                if error is None:
                    self._written += len(batch)
                else:
                    self._failed += len(batch)
                    self._last_error = error
                self._drained.notify_all()

    def _write(self, text: str) -> str | None:
        """Write ``text``; the error, described, if that failed. Runs on the writer thread only."""
        try:
            stream = self._stream()
            if stream is None:
                return "stdout is None"
            descriptor = _descriptor(stream)
            if descriptor is None:
                stream.write(text)
                stream.flush()
            else:
                _write_all(descriptor, text.encode("ascii", "replace"))
        except Exception as error:  # whatever stdout does, the thread lives on
            return f"{type(error).__name__}: {error}"[:200]
        return None

    def _report(self) -> None:
        """Warn (from this thread, never the event loop) when lines were lost, at most once a minute."""
        with self._lock:
            lost = (self._dropped, self._failed)
            last_error = self._last_error
        now = time.monotonic()
        if lost == self._reported or now - self._reported_at < _REPORT_EVERY_S:
            return
        self._reported, self._reported_at = lost, now
        _log.warning(
            "metrics lines lost so far: %d dropped (buffer full: stdout too slow), %d failed to write "
            "(last error: %s); requests are not affected",
            lost[0],
            lost[1],
            last_error,
        )


def _descriptor(stream: _TextStream) -> int | None:
    """The stream's file descriptor, or ``None`` for in-memory streams (then its ``write`` is used)."""
    fileno = getattr(stream, "fileno", None)
    if fileno is None:
        return None
    try:
        descriptor = fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        # io.UnsupportedOperation: an in-memory stream. ValueError: a closed one, whose own write
        # then reports the failure.
        return None
    return descriptor if isinstance(descriptor, int) and descriptor >= 0 else None


def _write_all(descriptor: int, data: bytes) -> None:
    """``os.write`` until everything is written; waits (boundedly) on a non-blocking descriptor."""
    view = memoryview(data)
    deadline = time.monotonic() + _BLOCKED_WRITE_GIVE_UP_S
    while view:
        try:
            written = os.write(descriptor, view)
        except BlockingIOError:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise
            select.select([], [descriptor], [], min(remaining, 0.5))
            continue
        view = view[written:]


_LIVE_SINKS: Final[weakref.WeakSet[LineSink]] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # The parent's writer thread does not exist in the child, and its lock may be held: start
    # over. Lines still queued belong to the parent, which writes them.
    for sink in list(_LIVE_SINKS):
        sink._reset()


def _flush_at_exit() -> None:
    for sink in list(_LIVE_SINKS):
        sink.flush(timeout=2.0)


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_flush_at_exit)
