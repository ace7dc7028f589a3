"""Runner properties over generated fault plans (>= 100 examples each), against the real loopback server.

1. Concurrency never exceeds the bound: the server counts the requests it holds at once.
2. Nothing crashes, and every outcome is the one the fault plan implies: a question succeeds at its
   first clean attempt, fails at once on a non-retryable status, or fails after exactly the retry
   budget on retryable faults; the server saw exactly the attempts the checkpoint records.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from bedrockgate.evals.checkpoint import Checkpoint
from bedrockgate.evals.dataset import Question
from bedrockgate.evals.progress import NullProgress
from bedrockgate.evals.retry import RetryPolicy
from bedrockgate.evals.runner import RunSettings, run_questions
from bedrockgate.evals.testing import CHAT_MODEL, FakeOpenAI, Fault, Request, serve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

RETRY = RetryPolicy(retries=2, backoff_s=0.0005, max_backoff_s=0.002)
FAULTS: list[Fault | None] = [
    None,
    None,
    None,
    Fault(status=429),
    Fault(status=500),
    Fault(status=503),
    Fault(status=400),
    Fault(body=b"not json"),
    Fault(body=b'{"object": "chat.completion"}'),
    Fault(drop=True),
]
KIND = {429: "http_429", 500: "http_500", 503: "http_503", 400: "http_400"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with serve(FakeOpenAI()) as fake:
        yield fake


def expected_outcome(plan: Sequence[Fault | None]) -> tuple[int, str | None]:
    """(attempts, final error kind) that a question with this per-attempt fault plan must end with."""
    for attempt, fault in enumerate(plan[: RETRY.max_attempts], start=1):
        if fault is None:
            return attempt, None
        kind = "connection" if fault.drop else "malformed_response" if fault.body is not None else KIND[fault.status]
        if fault.status == 400 or attempt == RETRY.max_attempts:
            return attempt, kind
    raise AssertionError("unreachable: the plan covers every attempt")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    concurrency=st.integers(min_value=1, max_value=8),
    count=st.integers(min_value=1, max_value=14),
    latency=st.sampled_from([0.0, 0.001, 0.005]),
    data=st.data(),
)
def test_faults_never_crash_and_concurrency_never_exceeds_the_bound(
    *,
    server: FakeOpenAI,
    small_sample: list[Question],
    concurrency: int,
    count: int,
    latency: float,
    data: st.DataObject,
) -> None:
    questions = small_sample[:count]
    plans = {q.question: data.draw(st.lists(st.sampled_from(FAULTS), min_size=3, max_size=3)) for q in questions}

    def script(request: Request) -> Fault | None:
        if request.kind != "chat" or request.question is None:
            return None
        return plans[request.question][request.attempt - 1]

    server.reset(answers={q.question: q.answers[0] for q in questions}, script=script, latency_s=latency)
    run_settings = RunSettings(
        endpoint=server.url, model=CHAT_MODEL, concurrency=concurrency, timeout_s=5.0, retry=RETRY
    )
    with tempfile.TemporaryDirectory() as directory:
        checkpoint = Checkpoint.open(Path(directory) / "checkpoint.jsonl", run_settings.fingerprint())
        try:
            asyncio.run(run_questions(questions, run_settings, checkpoint, NullProgress()))
        finally:
            checkpoint.close()
    assert server.max_in_flight <= concurrency
    for question in questions:
        record = checkpoint.answers[question.id]
        attempts, kind = expected_outcome(plans[question.question])
        assert (record.attempts, record.error.kind if record.error else None) == (attempts, kind)
        assert server.asked(question.question) == attempts
        assert (record.raw_answer == question.answers[0]) is (kind is None)
