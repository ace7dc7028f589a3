"""The writer: bounded, never blocking its caller, surviving any stdout, whole lines only."""

from __future__ import annotations

import errno
import io
import logging
import os
import threading
import time

import pytest
from bedrockgate.metrics_callback.sink import LineSink
from metrics_helpers import LineCapture


class BlockingStream:
    """A stdout whose writes hang until released, like a pipe nobody reads."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.capture = LineCapture()

    def write(self, text: str) -> int:
        self.entered.set()
        self.release.wait(timeout=30)
        return self.capture.write(text)

    def flush(self) -> None:
        pass


class RaisingStream:
    """A stdout whose reader went away."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def flush(self) -> None:
        pass


def test_lines_arrive_whole_and_in_order() -> None:
    capture = LineCapture()
    sink = LineSink(10_000, lambda: capture)
    lines = [f'{{"n":{index},"pad":"{"x" * (index % 1500)}"}}' for index in range(3000)]
    for line in lines:
        assert sink.put(line)
    assert sink.flush(timeout=10)
    assert capture.lines() == lines
    stats = sink.stats()
    assert (stats.accepted, stats.written, stats.dropped, stats.failed, stats.pending) == (3000, 3000, 0, 0, 0)
    sink.close()


def test_through_a_real_pipe_every_line_is_intact() -> None:
    reader, writer = os.pipe()
    stream = os.fdopen(writer, "w")
    received: list[bytes] = []
    reading = threading.Thread(target=lambda: received.append(_read_all(reader)))
    reading.start()
    sink = LineSink(10_000, lambda: stream)
    lines = [f'{{"n":{index},"pad":"{"y" * (index % 2000)}"}}' for index in range(2000)]
    for line in lines:
        sink.put(line)
    assert sink.close(timeout=10)
    stream.close()
    reading.join(timeout=10)
    assert received[0].decode().splitlines() == lines


def _read_all(descriptor: int) -> bytes:
    chunks = []
    while chunk := os.read(descriptor, 65536):
        chunks.append(chunk)
    os.close(descriptor)
    return b"".join(chunks)


def test_a_blocked_stdout_never_blocks_the_caller_and_memory_stays_bounded() -> None:
    stream = BlockingStream()
    sink = LineSink(100, lambda: stream)
    sink.put("first")
    assert sink.flush(timeout=0.2) is False  # the writer is stuck in write()
    assert stream.entered.wait(timeout=5)
    started = time.perf_counter()
    accepted = sum(sink.put(f"line {index}") for index in range(1000))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"1000 puts took {elapsed:.3f} s while stdout was blocked"
    assert accepted == 100
    stats = sink.stats()
    assert stats.dropped == 900
    assert stats.pending == 101  # the hundred queued and the one stuck in write()
    stream.release.set()
    assert sink.flush(timeout=10)
    assert sink.stats().written == 101
    assert stream.capture.lines() == ["first"] + [f"line {index}" for index in range(100)]
    sink.close()


@pytest.mark.parametrize(
    ("make_stream", "error"),
    [
        (RaisingStream, "BrokenPipeError"),
        (lambda: _closed(io.StringIO()), "ValueError: I/O operation on closed file"),
        (lambda: None, "stdout is None"),
    ],
)
def test_a_failing_stdout_is_counted_and_the_writer_lives_on(make_stream: object, error: str) -> None:
    assert callable(make_stream)
    broken = make_stream()
    capture = LineCapture()
    target: list[object] = [broken]
    sink = LineSink(1000, lambda: target[0])  # type: ignore[arg-type,return-value]
    for index in range(10):
        assert sink.put(f"lost {index}")
    assert sink.flush(timeout=5)
    stats = sink.stats()
    assert (stats.written, stats.failed) == (0, 10)
    assert stats.last_error is not None
    assert stats.last_error.startswith(error)
    target[0] = capture  # stdout comes back: the same thread writes again
    sink.put("kept")
    assert sink.flush(timeout=5)
    assert capture.lines() == ["kept"]
    sink.close()


def _closed(stream: io.StringIO) -> io.StringIO:
    stream.close()
    return stream


def test_a_closed_file_descriptor_is_a_counted_failure() -> None:
    reader, writer = os.pipe()
    stream = os.fdopen(writer, "w")
    os.close(reader)  # nobody reads: EPIPE (Python ignores SIGPIPE)
    sink = LineSink(10, lambda: stream)
    sink.put("nobody reads this")
    assert sink.flush(timeout=5)
    stats = sink.stats()
    assert stats.failed == 1
    assert stats.last_error is not None
    assert "BrokenPipeError" in stats.last_error
    sink.close()
    stream.close()


def test_lost_lines_are_reported_from_the_writer_thread(caplog: pytest.LogCaptureFixture) -> None:
    sink = LineSink(10, RaisingStream)
    with caplog.at_level(logging.WARNING, logger="bedrockgate.metrics_callback"):
        sink.put('{"secret-looking": "payload"}')
        assert sink.flush(timeout=5)
        sink.close()
    messages = [record.getMessage() for record in caplog.records if record.name == "bedrockgate.metrics_callback"]
    assert len(messages) == 1
    assert "1 failed to write" in messages[0]
    assert "secret-looking" not in messages[0]
    assert all(record.threadName == "bedrockgate-metrics-writer" for record in caplog.records)


def test_after_close_lines_are_dropped_not_queued() -> None:
    capture = LineCapture()
    sink = LineSink(10, lambda: capture)
    sink.put("before")
    assert sink.close(timeout=5)
    assert sink.put("after") is False
    assert capture.lines() == ["before"]
    assert sink.stats().dropped == 1


# Python 3.12+ warns about fork() with threads running; this test forks with one on purpose.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_starts_clean_and_writes_its_own_lines() -> None:
    stream = BlockingStream()
    sink = LineSink(100, lambda: stream)
    sink.put("parent line")
    assert stream.entered.wait(timeout=5)  # the parent's writer holds a batch, stuck
    sink.put("parent queued")
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread is gone and must not be waited for
        code = 1
        try:
            out = os.fdopen(writer, "w")
            child = sink  # the same object, reset by the at-fork hook
            child._stream = lambda: out
            ok = child.stats().pending == 0 and child.put("child line") and child.flush(timeout=5)
            code = 0 if ok else 2
        finally:
            os._exit(code)
    os.close(writer)
    _, status = os.waitpid(pid, 0)
    output = _read_all(reader)
    stream.release.set()
    assert os.waitstatus_to_exitcode(status) == 0
    assert output == b"child line\n"
    assert sink.flush(timeout=5)
    assert stream.capture.lines() == ["parent line", "parent queued"]
    sink.close()


def test_a_sink_needs_room() -> None:
    with pytest.raises(ValueError, match="at least one line"):
        LineSink(0)
