"""``results.json``: the typed record of a run, and the one module that writes and reads it.

The file holds what a reader needs to trust and reproduce the numbers: the configuration (never
the API key), the dataset with its revision or file hash, the sampling seed, the versions of
everything that scored it, the aggregates, the gate verdicts, the Phoenix upload, and every
question's answer and scores. The reports, ``compare``, ``gate`` and the Phoenix upload take a
:class:`Results`, never the raw JSON, so each field is named in one place.

Each flat block is a frozen dataclass whose fields are the block's keys in file order: the writer
and the strict reader both follow the fields (the reader by their types), so a field added to a
record is written and checked without a second list to keep in step. :meth:`Results.from_json`
rejects a field that is missing, of another type, out of range, unknown, or at odds with the fields
it is derived from, with a :class:`ResultsError` naming its path (``examples[3].f1: expected a
number from 0 to 1, got 'x'``); :func:`load_results` adds the file. Writing what was read gives
the same record back (``Results.from_json(r.to_json()) == r``), and a file this package wrote is
rewritten byte for byte.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrockgate.evals._json_fields import FieldReader, Fields, names, read_flat
from bedrockgate.evals.client import Failure
from bedrockgate.evals.dataset import DatasetInfo
from bedrockgate.evals.exceptions import ResultsError
from bedrockgate.evals.gates import GateResult
from bedrockgate.evals.metrics import Aggregate, LatencySummary, TypeScore

__all__ = [
    "SCHEMA",
    "ConfigRecord",
    "DatasetRecord",
    "ExampleRecord",
    "GatesRecord",
    "PhoenixFailure",
    "PhoenixRecord",
    "PhoenixUpload",
    "Results",
    "RunRecord",
    "load_results",
    "read_phoenix_record",
]

SCHEMA = "bedrockgate-evals/results/v1"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """When the run was made and how much of it was asked now (the ``run`` block)."""

    started_at: str
    finished_at: str
    wall_s: float
    asked: int
    reused: int
    """Questions whose answers came from the checkpoint of an earlier, interrupted run."""
    preflight_ms: float | None

    def to_json(self) -> dict[str, Any]:
        """The ``run`` block."""
        return _flat_json(self)


@dataclass(frozen=True, slots=True)
class ConfigRecord:
    """The options the run was made with (the ``config`` block); the key itself is never recorded."""

    endpoint: str
    model: str
    embedding_model: str | None
    api_key_env: str
    api_key_set: bool
    concurrency: int
    timeout_s: float
    retries: int
    backoff_s: float
    max_backoff_s: float
    max_tokens: int
    temperature: float
    system_prompt: str
    user_template: str
    prompt_digest: str
    postprocess: tuple[str, ...]
    dataset: str
    """``--dataset`` as given (``auto``, ``sample``, a file); where the questions came from is ``dataset.source``."""
    samples: int | None
    """``None`` for ``--samples all``."""
    offset: int
    seed: int
    gates: Mapping[str, float]
    """The thresholds set, by option (``min-f1``)."""

    def to_json(self) -> dict[str, Any]:
        """The ``config`` block."""
        return _flat_json(self)


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    """Where the questions came from, and how many were chosen (the ``dataset`` block)."""

    info: DatasetInfo
    questions_in_source: int
    selected: int

    def to_json(self) -> dict[str, Any]:
        """The ``dataset`` block."""
        return {**_flat_json(self.info), "questions_in_source": self.questions_in_source, "selected": self.selected}


@dataclass(frozen=True, slots=True)
class GatesRecord:
    """The ``--min-*``/``--max-*`` verdicts, in the order of :data:`~bedrockgate.evals.gates.GATES`."""

    results: tuple[GateResult, ...]

    @property
    def passed(self) -> bool:
        """Every gate passed (true when none was set)."""
        return all(gate.passed for gate in self.results)


@dataclass(frozen=True, slots=True)
class ExampleRecord:
    """One question as ``results.json`` keeps it: the question, both answers, scores, timings, cost, error."""

    id: str
    title: str
    question: str
    question_type: str
    answers: tuple[str, ...]
    raw_answer: str | None
    prediction: str | None
    """The post-processed answer that was scored; ``None`` when the question got no answer."""
    postprocess_changed: tuple[str, ...]
    exact_match: int
    """0 or 1, the official per-question scale (so is ``raw_exact_match``)."""
    f1: float
    """0 to 1 (so is ``raw_f1``)."""
    raw_exact_match: int
    raw_f1: float
    reference: str | None
    similarity: float | None
    similarity_error: str | None
    latency_ms: float | None
    elapsed_ms: float | None
    attempts: int
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    cost_usd: float | None
    finish_reason: str | None
    response_model: str | None
    started_at: str | None
    finished_at: str | None
    error: Failure | None
    """Why the question has no answer (``not_asked`` when the run never got to it)."""

    def to_json(self) -> dict[str, Any]:
        """The question's entry in ``examples``."""
        return _flat_json(self)


