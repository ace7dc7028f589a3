"""Optional: the sample as a Phoenix dataset, the run as a Phoenix experiment with EM, F1 and similarity.

This is how the reference design reviews evaluations in Arize Phoenix. It needs the
``arize-phoenix-client`` package (``pip install 'bedrockgate-evals[phoenix]'``) and a Phoenix URL
(``--phoenix-url``, or ``PHOENIX_COLLECTOR_ENDPOINT`` as the local stack sets it; a trailing
``/v1/traces`` is removed). ``PHOENIX_API_KEY`` is sent when set.

- The dataset is named after the sample's content hash, so the same questions are uploaded once and
  every run over them lands in the same dataset, where Phoenix compares experiments side by side.
- Each question becomes one experiment run (its post-processed answer, or its error, with the
  request's real start and end times) carrying three ``CODE`` evaluations: ``exact_match``, ``f1``
  and, when measured, ``similarity``.

An upload failure never changes the run's exit code: the gate is about the model, not the
telemetry. It is reported on stderr and in ``results.json``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol

from bedrockgate.evals.dataset import Question
from bedrockgate.evals.exceptions import PhoenixError
from bedrockgate.evals.results import ExampleRecord, PhoenixUpload

__all__ = ["PhoenixUpload", "dataset_name", "phoenix_base_url", "upload_run"]


class _Datasets(Protocol):
    def get_dataset(self, *, dataset: str) -> Any: ...

    def create_dataset(
        self,
        *,
        name: str,
        inputs: Sequence[Mapping[str, Any]],
        outputs: Sequence[Mapping[str, Any]],
        metadata: Sequence[Mapping[str, Any]],
        dataset_description: str | None,
    ) -> Any: ...


class _Experiments(Protocol):
    def create(
        self,
        *,
        dataset_id: str,
        dataset_version_id: str | None,
        experiment_name: str | None,
        experiment_description: str | None,
        experiment_metadata: Mapping[str, Any] | None,
    ) -> Any: ...

    def log_run(
        self,
        *,
        experiment_id: str,
        dataset_example_id: str,
        output: Any,
        start_time: datetime,
        end_time: datetime,
        error: str | None,
    ) -> Any: ...

    def log_evaluation(self, *, experiment_run_id: str, name: str, score: float | None, annotator_kind: str) -> Any: ...


class PhoenixClient(Protocol):
    """The parts of ``phoenix.client.Client`` this module uses."""

    @property
    def datasets(self) -> _Datasets:
        """Dataset operations."""
        ...

    @property
    def experiments(self) -> _Experiments:
        """Experiment operations."""
        ...


def phoenix_base_url(explicit: str | None, environ: Mapping[str, str]) -> str | None:
    """The Phoenix server URL from ``--phoenix-url`` or ``PHOENIX_COLLECTOR_ENDPOINT``; ``None`` when neither is set.

    >>> phoenix_base_url(None, {"PHOENIX_COLLECTOR_ENDPOINT": "http://phoenix:6006/v1/traces"})
    'http://phoenix:6006'
    """
    url = explicit or environ.get("PHOENIX_COLLECTOR_ENDPOINT")
    if not url:
        return None
    url = url.rstrip("/")
    return url.removesuffix("/v1/traces").rstrip("/")


def dataset_name(questions: Sequence[Question]) -> str:
    """``squad-v1.1-<n>q-<hash>``: one Phoenix dataset per distinct set of questions."""
    digest = hashlib.sha256(json.dumps([[q.id, q.digest] for q in questions]).encode()).hexdigest()[:12]
    return f"squad-v1.1-{len(questions)}q-{digest}"


def make_client(base_url: str, api_key: str | None) -> PhoenixClient:
    """A real ``phoenix.client.Client``, or a :class:`PhoenixError` saying how to install it."""
    try:
        from phoenix.client import Client  # noqa: PLC0415  (an optional extra: imported only when used)
    except ImportError as error:
        raise PhoenixError(
            "the Phoenix upload needs arize-phoenix-client: pip install 'bedrockgate-evals[phoenix]'"
        ) from error
    client: PhoenixClient = Client(base_url=base_url, api_key=api_key)
    return client


def upload_run(
    client: PhoenixClient,
    *,
    base_url: str,
    questions: Sequence[Question],
    examples: Sequence[ExampleRecord],
    experiment_name: str,
    metadata: Mapping[str, Any],
    threads: int = 8,
) -> PhoenixUpload:
    """Upload (or reuse) the dataset, then record the experiment; errors become a :class:`PhoenixError`."""
    name = dataset_name(questions)
    try:
        dataset = _dataset(client, name, questions)
        example_ids = {example["metadata"]["id"]: example["id"] for example in dataset.examples}
        experiment = client.experiments.create(
            dataset_id=dataset.id,
            dataset_version_id=dataset.version_id,
            experiment_name=experiment_name,
            experiment_description="bedrockgate-evals run",
            experiment_metadata=dict(metadata),
        )
        with ThreadPoolExecutor(max_workers=threads) as pool:
            counts = list(pool.map(lambda e: _record(client, experiment["id"], example_ids[e.id], e), examples))
    except PhoenixError:
        raise
    except Exception as error:  # the client's HTTP and validation errors, reported as one line
        raise PhoenixError(f"Phoenix upload to {base_url} failed: {type(error).__name__}: {error}") from error
    return PhoenixUpload(base_url, dataset.id, name, experiment["id"], len(counts), sum(counts))


def _dataset(client: PhoenixClient, name: str, questions: Sequence[Question]) -> Any:
    try:
        return client.datasets.get_dataset(dataset=name)
    except ValueError:  # "Dataset not found": the first run over these questions
        pass
    return client.datasets.create_dataset(
        name=name,
        inputs=[{"question": q.question, "context": q.context} for q in questions],
        outputs=[{"answers": list(q.answers)} for q in questions],
        metadata=[{"id": q.id, "title": q.title} for q in questions],
        dataset_description=(
            f"{len(questions)} SQuAD v1.1 questions uploaded by bedrockgate-evals. SQuAD v1.1 (Rajpurkar et al., "
            "2016), CC BY-SA 4.0."
        ),
    )


def _record(client: PhoenixClient, experiment_id: str, example_id: str, example: ExampleRecord) -> int:
    start = _time(example.started_at)
    end = _time(example.finished_at) or start
    error = example.error
    run = client.experiments.log_run(
        experiment_id=experiment_id,
        dataset_example_id=example_id,
        output={"answer": example.prediction, "raw_answer": example.raw_answer},
        start_time=start or datetime.now(UTC),
        end_time=end or datetime.now(UTC),
        error=f"{error.kind}: {error.message}" if error else None,
    )
    scores = {"exact_match": float(example.exact_match), "f1": example.f1}
    if example.similarity is not None:
        scores["similarity"] = example.similarity
    for evaluation, score in scores.items():
        client.experiments.log_evaluation(
            experiment_run_id=run["id"], name=evaluation, score=score, annotator_kind="CODE"
        )
    return len(scores)


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
