"""The runner against a real OpenAI-compatible server on loopback, with latency and injected faults."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from bedrockgate.evals._examples import score_example
from bedrockgate.evals.checkpoint import Checkpoint
from bedrockgate.evals.dataset import Question
from bedrockgate.evals.exceptions import EndpointError
from bedrockgate.evals.metrics import aggregate
from bedrockgate.evals.progress import NullProgress
from bedrockgate.evals.retry import RetryPolicy
from bedrockgate.evals.runner import RunOutcome, RunSettings, run_questions
from bedrockgate.evals.testing import CHAT_MODEL, EMBEDDING_MODEL, FakeOpenAI, Fault, Request, answers_for

FAST_RETRY = RetryPolicy(retries=2, backoff_s=0.001, max_backoff_s=0.01)


def settings_for(fake: FakeOpenAI, **overrides: object) -> RunSettings:
    options: dict[str, object] = {
        "endpoint": fake.url,
        "model": CHAT_MODEL,
        "concurrency": 4,
        "timeout_s": 2.0,
        "retry": FAST_RETRY,
    }
    options.update(overrides)
    return RunSettings(**options)  # type: ignore[arg-type]


def run(questions: Sequence[Question], settings: RunSettings, directory: Path) -> tuple[Checkpoint, RunOutcome]:
    checkpoint = Checkpoint.open(directory / "checkpoint.jsonl", settings.fingerprint())
    try:
        outcome = asyncio.run(run_questions(questions, settings, checkpoint, NullProgress()))
    finally:
        checkpoint.close()
    return checkpoint, outcome


def test_every_question_is_asked_once_with_its_passage(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    fake = openai_server(answers=answers_for(small_sample, "The answer is {}."), latency_s=0.01, cost_usd=0.002)
    checkpoint, outcome = run(small_sample, settings_for(fake), tmp_path)
    assert outcome.asked == len(small_sample)
    assert [s.request.kind for s in fake.seen].count("preflight") == 1
    assert Counter(s.request.question for s in fake.chat_requests()) == Counter(q.question for q in small_sample)
    assert all(fake.asked(q.question) == 1 for q in small_sample)
    results = [score_example(q, checkpoint.answers[q.id], settings_for(fake).postprocess) for q in small_sample]
    summary = aggregate(results, similarity_enabled=False)
    assert (summary.exact_match, summary.f1, summary.raw_exact_match) == (100.0, 100.0, 0.0)
    assert summary.cost_usd == pytest.approx(0.002 * len(small_sample))
    assert summary.cost_complete
    assert summary.latency.p50 is not None
    assert summary.latency.p50 >= 10.0
    assert summary.postprocess_changed == {"answer-prefix": len(small_sample)}


def test_429_with_retry_after_is_retried_after_the_wait(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    def script(request: Request) -> Fault | None:
        if request.kind == "chat" and request.attempt == 1:
            return Fault(status=429, headers={"retry-after": "0.2"})
        return None

    questions = small_sample[:6]
    fake = openai_server(answers=answers_for(questions), script=script)
    checkpoint, _ = run(
        questions, settings_for(fake, retry=RetryPolicy(retries=2, backoff_s=0.001, max_backoff_s=1.0)), tmp_path
    )
    for question in questions:
        record = checkpoint.answers[question.id]
        assert record.error is None
        assert record.attempts == 2
        assert record.elapsed_ms >= 200.0  # waited for Retry-After, not the 1 ms backoff
        assert fake.asked(question.question) == 2


def test_retries_stop_at_the_budget_and_failures_are_counted_by_kind(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    questions = small_sample[:12]
    always = {
        questions[0].question: Fault(status=500),
        questions[1].question: Fault(status=503),
        questions[2].question: Fault(status=429),
        questions[3].question: Fault(body=b"<html>Bad Gateway</html>"),
        questions[4].question: Fault(body=b'{"choices": []}'),
        questions[5].question: Fault(body=b'{"choices": [{"message": {"content": 42}}]}'),
        questions[6].question: Fault(body=b'{"choices": [{"message": {"content": "trunc'),
        questions[7].question: Fault(drop=True),
        questions[8].question: Fault(status=400),  # e.g. a guardrail: not retryable
    }

    def script(request: Request) -> Fault | None:
        return always.get(request.question or "")

    fake = openai_server(answers=answers_for(questions), script=script)
    checkpoint, _ = run(questions, settings_for(fake), tmp_path)
    errors = {q.question: checkpoint.answers[q.id].error for q in questions}
    kinds = {question: error.kind if error else None for question, error in errors.items()}
    expected = ["http_500", "http_503", "http_429", *["malformed_response"] * 4, "connection", "http_400"]
    assert [kinds[q.question] for q in questions[:9]] == expected
    assert all(kinds[q.question] is None for q in questions[9:])
    for question in questions[:8]:  # retryable: the first attempt and exactly two retries
        assert fake.asked(question.question) == FAST_RETRY.max_attempts == checkpoint.answers[question.id].attempts
    assert fake.asked(questions[8].question) == 1
    results = [score_example(q, checkpoint.answers[q.id], settings_for(fake).postprocess) for q in questions]
    summary = aggregate(results, similarity_enabled=False)
    assert summary.errors == 9
    assert summary.error_rate == pytest.approx(9 / 12)
    assert summary.errors_by_kind == dict(sorted(Counter(expected).items()))
    assert summary.exact_match == pytest.approx(100 * 3 / 12)


def test_a_slow_reply_times_out_and_the_retry_succeeds(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    questions = small_sample[:4]

    def script(request: Request) -> Fault | None:
        if request.kind != "chat":
            return None
        if request.question == questions[0].question:
            return Fault(delay_s=1.0)  # every attempt is too slow
        return Fault(delay_s=1.0) if request.attempt == 1 else None

    fake = openai_server(answers=answers_for(questions), script=script)
    started = time.perf_counter()
    checkpoint, _ = run(questions, settings_for(fake, timeout_s=0.15), tmp_path)
    assert time.perf_counter() - started < 2.0
    first = checkpoint.answers[questions[0].id]
    assert first.error is not None
    assert first.error.kind == "timeout"
    assert first.attempts == 3
    for question in questions[1:]:
        record = checkpoint.answers[question.id]
        assert record.error is None
        assert record.attempts == 2
        assert record.raw_answer == question.answers[0]
        assert record.latency_ms is not None
        assert record.latency_ms < 150.0


@pytest.mark.parametrize(
    ("settings_change", "server", "message"),
    [
        ({"api_key": "wrong"}, {"api_key": "right"}, "refused the API key"),
        ({"model": "no-such-alias"}, {}, "Invalid model name passed in model=no-such-alias"),
        ({"endpoint": "ROOT"}, {}, "HTTP 404"),
        ({"embedding_model": "no-such-embedder"}, {}, "model='no-such-embedder'"),
    ],
)
def test_a_misconfigured_run_stops_at_the_preflight(
    *,
    openai_server: Callable[..., FakeOpenAI],
    small_sample: list[Question],
    tmp_path: Path,
    settings_change: dict[str, str],
    server: dict[str, str],
    message: str,
) -> None:
    fake = openai_server(answers=answers_for(small_sample), **server)
    change = {key: fake.url.removesuffix("/v1") if value == "ROOT" else value for key, value in settings_change.items()}
    with pytest.raises(EndpointError, match="failed") as caught:
        run(small_sample, settings_for(fake, **change), tmp_path)
    assert message.replace("model='no-such-embedder'", "no-such-embedder") in str(caught.value)
    assert not fake.chat_requests()  # no question was spent


def test_an_unreachable_endpoint_stops_at_the_preflight(small_sample: list[Question], tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = RunSettings(endpoint=f"http://127.0.0.1:{port}/v1", model=CHAT_MODEL, retry=FAST_RETRY)
    with pytest.raises(EndpointError, match="after 3 attempts: ConnectError"):
        run(small_sample, settings, tmp_path)


def test_a_key_revoked_mid_run_stops_the_run_and_keeps_the_answers(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    served = Counter[str]()

    def script(request: Request) -> Fault | None:
        served[request.kind] += 1
        return Fault(status=401) if served["chat"] > 10 else None

    fake = openai_server(answers=answers_for(small_sample), latency_s=0.005, script=script)
    with pytest.raises(EndpointError, match="refused the API key"):
        run(small_sample, settings_for(fake, concurrency=2), tmp_path)
    checkpoint = Checkpoint.open(tmp_path / "checkpoint.jsonl", settings_for(fake).fingerprint())
    checkpoint.close()
    assert len(checkpoint.answers) == 10
    assert len(fake.chat_requests()) <= 12  # stopped at once, not after every remaining question


def test_similarity_is_measured_through_the_embeddings_api(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    questions = small_sample[:8]
    answers = answers_for(questions, "The answer is {}.")
    answers[questions[0].question] = "something else entirely"
    answers[questions[1].question] = ""

    def script(request: Request) -> Fault | None:
        if request.kind == "embeddings" and questions[2].answers[0] in request.texts:
            return Fault(status=500)
        return None

    fake = openai_server(answers=answers, script=script)
    settings = settings_for(fake, embedding_model=EMBEDDING_MODEL)
    checkpoint, _ = run(questions, settings, tmp_path)
    results = [
        score_example(
            q, checkpoint.answers[q.id], settings.postprocess, checkpoint.similarities.get(q.id), EMBEDDING_MODEL
        )
        for q in questions
    ]
    assert results[0].similarity is not None
    assert results[0].similarity < 0.5
    assert results[1].similarity == 0.0  # an empty answer: nothing to embed
    assert results[2].similarity is None
    assert results[2].similarity_error == "http_500"
    assert all(r.similarity == pytest.approx(1.0) for r in results[3:])
    summary = aggregate(results, similarity_enabled=True)
    assert summary.similarity_measured == 7
    assert summary.similarity_errors == 1
    assert summary.similarity == pytest.approx(math_mean([r.similarity or 0.0 for r in results]))


def math_mean(values: list[float]) -> float:
    return sum(values) / len(values)
