"""``bedrockgate-evals score`` prints what the official script prints, for any dataset and predictions."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from bedrockgate.evals.cli import main
from hypothesis import given, settings
from hypothesis import strategies as st

answer_texts = st.one_of(
    st.sampled_from(["Denver Broncos", "the Broncos", "1966", ".", "the", "Saint Bernadette Soubirous", "“x”", ""]),
    st.text(st.characters(codec="utf-8"), max_size=20),
)
ids = st.sampled_from([f"q{i}" for i in range(12)])


@st.composite
def squad_inputs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, str]]:
    articles = []
    question_ids = []
    for _ in range(draw(st.integers(1, 3))):
        paragraphs = []
        for _ in range(draw(st.integers(1, 3))):
            qas = []
            for _ in range(draw(st.integers(1, 4))):
                question_id = draw(ids)  # ids may repeat: the script counts each occurrence
                question_ids.append(question_id)
                answers = [
                    {"text": text, "answer_start": 0} for text in draw(st.lists(answer_texts, min_size=1, max_size=3))
                ]
                qas.append({"id": question_id, "question": draw(st.text(max_size=10)), "answers": answers})
            paragraphs.append({"context": draw(st.text(max_size=10)), "qas": qas})
        articles.append({"title": draw(st.text(max_size=5)), "paragraphs": paragraphs})
    answered = draw(st.lists(st.sampled_from(question_ids), unique=True))
    predictions = {question_id: draw(answer_texts) for question_id in answered}
    predictions |= draw(st.dictionaries(st.sampled_from(["extra1", "extra2"]), answer_texts, max_size=2))
    version = draw(st.sampled_from(["1.1", "1.1", "2.0"]))
    return {"version": version, "data": articles}, predictions


def score(dataset_path: Path, predictions_path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["score", "--dataset", str(dataset_path), "--predictions", str(predictions_path)], stdout=out, stderr=err
    )
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=150, deadline=None)
@given(squad_inputs(), st.booleans())
def test_score_prints_exactly_what_the_official_script_prints(
    official: ModuleType, inputs: tuple[dict[str, Any], dict[str, str]], gz: bool
) -> None:
    dataset, predictions = inputs
    with tempfile.TemporaryDirectory() as directory:
        dataset_path = Path(directory) / ("dev.json.gz" if gz else "dev.json")
        raw = json.dumps(dataset).encode()
        dataset_path.write_bytes(gzip.compress(raw) if gz else raw)
        predictions_path = Path(directory) / "predictions.json"
        predictions_path.write_text(json.dumps(predictions), encoding="utf-8")
        code, stdout, stderr = score(dataset_path, predictions_path)
    with contextlib.redirect_stderr(io.StringIO()):
        expected = json.dumps(official.evaluate(dataset["data"], predictions))
    assert code == 0
    assert stdout == expected + "\n"
    if dataset["version"] != "1.1":
        assert "Evaluation expects v-1.1, but got dataset with v-2.0" in stderr


def test_score_matches_the_official_script_run_as_a_program(tmp_path: Path, official_script: Path) -> None:
    dataset = {
        "version": "1.1",
        "data": [
            {
                "title": "Super_Bowl_50",
                "paragraphs": [
                    {
                        "context": "The Denver Broncos defeated the Carolina Panthers.",
                        "qas": [
                            {
                                "id": "a",
                                "question": "Who won?",
                                "answers": [{"text": "Denver Broncos", "answer_start": 4}],
                            },
                            {
                                "id": "b",
                                "question": "Who lost?",
                                "answers": [{"text": "Carolina Panthers", "answer_start": 33}],
                            },
                            {"id": "c", "question": "Who?", "answers": [{"text": "the Broncos", "answer_start": 11}]},
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "dev.json").write_text(json.dumps(dataset), encoding="utf-8")
    (tmp_path / "pred.json").write_text(json.dumps({"a": "The Denver Broncos!", "b": "Panthers"}), encoding="utf-8")
    official_run = subprocess.run(
        [
            sys.executable,
            str(official_script),
            str(tmp_path / "dev.json"),
            str(tmp_path / "pred.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    code, stdout, stderr = score(tmp_path / "dev.json", tmp_path / "pred.json")
    assert code == 0
    assert stdout == official_run.stdout
    assert "Unanswered question c will receive score 0." in official_run.stderr
    assert "1 unanswered questions received score 0 (first: c)" in stderr


@pytest.mark.parametrize(
    ("dataset", "predictions", "message"),
    [
        (None, {}, "cannot read the file"),
        ("{not json", {}, "not valid JSON"),
        ({"version": "1.1"}, {}, 'expected an object with a "data" list'),
        ({"version": "1.1", "data": []}, {}, "no questions to score"),
        (
            {"version": "1.1", "data": [{"paragraphs": [{"qas": [{"id": 7, "answers": []}]}]}]},
            {},
            ".id: expected a string",
        ),
        (
            {"version": "1.1", "data": [{"paragraphs": [{"qas": [{"id": "x", "answers": []}]}]}]},
            {"x": "a"},
            "non-empty list",
        ),
        (
            {"version": "1.1", "data": [{"paragraphs": [{"qas": [{"id": "x", "answers": [{"text": "a"}]}]}]}]},
            {"x": 3},
            "is int, not a string",
        ),
        (
            {"version": "1.1", "data": [{"paragraphs": [{"qas": [{"id": "x", "answers": [{"text": "a"}]}]}]}]},
            ["x"],
            "expected a JSON object",
        ),
    ],
)
def test_unusable_inputs_exit_2_with_one_line(tmp_path: Path, dataset: Any, predictions: Any, message: str) -> None:
    dataset_path = tmp_path / "dev.json"
    if dataset is not None:
        dataset_path.write_text(dataset if isinstance(dataset, str) else json.dumps(dataset), encoding="utf-8")
    (tmp_path / "pred.json").write_text(json.dumps(predictions), encoding="utf-8")
    code, stdout, stderr = score(dataset_path, tmp_path / "pred.json")
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("bedrockgate-evals: error: ")
    assert message in stderr
    assert stderr.count("\n") == 1


def test_unanswered_questions_whose_answers_the_script_never_reads_are_fine(
    tmp_path: Path, official: ModuleType
) -> None:
    # The script skips an unanswered question before it reads its answers; so does score.
    dataset = {
        "version": "1.1",
        "data": [{"paragraphs": [{"qas": [{"id": "x", "answers": "junk"}, {"id": "y", "answers": [{"text": "b"}]}]}]}],
    }
    (tmp_path / "dev.json").write_text(json.dumps(dataset), encoding="utf-8")
    (tmp_path / "pred.json").write_text(json.dumps({"y": "b"}), encoding="utf-8")
    code, stdout, _ = score(tmp_path / "dev.json", tmp_path / "pred.json")
    assert code == 0
    with contextlib.redirect_stderr(io.StringIO()):
        assert stdout == json.dumps(official.evaluate(dataset["data"], {"y": "b"})) + "\n"