@dataclass(frozen=True, slots=True)
class PhoenixUpload:
    """Where a run landed in Phoenix."""

    base_url: str
    dataset_id: str
    dataset_name: str
    experiment_id: str
    runs: int
    evaluations: int


@dataclass(frozen=True, slots=True)
class PhoenixRecord:
    """A finished upload: the ``phoenix`` block, and ``OUT/phoenix.json``, which stops a second upload."""

    upload: PhoenixUpload
    digest: str
    """Of the config and examples uploaded: the same results are not uploaded twice."""

    def to_json(self) -> dict[str, Any]:
        """The upload's fields, then the digest."""
        return {**_flat_json(self.upload), "digest": self.digest}


@dataclass(frozen=True, slots=True)
class PhoenixFailure:
    """An upload that failed: a warning, never a change of the exit code."""

    base_url: str
    error: str

    def to_json(self) -> dict[str, Any]:
        """The ``phoenix`` block."""
        return _flat_json(self)


@dataclass(frozen=True, slots=True)
class Results:
    """A whole ``results.json``."""

    run: RunRecord
    config: ConfigRecord
    dataset: DatasetRecord
    metrics: Aggregate
    gates: GatesRecord
    versions: Mapping[str, str]
    phoenix: PhoenixRecord | PhoenixFailure | None
    examples: tuple[ExampleRecord, ...]

    def examples_by_id(self) -> dict[str, ExampleRecord]:
        """The examples keyed by question id (unique in a valid file)."""
        return {example.id: example for example in self.examples}

    def to_json(self) -> dict[str, Any]:
        """The document, its keys in file order."""
        return {
            "schema": SCHEMA,
            "run": self.run.to_json(),
            "config": self.config.to_json(),
            "dataset": self.dataset.to_json(),
            "metrics": _metrics_json(self.metrics),
            "gates": {"passed": self.gates.passed, "results": [_gate_json(gate) for gate in self.gates.results]},
            "versions": dict(self.versions),
            "phoenix": None if self.phoenix is None else self.phoenix.to_json(),
            "examples": [example.to_json() for example in self.examples],
        }

    def dumps(self) -> str:
        """The text of ``results.json``."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, document: Any) -> Results:
        """Check and type a parsed ``results.json``; a :class:`ResultsError` names the first bad field's path."""
        if not isinstance(document, dict) or document.get("schema") != SCHEMA:
            raise ResultsError(f"not a results.json written by bedrockgate-evals run (schema {SCHEMA!r} expected)")
        top = Fields(document, "", ("schema", *(field.name for field in dataclasses.fields(cls))))
        dataset = top.object("dataset", (*names(DatasetInfo), "questions_in_source", "selected"))
        phoenix = top.raw("phoenix")
        return cls(
            run=read_flat(RunRecord, top.object("run", names(RunRecord))),
            config=read_flat(ConfigRecord, top.object("config", names(ConfigRecord)), _CONFIG_READERS),
            dataset=DatasetRecord(
                read_flat(DatasetInfo, dataset), dataset.integer("questions_in_source"), dataset.integer("selected")
            ),
            metrics=_read_metrics(top.object("metrics", _METRICS)),
            gates=GatesRecord(_read_gates(top.object("gates", ("passed", "results")))),
            versions=top.strings_by_name("versions"),
            phoenix=None if phoenix is None else read_phoenix_record(phoenix, "phoenix"),
            examples=_read_examples(top),
        )


