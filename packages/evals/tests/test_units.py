"""The small pieces: post-processing, prompts, backoff, percentiles, gates, question types, progress."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime

import pytest
from bedrockgate.evals.dataset import Question
from bedrockgate.evals.exceptions import ConfigError
from bedrockgate.evals.gates import check_gates, validate_thresholds
from bedrockgate.evals.metrics import Aggregate, LatencySummary, percentile, question_type
from bedrockgate.evals.postprocess import DEFAULT_STEPS, Pipeline
from bedrockgate.evals.progress import NullProgress, PlainProgress, RichProgress, make_progress
from bedrockgate.evals.prompting import PromptTemplate
from bedrockgate.evals.retry import RetryPolicy, parse_retry_after
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console


@pytest.mark.parametrize(
    ("raw", "steps", "expected"),
    [
        ("  Denver Broncos \n", ("trim",), "Denver Broncos"),
        ("Denver Broncos\n\nThe passage says so.", DEFAULT_STEPS, "Denver Broncos"),
        ("\n\n  \nDenver\nBroncos", ("first-line",), "Denver"),
        ("The answer is: Denver", DEFAULT_STEPS, "Denver"),
        ("Final answer: 1966", DEFAULT_STEPS, "1966"),
        ("A: Paris", DEFAULT_STEPS, "Paris"),
        ("answer key", DEFAULT_STEPS, "answer key"),  # "answer" is a lead-in only before "is" or ":"
        ("The answer is", DEFAULT_STEPS, "The answer is"),  # nothing would remain: left alone
        ("“Denver Broncos”", DEFAULT_STEPS, "Denver Broncos"),
        ("'quoted'", DEFAULT_STEPS, "quoted"),
        ("“unbalanced", DEFAULT_STEPS, "“unbalanced"),
        ("Paris.", ("trailing-period",), "Paris"),
        ("Wait...", ("trailing-period",), "Wait..."),
        ("  as is  ", (), "  as is  "),
    ],
)
def test_post_processing_steps(raw: str, steps: tuple[str, ...], expected: str) -> None:
    assert Pipeline(steps).apply(raw).text == expected


def test_post_processing_is_parsed_and_checked() -> None:
    assert Pipeline.parse("none").steps == () == Pipeline.parse("").steps
    assert Pipeline.parse(" trim , first-line ").steps == ("trim", "first-line")
    with pytest.raises(ConfigError, match="unknown step"):
        Pipeline.parse("trim,uppercase")


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_post_processing_never_raises_and_is_idempotent_for_the_defaults(text: str) -> None:
    once = Pipeline().apply(text).text
    assert Pipeline(("trim", "first-line")).apply(once).text == once


def test_prompts_show_passage_and_question_and_reject_bad_templates() -> None:
    question = Question("1", "t", "Paris is in France.", "Where is Paris?", ("France",), (12,), 0)
    messages = PromptTemplate().messages(question)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "Paris is in France." in messages[1]["content"]
    assert "Where is Paris?" in messages[1]["content"]
    assert (
        PromptTemplate(user="{{literal}} {question}").messages(question)[-1]["content"] == "{literal} Where is Paris?"
    )
    for template, message in [
        ("{question} {answer}", "unknown placeholder"),
        ("{context}", "never shows the question"),
        ("{question", "literal braces"),
    ]:
        with pytest.raises(ConfigError, match=message):
            PromptTemplate(user=template)
    assert PromptTemplate().digest != PromptTemplate(system="").digest


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.one_of(st.none(), st.floats(0, 1000)), st.integers(0, 2**32))
def test_backoff_is_jittered_capped_and_honours_retry_after(retry: int, retry_after: float | None, seed: int) -> None:
    policy = RetryPolicy(retries=5, backoff_s=0.5, max_backoff_s=8.0)
    wait = policy.delay(retry, retry_after, random.Random(seed))  # noqa: S311  (repeatable jitter)
    assert 0.0 <= wait <= 8.0
    assert wait <= max(min(0.5 * 2 ** (retry - 1), 8.0), min(retry_after or 0.0, 8.0))
    if retry_after is not None:
        assert wait >= min(retry_after, 8.0)


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:07 GMT", now) == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("-5", now) == 0.0
    assert parse_retry_after("nan", now) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    with pytest.raises(ConfigError):
        RetryPolicy(retries=-1)


def test_percentiles_interpolate_like_numpy() -> None:
    values = sorted([120.0, 80.0, 100.0, 300.0, 90.0])
    assert [percentile(values, q) for q in (0, 25, 50, 90, 95, 99, 100)] == pytest.approx(
        [80, 90, 100, 228, 264, 292.8, 300]
    )
    summary = LatencySummary.of([5.0])
    assert (summary.p50, summary.p99, summary.mean, summary.count) == (5.0, 5.0, 5.0, 1)
    assert LatencySummary.of([]).p95 is None


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What is it?", "what"),
        ("In which year?", "which"),
        ("Whose book?", "who"),
        ("To whom?", "who"),
        ("How many goals?", "how many"),
        ("How much did it cost?", "how much"),
        ("How did it end?", "how"),
        ("Where was it?", "where"),
        ("Why?", "why"),
        ("When?", "when"),
        ("Name the winner.", "other"),
        ("The team that won was who?", "who"),
    ],
)
def test_question_types(question: str, kind: str) -> None:
    assert question_type(question) == kind


def _aggregate(**changes: object) -> Aggregate:
    values: dict[str, object] = {
        "total": 10,
        "answered": 9,
        "exact_match": 70.0,
        "f1": 80.0,
        "raw_exact_match": 60.0,
        "raw_f1": 75.0,
        "similarity": None,
        "similarity_measured": 0,
        "similarity_errors": 0,
        "latency": LatencySummary.of([100.0, 200.0, 300.0]),
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "total_tokens": 2,
        "chat_cost_usd": 0.5,
        "embedding_cost_usd": 0.0,
        "cost_reported": 9,
        "cost_expected": 9,
        "errors_by_kind": {"http_500": 1},
        "attempts": 12,
        "retried": 2,
        "postprocess_changed": {},
        "served_by": {},
    }
    values.update(changes)
    return Aggregate(**values)  # type: ignore[arg-type]


def test_gates_say_which_failed_and_by_how_much() -> None:
    results = {
        g.option: g
        for g in check_gates(_aggregate(), {"min-em": 75, "min-f1": 80, "max-error-rate": 0.05, "max-p95-ms": 250})
    }
    assert results["min-em"].message == "--min-em 75.00: FAILED, exact match 70.00 (short by 5.00)"
    assert results["min-f1"].passed  # equal to the threshold passes
    assert results["max-error-rate"].message == "--max-error-rate 5.00%: FAILED, error rate 10.00% (over by 5.00%)"
    assert results["max-p95-ms"].message == "--max-p95-ms 250 ms: FAILED, p95 latency 290 ms (over by 40 ms)"


def test_gates_fail_closed_on_unknown_values() -> None:
    unknown = check_gates(
        _aggregate(latency=LatencySummary.of([]), cost_reported=0),
        {"max-p95-ms": 1000, "max-cost-usd": 10, "min-similarity": 0.5},
    )
    assert [g.passed for g in unknown] == [False, False, False]
    partial = check_gates(_aggregate(cost_reported=5), {"max-cost-usd": 10})
    assert not partial[0].passed
    assert "reported for only 5 of 9 calls" in partial[0].message
    with pytest.raises(ConfigError, match="0-100 scale"):
        validate_thresholds({"min-f1": 101})
    with pytest.raises(ConfigError, match="0 or more"):
        validate_thresholds({"max-cost-usd": -1})


def test_plain_progress_prints_a_line_per_tenth() -> None:
    stream = io.StringIO()
    progress = PlainProgress(stream)
    progress.start(total=20, done=5)
    for _ in range(15):
        progress.advance(exact_match=50.0, f1=60.0, errors=1)
    progress.stop()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "asking 15 of 20 questions (5 already answered, resuming)"
    assert lines[-1] == "20/20 answered  EM 50.0  F1 60.0  errors 1"
    assert 5 <= len(lines) <= 10


def test_rich_progress_draws_running_scores() -> None:
    stream = io.StringIO()
    progress = RichProgress(Console(file=stream, force_terminal=True, width=120))
    progress.start(total=2, done=0)
    progress.advance(exact_match=100.0, f1=100.0, errors=0)
    progress.advance(exact_match=50.0, f1=75.0, errors=1)
    progress.stop()
    assert "2/2" in stream.getvalue()
    assert "EM  50.0  F1  75.0  errors 1" in stream.getvalue()
    assert isinstance(make_progress("auto", io.StringIO()), PlainProgress)  # not a terminal
    assert isinstance(make_progress("none"), NullProgress)
