"""``results.json``: the machine-readable record of a run, and the reader ``compare`` uses.

It holds what a reader needs to trust and reproduce the numbers: the configuration (never the API
key), the model, the dataset with its revision or file hash, the sampling seed, the versions of
everything that scored it, the aggregates, the gate verdicts, and every question's answer and
scores. ``compare`` pairs two of these files by question id.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard

from bedrockgate.evals._examples import ExampleResult
from bedrockgate.evals.exceptions import ResultsError
from bedrockgate.evals.metrics import question_type

__all__ = ["SCHEMA", "example_json", "load_results", "versions", "write_atomically"]

SCHEMA = "bedrockgate-evals/results/v1"
_PACKAGES = ("bedrockgate-evals", "httpx", "rich", "datasets", "huggingface-hub", "arize-phoenix-client")


def versions() -> dict[str, str]:
    """Python, the platform, and the installed versions of the packages that produced the numbers."""
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def example_json(result: ExampleResult) -> dict[str, Any]:
    """One question's entry: the question, the answer before and after post-processing, scores and cost."""
    answer = result.answer
    error = answer.error if answer is not None else None
    similarity = result.similarity_record
    return {
        "id": result.question.id,
        "title": result.question.title,
        "question": result.question.question,
        "question_type": question_type(result.question.question),
        "answers": list(result.question.answers),
        "raw_answer": answer.raw_answer if answer is not None else None,
        "prediction": result.prediction,
        "postprocess_changed": list(result.changed_by),
        "exact_match": result.exact_match,
        "f1": result.f1,
        "raw_exact_match": result.raw_exact_match,
        "raw_f1": result.raw_f1,
        "reference": result.reference,
        "similarity": result.similarity,
        "similarity_error": similarity.error.message if similarity is not None and similarity.error else None,
        "latency_ms": answer.latency_ms if answer is not None else None,
        "elapsed_ms": answer.elapsed_ms if answer is not None else None,
        "attempts": answer.attempts if answer is not None else 0,
        "prompt_tokens": answer.prompt_tokens if answer is not None else None,
        "completion_tokens": answer.completion_tokens if answer is not None else None,
        "total_tokens": answer.total_tokens if answer is not None else None,
        "cost_usd": answer.cost_usd if answer is not None else None,
        "finish_reason": answer.finish_reason if answer is not None else None,
        "response_model": answer.response_model if answer is not None else None,
        "started_at": answer.started_at if answer is not None else None,
        "finished_at": answer.finished_at if answer is not None else None,
        "error": (
            {"kind": error.kind, "message": error.message, "status": error.status}
            if error is not None
            else ({"kind": "not_asked", "message": "never asked", "status": None} if answer is None else None)
        ),
    }


def write_atomically(path: Path, text: str) -> None:
    """Write a whole file or nothing: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_results(path: Path) -> dict[str, Any]:
    """A ``results.json`` this package wrote, with its examples checked enough for ``compare`` to trust."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ResultsError(f"{path}: cannot read the file ({error.strerror or error})") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"{path}: not a JSON file ({error})") from error
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise ResultsError(f"{path}: not a results.json written by gateway-evals run (schema {SCHEMA!r} expected)")
    examples = document.get("examples")
    if not isinstance(examples, list):
        raise ResultsError(f"{path}: examples: expected a list")
    seen: set[str] = set()
    for index, example in enumerate(examples):
        _check_example(path, index, example, seen)
    if not isinstance(document.get("metrics"), dict):
        raise ResultsError(f"{path}: metrics: expected an object")
    return document


def _check_example(path: Path, index: int, example: Any, seen: set[str]) -> None:
    where = f"{path}: examples[{index}]"
    if not isinstance(example, Mapping):
        raise ResultsError(f"{where}: expected an object")
    identifier = example.get("id")
    if not isinstance(identifier, str):
        raise ResultsError(f"{where}.id: expected a string")
    if identifier in seen:
        raise ResultsError(f"{where}.id: {identifier!r} appears twice")
    seen.add(identifier)
    for key, upper in (("f1", 1.0), ("exact_match", 1.0)):
        value = example.get(key)
        if not _number(value) or not 0.0 <= value <= upper:
            raise ResultsError(f"{where}.{key}: expected a number from 0 to 1, found {value!r}")
    similarity = example.get("similarity")
    if similarity is not None and not _number(similarity):
        raise ResultsError(f"{where}.similarity: expected a number or null")


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def examples_by_id(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The examples of a loaded results document, keyed by question id."""
    examples: Sequence[Mapping[str, Any]] = document["examples"]
    return {example["id"]: example for example in examples}
