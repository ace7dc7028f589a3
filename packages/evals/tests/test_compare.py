"""``bedrockgate-evals compare``: a paired test that blocks a regression (exit 1) and lets an equal run pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from bedrockgate.evals.dataset import Question, SquadDataset
from bedrockgate.evals.sampling import select
from bedrockgate.evals.testing import FakeOpenAI, run_cli


def answers(questions: list[Question], wrong_every: int) -> dict[str, str]:
    return {q.question: "no idea" if i % wrong_every == 0 else q.answers[0] for i, q in enumerate(questions)}


@pytest.fixture(scope="module")
def questions(sample: SquadDataset) -> list[Question]:
    return select(sample.questions, samples=150, seed=3)


def make_run(openai_server: Callable[..., FakeOpenAI], directory: Path, server_answers: dict[str, str]) -> str:
    fake = openai_server(answers=server_answers)
    argv = [
        "run",
        "--endpoint",
        fake.url,
        "--model",
        "test-model",
        "--dataset",
        "sample",
        "--samples",
        "150",
        "--seed",
        "3",
        "--out",
        str(directory),
        "--progress",
        "none",
        "--no-phoenix",
    ]
    assert run_cli(*argv)[0] == 0
    return str(directory / "results.json")


def test_a_significant_drop_is_a_regression_and_exits_1(
    openai_server: Callable[..., FakeOpenAI], questions: list[Question], tmp_path: Path
) -> None:
    good = make_run(openai_server, tmp_path / "a", answers(questions, wrong_every=6))  # wrong: a subset of B's
    worse = make_run(openai_server, tmp_path / "b", answers(questions, wrong_every=3))
    code, stdout, _ = run_cli("compare", good, worse)
    assert code == 1
    assert "verdict: regression (alpha 0.05, tolerance 0 F1 points)" in stdout
    assert "150 questions paired" in stdout
    assert "Wilcoxon signed-rank test on F1: p = " in stdout
    code, stdout, _ = run_cli("compare", worse, good, "--format", "json")
    assert code == 0
    report = json.loads(stdout)
    assert report["verdict"] == "improvement"
    assert report["wilcoxon"]["p_value"] < 0.05
    assert report["wilcoxon"]["method"] == "exact"
    assert report["f1_difference"]["mean"] > 0
    assert report["f1_difference"]["regressed"] == 0
    assert report["mcnemar_exact_match"]["only_a_correct"] == 0
    code, stdout, _ = run_cli("compare", good, worse, "--tolerance", "50")
    assert code == 0
    assert "verdict: drop within tolerance" in stdout
    code, stdout, _ = run_cli("compare", good, worse, "--format", "markdown")
    assert stdout.startswith("## Evaluation comparison: regression")
    assert "| F1 |" in stdout


def test_the_same_quality_is_no_regression(
    openai_server: Callable[..., FakeOpenAI], questions: list[Question], tmp_path: Path
) -> None:
    first = make_run(openai_server, tmp_path / "a", answers(questions, wrong_every=4))
    second = make_run(openai_server, tmp_path / "b", answers(questions, wrong_every=4))
    code, stdout, _ = run_cli("compare", first, second)
    assert code == 0
    assert "p = 1 (none, 0 non-zero differences)" in stdout
    assert "verdict: no significant difference" in stdout


def test_a_small_drop_on_few_questions_is_not_significant(
    openai_server: Callable[..., FakeOpenAI], questions: list[Question], tmp_path: Path
) -> None:
    base = answers(questions, wrong_every=5)
    slightly = dict(base)
    for question in questions[1:4]:  # three more wrong answers out of 150
        slightly[question.question] = "no idea"
    code, stdout, _ = run_cli(
        "compare", make_run(openai_server, tmp_path / "a", base), make_run(openai_server, tmp_path / "b", slightly)
    )
    assert code == 0
    assert "verdict: no significant difference" in stdout


def test_unusable_results_exit_2(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"schema": "something else"}', encoding="utf-8")
    code, stdout, stderr = run_cli("compare", str(tmp_path / "x.json"), str(tmp_path / "x.json"))
    assert code == 2
    assert stdout == ""
    assert "not a results.json written by bedrockgate-evals run" in stderr
    code, _, stderr = run_cli("compare", str(tmp_path / "missing.json"), str(tmp_path / "x.json"))
    assert code == 2
    assert "cannot read the file" in stderr
