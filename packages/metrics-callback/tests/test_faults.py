"""Fault injection: whatever goes wrong in the callback or its stdout, the request succeeds.

Real LiteLLM calls throughout; the faults are a stdout that raises, is closed, or blocks; a
payload mangled before it reaches the callback (hypothesis, >= 100 examples); the callback's own
code raising; a process whose file descriptor 1 is closed.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

import litellm
import pytest
from bedrockgate.metrics_callback import MetricsSettings
from bedrockgate.metrics_callback import logger as logger_module
from bedrockgate.metrics_callback.logger import MetricsLogger
from emf_spec import emf_problems
from hypothesis import given, settings
from hypothesis import strategies as st
from litellm.exceptions import InternalServerError
from litellm.integrations.custom_logger import CustomLogger
from metrics_helpers import LineCapture, Runner, settle
from strategies import PROPERTY, payloads
from test_sink import BlockingStream, RaisingStream

MESSAGES: list[Any] = [{"role": "user", "content": "hello"}]


async def _complete(text: str = "fine") -> str:
    response = await litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response=text)
    content = response.choices[0].message.content
    assert isinstance(content, str)
    return content


def _closed_stringio() -> io.StringIO:
    stream = io.StringIO()
    stream.close()
    return stream


async def _complete_many(count: int) -> list[str]:
    return list(await asyncio.gather(*(_complete(f"answer {index}") for index in range(count))))


@pytest.mark.parametrize(
    ("make_stream", "error"),
    [(RaisingStream, "BrokenPipeError"), (_closed_stringio, "ValueError")],
)
def test_requests_succeed_while_stdout_raises_or_is_closed(
    make_stream: Callable[[], Any], error: str, registered: Callable[[CustomLogger], None], run: Runner
) -> None:
    stream = make_stream()
    metrics = MetricsLogger(MetricsSettings(), stream=lambda: stream)
    registered(metrics)
    try:
        answers = run(_complete_many(20))
        assert answers == [f"answer {index}" for index in range(20)]
        run(settle(metrics, 20))
        stats = metrics.stats()
        assert stats.sink is not None
        assert (stats.sink.written, stats.sink.failed) == (0, 20)
        assert stats.sink.last_error is not None
        assert stats.sink.last_error.startswith(error)
    finally:
        metrics.close(timeout=5)


def test_a_blocked_stdout_neither_blocks_the_event_loop_nor_grows_memory(
    registered: Callable[[CustomLogger], None], run: Runner
) -> None:
    stream = BlockingStream()
    metrics = MetricsLogger(MetricsSettings(queue_size=20), stream=lambda: stream)
    registered(metrics)
    written_when_answered: list[int] = []

    async def load() -> list[str]:
        answers = await _complete_many(200)
        await settle_events(metrics, 200)
        deadline = time.monotonic() + 30  # a bound on the wait, not a timing claim
        while not stream.entered.is_set():  # the writer thread reaches the hanging write in its own time
            assert time.monotonic() < deadline, "no write reached the blocked stream"
            await asyncio.sleep(0.01)
        written_when_answered.append(len(stream.capture.lines()))
        return answers

    try:
        answers = run(load())
        # Not a timing bound: every write hangs until the stream is released, so had the loop itself written, it
        # would have been stuck in that write. All 200 answers came back and the loop kept running while a write
        # hung and nothing had been written: the loop never waited on stdout.
        assert answers == [f"answer {index}" for index in range(200)]
        assert written_when_answered == [0]
        stats = metrics.stats()
        assert stats.sink is not None
        assert stats.sink.pending <= 20 + 4  # the queue, plus one batch (at most 4 KiB) stuck in write()
        assert stats.sink.dropped == 200 - stats.sink.accepted
        assert stats.sink.dropped >= 200 - 24
    finally:
        stream.release.set()
        assert metrics.flush(timeout=10)
        metrics.close(timeout=5)
    assert len(stream.capture.lines()) == metrics.stats().sink.written  # type: ignore[union-attr]


async def settle_events(metrics: MetricsLogger, events: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while metrics.stats().events < events:
        assert time.monotonic() < deadline, metrics.stats()
        await asyncio.sleep(0.01)


class Mangler(CustomLogger):
    """Runs before the metrics callback and replaces the payload it will read."""

    def __init__(self) -> None:
        super().__init__()
        self.payload: object = None

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        kwargs["standard_logging_object"] = self._mangled(kwargs)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        kwargs["standard_logging_object"] = self._mangled(kwargs)

    def _mangled(self, kwargs: Any) -> object:
        # Keep the request's own call id: hypothesis repeats payloads, and two requests with the
        # same id and start time are one event delivered twice to the callback (recorded once).
        if isinstance(self.payload, dict):
            return {**self.payload, "litellm_call_id": kwargs.get("litellm_call_id")}
        return self.payload


def test_mangled_payloads_never_reach_the_request(registered: Callable[[CustomLogger], None], run: Runner) -> None:
    capture = LineCapture()
    metrics = MetricsLogger(MetricsSettings(), stream=lambda: capture)
    mangler = Mangler()
    registered(mangler)
    litellm.callbacks = [mangler, metrics]

    @settings(PROPERTY, max_examples=100)
    @given(payload=payloads, fail=st.booleans())
    def check(payload: object, fail: bool) -> None:
        mangler.payload = payload
        events = metrics.stats().events
        lines = len(capture.lines())
        if fail:
            with pytest.raises(InternalServerError):
                run(litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response=Exception("x")))
        else:
            assert run(_complete("still fine")) == "still fine"
        run(settle(metrics, events + 1))
        new = capture.lines()[lines:]
        assert len(new) == 1
        assert emf_problems(new[0]) == []
        assert json.loads(new[0])["RequestErrors"] == int(fail)

    try:
        check()
        assert metrics.stats().build_errors == 0
    finally:
        metrics.close(timeout=5)


@pytest.mark.parametrize("broken", ["read_facts", "render_line"])
def test_a_bug_in_the_callback_still_counts_the_request(
    broken: str, monkeypatch: pytest.MonkeyPatch, registered: Callable[[CustomLogger], None], run: Runner
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the callback")

    monkeypatch.setattr(logger_module, broken, explode)
    capture = LineCapture()
    metrics = MetricsLogger(MetricsSettings(), stream=lambda: capture)
    registered(metrics)
    try:
        assert run(_complete("unharmed")) == "unharmed"
        run(settle(metrics, 1))
        [line] = capture.lines()
        assert emf_problems(line) == []
        record = json.loads(line)
        assert (record["ModelGroup"], record["RequestCount"], record["status_code"]) == ("unknown", 1, 200)
        assert metrics.stats().build_errors == 1
    finally:
        metrics.close(timeout=5)


def test_a_failing_meter_is_counted_and_the_line_still_written(
    registered: Callable[[CustomLogger], None], run: Runner
) -> None:
    class BrokenOtel:
        def record(self, facts: object) -> None:
            raise RuntimeError("exporter gone")

    capture = LineCapture()
    metrics = MetricsLogger(MetricsSettings(), stream=lambda: capture)
    metrics._otel = BrokenOtel()  # type: ignore[assignment]
    registered(metrics)
    try:
        assert run(_complete()) == "fine"
        run(settle(metrics, 1))
        assert len(capture.lines()) == 1
        assert metrics.stats().otel_errors == 1
    finally:
        metrics.close(timeout=5)


def test_with_file_descriptor_1_closed_the_process_serves_and_exits_cleanly() -> None:
    script = textwrap.dedent(
        """
        import asyncio, json, os, sys, warnings
        os.close(1)  # stdout is gone before anything is written
        warnings.simplefilter("ignore")
        import litellm
        from bedrockgate.metrics_callback import metrics_logger
        litellm.callbacks = [metrics_logger]

        async def main():
            answers = [
                (await litellm.acompletion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                           mock_response=f"answer {index}")).choices[0].message.content
                for index in range(5)
            ]
            for _ in range(500):
                if metrics_logger.stats().events >= 5:
                    break
                await asyncio.sleep(0.01)
            return answers

        answers = asyncio.run(main())
        metrics_logger.flush(5)
        stats = metrics_logger.stats()
        sys.stderr.write("RESULT " + json.dumps({"answers": answers, "events": stats.events,
                                                  "failed": stats.sink.failed, "error": stats.sink.last_error}) + "\\n")
        """
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    [result_line] = [line for line in completed.stderr.splitlines() if line.startswith("RESULT ")]
    result = json.loads(result_line.removeprefix("RESULT "))
    assert result["answers"] == [f"answer {index}" for index in range(5)]
    assert (result["events"], result["failed"]) == (5, 5)
    assert "Bad file descriptor" in result["error"] or "closed" in result["error"]
