"""The optional Phoenix upload: the calls made, the real client's API, failures that leave the gate alone.

A real Phoenix takes ~30 s to start and ~600 MB to install, too much for every test run, so the
default tests stop at the client: a recording stand-in checks what is uploaded, and the real
``phoenix.client.Client`` is checked to accept every call as made. Set
``BEDROCKGATE_EVALS_PHOENIX_URL`` to a running Phoenix (``phoenix serve``) to run the end-to-end test.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from bedrockgate.evals.cli import main
from bedrockgate.evals.client import Failure
from bedrockgate.evals.dataset import Question
from bedrockgate.evals.phoenix import dataset_name, upload_run
from bedrockgate.evals.results import ExampleRecord
from bedrockgate.evals.testing import CHAT_MODEL, EMBEDDING_MODEL, FakeOpenAI, answers_for, example
from phoenix.client import Client

CALLS = {
    "datasets": {
        "get_dataset": {"dataset"},
        "create_dataset": {"name", "inputs", "outputs", "metadata", "dataset_description"},
    },
    "experiments": {
        "create": {
            "dataset_id",
            "dataset_version_id",
            "experiment_name",
            "experiment_description",
            "experiment_metadata",
        },
        "log_run": {"experiment_id", "dataset_example_id", "output", "start_time", "end_time", "error"},
        "log_evaluation": {"experiment_run_id", "name", "score", "annotator_kind"},
    },
}


def test_the_real_client_accepts_every_call_as_made() -> None:

    client = Client(base_url="http://127.0.0.1:9")  # nothing is sent until a call
    for resource, methods in CALLS.items():
        for method, keywords in methods.items():
            parameters = inspect.signature(getattr(getattr(client, resource), method)).parameters
            assert keywords <= set(parameters), f"{resource}.{method} lacks {keywords - set(parameters)}"


@dataclass
class _Dataset:
    id: str
    version_id: str
    examples: list[dict[str, Any]]


@dataclass
class RecordingPhoenix:
    """Stands in for phoenix.client.Client: stores datasets, records runs and evaluations."""

    datasets_by_name: dict[str, _Dataset] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    experiments_made: list[Mapping[str, Any]] = field(default_factory=list)
    runs: list[Mapping[str, Any]] = field(default_factory=list)
    evaluations: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def datasets(self) -> RecordingPhoenix:
        return self

    @property
    def experiments(self) -> RecordingPhoenix:
        return self

    def get_dataset(self, *, dataset: str) -> _Dataset:
        if dataset not in self.datasets_by_name:
            raise ValueError(f"Dataset not found: {dataset}")
        return self.datasets_by_name[dataset]

    def create_dataset(
        self,
        *,
        name: str,
        inputs: Sequence[Mapping[str, Any]],
        outputs: Sequence[Mapping[str, Any]],
        metadata: Sequence[Mapping[str, Any]],
        dataset_description: str | None,
    ) -> _Dataset:
        examples = [
            {"id": f"ex{i}", "input": i_, "output": o, "metadata": m}
            for i, (i_, o, m) in enumerate(zip(inputs, outputs, metadata, strict=True))
        ]
        self.created.append(name)
        self.datasets_by_name[name] = _Dataset(f"ds{len(self.created)}", "v1", examples)
        return self.datasets_by_name[name]

    def create(self, **kwargs: Any) -> dict[str, Any]:
        self.experiments_made.append(kwargs)
        return {"id": f"exp{len(self.experiments_made)}"}

    def log_run(self, **kwargs: Any) -> dict[str, Any]:
        self.runs.append(kwargs)
        return {"id": f"run{len(self.runs)}"}

    def log_evaluation(self, **kwargs: Any) -> dict[str, Any]:
        self.evaluations.append(kwargs)
        return {"id": f"eval{len(self.evaluations)}"}


def _examples(questions: list[Question]) -> list[ExampleRecord]:
    examples = []
    for index, question in enumerate(questions):
        failed = index == 0
        examples.append(
            example(
                question.id,
                prediction=None if failed else question.answers[0],
                raw_answer=None if failed else question.answers[0],
                exact_match=0 if failed else 1,
                f1=0.0 if failed else 1.0,
                similarity=None if index < 2 else 0.9,
                started_at="2026-01-01T00:00:00.000+00:00",
                finished_at="2026-01-01T00:00:01.500+00:00",
                error=Failure("http_500", "HTTP 500: boom", 500) if failed else None,
            )
        )
    return examples


def test_the_sample_becomes_a_dataset_once_and_each_run_an_experiment(small_sample: list[Question]) -> None:
    questions = small_sample[:5]
    phoenix = RecordingPhoenix()
    upload = upload_run(
        phoenix,
        base_url="http://phoenix",
        questions=questions,
        examples=_examples(questions),
        experiment_name="m 2026",
        metadata={"model": "m"},
    )
    assert phoenix.created == [dataset_name(questions)] == [upload.dataset_name]
    [made] = phoenix.experiments_made
    assert made["dataset_id"] == "ds1"
    assert made["experiment_name"] == "m 2026"
    assert [run["dataset_example_id"] for run in phoenix.runs] == [f"ex{i}" for i in range(5)]
    assert phoenix.runs[0]["error"] == "http_500: HTTP 500: boom"
    assert phoenix.runs[1]["output"] == {"answer": questions[1].answers[0], "raw_answer": questions[1].answers[0]}
    assert (phoenix.runs[1]["end_time"] - phoenix.runs[1]["start_time"]).total_seconds() == 1.5
    names = [(e["experiment_run_id"], e["name"], e["annotator_kind"]) for e in phoenix.evaluations]
    assert ("run1", "exact_match", "CODE") in names
    assert ("run3", "similarity", "CODE") in names
    assert not any(run == "run1" and name == "similarity" for run, name, _ in names)  # not measured: not sent
    assert (upload.runs, upload.evaluations) == (5, 2 + 2 + 3 * 3)
    upload_run(
        phoenix,
        base_url="http://phoenix",
        questions=questions,
        examples=_examples(questions),
        experiment_name="again",
        metadata={},
    )
    assert len(phoenix.created) == 1
    assert len(phoenix.experiments_made) == 2


def test_an_unreachable_phoenix_warns_and_leaves_the_exit_code_alone(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fake = openai_server(answers=answers_for(small_sample))
    out, err = io.StringIO(), io.StringIO()
    argv = [
        "run",
        "--endpoint",
        fake.url,
        "--model",
        CHAT_MODEL,
        "--dataset",
        "sample",
        "--samples",
        "5",
        "--seed",
        "7",
        "--out",
        str(tmp_path),
        "--progress",
        "none",
        "--phoenix-url",
        f"http://127.0.0.1:{port}",
        "--min-f1",
        "90",
    ]
    assert main(argv, stdout=out, stderr=err) == 0
    warning = f"bedrockgate-evals: warning: Phoenix upload to http://127.0.0.1:{port} failed: ConnectError"
    assert warning in err.getvalue()
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["phoenix"]["error"].startswith("Phoenix upload")


@pytest.mark.skipif(
    not os.environ.get("BEDROCKGATE_EVALS_PHOENIX_URL"), reason="set BEDROCKGATE_EVALS_PHOENIX_URL to a running Phoenix"
)
def test_a_run_is_recorded_in_a_real_phoenix(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:

    url = os.environ["BEDROCKGATE_EVALS_PHOENIX_URL"]
    fake = openai_server(answers=answers_for(small_sample, "The answer is {}."))
    argv = [
        "run",
        "--endpoint",
        fake.url,
        "--model",
        CHAT_MODEL,
        "--embedding-model",
        EMBEDDING_MODEL,
        "--dataset",
        "sample",
        "--samples",
        "12",
        "--seed",
        "11",
        "--out",
        str(tmp_path),
        "--progress",
        "none",
        "--phoenix-url",
        url,
    ]
    err = io.StringIO()
    assert main(argv, stdout=io.StringIO(), stderr=err) == 0, err.getvalue()
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    record = results["phoenix"]
    assert "error" not in record, record
    experiment = Client(base_url=url).experiments.get_experiment(experiment_id=record["experiment_id"])
    assert len(experiment["task_runs"]) == 12
    assert {e.name for e in experiment["evaluation_runs"]} == {"exact_match", "f1", "similarity"}
    assert main(argv, stdout=io.StringIO(), stderr=err) == 0
    assert "already experiment" in err.getvalue()  # the same results are not uploaded twice