def load_results(path: Path) -> Results:
    """Read a ``results.json``; a :class:`ResultsError` names the file (and the field at fault)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ResultsError(f"{path}: cannot read the file ({error.strerror or error})") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"{path}: not a JSON file ({error})") from error
    try:
        return Results.from_json(document)
    except ResultsError as error:
        raise ResultsError(f"{path}: {error}") from None


def read_phoenix_record(value: Any, where: str) -> PhoenixRecord | PhoenixFailure:
    """The ``phoenix`` block (or ``OUT/phoenix.json``): a finished upload, or the failure a run reported."""
    if isinstance(value, dict) and "error" in value:
        return read_flat(PhoenixFailure, Fields(value, where, names(PhoenixFailure)))
    fields = Fields(value, where, (*names(PhoenixUpload), "digest"))
    return PhoenixRecord(read_flat(PhoenixUpload, fields), fields.string("digest"))


# --- writing ---------------------------------------------------------------------------------------


def _flat_json(record: Any) -> dict[str, Any]:
    """A flat record's block: its fields in order; tuples as lists, mappings as objects, a failure as its fields."""
    return {field.name: _json_value(getattr(record, field.name)) for field in dataclasses.fields(record)}


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Failure):
        return _flat_json(value)
    return value


def _metrics_json(metrics: Aggregate) -> dict[str, Any]:
    """The ``metrics`` block: the aggregate, with the figures derived from it (error rate, cost total)."""
    reported = metrics.cost_reported > 0
    return {
        "total": metrics.total,
        "answered": metrics.answered,
        "exact_match": metrics.exact_match,
        "f1": metrics.f1,
        "raw_exact_match": metrics.raw_exact_match,
        "raw_f1": metrics.raw_f1,
        "similarity": metrics.similarity,
        "similarity_measured": metrics.similarity_measured,
        "similarity_errors": metrics.similarity_errors,
        "latency_ms": _flat_json(metrics.latency),
        "tokens": {
            "prompt": metrics.prompt_tokens,
            "completion": metrics.completion_tokens,
            "total": metrics.total_tokens,
        },
        "cost_usd": {
            "total": metrics.cost_usd,
            "chat": metrics.chat_cost_usd if reported else None,
            "embeddings": metrics.embedding_cost_usd if reported else None,
            "reported": metrics.cost_reported,
            "expected": metrics.cost_expected,
        },
        "errors": {"count": metrics.errors, "rate": metrics.error_rate, "by_kind": dict(metrics.errors_by_kind)},
        "attempts": metrics.attempts,
        "retried_questions": metrics.retried,
        "postprocess_changed": dict(metrics.postprocess_changed),
        "served_by": dict(metrics.served_by),
        "by_question_type": [_flat_json(score) for score in metrics.by_type],
    }


def _gate_json(gate: GateResult) -> dict[str, Any]:
    return {"gate": gate.option, **{key: value for key, value in _flat_json(gate).items() if key != "option"}}


# --- reading ---------------------------------------------------------------------------------------

_METRICS = (
    "total", "answered", "exact_match", "f1", "raw_exact_match", "raw_f1", "similarity", "similarity_measured",
    "similarity_errors", "latency_ms", "tokens", "cost_usd", "errors", "attempts", "retried_questions",
    "postprocess_changed", "served_by", "by_question_type",
)  # fmt: skip


def _read_failure(fields: Fields, key: str) -> Failure | None:
    if fields.raw(key) is None:
        return None
    return read_flat(Failure, fields.object(key, names(Failure)))


_CONFIG_READERS: dict[str, FieldReader] = {
    "concurrency": lambda fields, key: fields.integer(key, minimum=1),
    "max_tokens": lambda fields, key: fields.integer(key, minimum=1),
    "samples": lambda fields, key: fields.optional_integer(key, minimum=1),
    "seed": lambda fields, key: fields.integer(key, minimum=None),
    "gates": Fields.numbers_by_name,
}
_EXAMPLE_READERS: dict[str, FieldReader] = {
    "exact_match": Fields.zero_or_one,
    "raw_exact_match": Fields.zero_or_one,
    "f1": Fields.fraction,
    "raw_f1": Fields.fraction,
    "error": _read_failure,
}


def _read_metrics(fields: Fields) -> Aggregate:
    total = fields.integer("total")
    tokens = fields.object("tokens", ("prompt", "completion", "total"))
    cost = fields.object("cost_usd", ("total", "chat", "embeddings", "reported", "expected"))
    errors = fields.object("errors", ("count", "rate", "by_kind"))
    metrics = Aggregate(
        total=total,
        answered=fields.integer("answered", maximum=total),
        exact_match=fields.number("exact_match"),
        f1=fields.number("f1"),
        raw_exact_match=fields.number("raw_exact_match"),
        raw_f1=fields.number("raw_f1"),
        similarity=fields.optional_number("similarity"),
        similarity_measured=fields.integer("similarity_measured"),
        similarity_errors=fields.integer("similarity_errors"),
        latency=read_flat(LatencySummary, fields.object("latency_ms", names(LatencySummary))),
        prompt_tokens=tokens.integer("prompt"),
        completion_tokens=tokens.integer("completion"),
        total_tokens=tokens.integer("total"),
        chat_cost_usd=cost.optional_number("chat") or 0.0,
        embedding_cost_usd=cost.optional_number("embeddings") or 0.0,
        cost_reported=cost.integer("reported"),
        cost_expected=cost.integer("expected"),
        errors_by_kind=errors.counts("by_kind"),
        attempts=fields.integer("attempts"),
        retried=fields.integer("retried_questions"),
        postprocess_changed=fields.counts("postprocess_changed"),
        served_by=fields.counts("served_by"),
        by_type=tuple(read_flat(TypeScore, item) for item in fields.items("by_question_type", names(TypeScore))),
    )
    reported = metrics.cost_reported > 0
    for key in ("chat", "embeddings"):  # null exactly when no call reported a cost
        if (cost.raw(key) is None) == reported:
            cost.fail(
                key, "expected a number (some call reported a cost)" if reported else "expected null", cost.raw(key)
            )
    cost.agrees("total", metrics.cost_usd)
    errors.agrees("count", metrics.errors)
    errors.agrees("rate", metrics.error_rate)
    return metrics


def _read_gates(fields: Fields) -> tuple[GateResult, ...]:
    gates = tuple(
        GateResult(
            option=item.string("gate"),
            threshold=item.number("threshold"),
            value=item.optional_number("value"),
            passed=item.boolean("passed"),
            message=item.string("message"),
        )
        for item in fields.items("results", ("gate", *names(GateResult)[1:]))
    )
    fields.agrees("passed", all(gate.passed for gate in gates))
    return gates


def _read_examples(top: Fields) -> tuple[ExampleRecord, ...]:
    examples = []
    seen: set[str] = set()
    for item in top.items("examples", names(ExampleRecord)):
        example = read_flat(ExampleRecord, item, _EXAMPLE_READERS)
        if example.id in seen:
            item.fail("id", "expected an id not used before (ids are unique)", example.id)
        seen.add(example.id)
        examples.append(example)
    return tuple(examples)
