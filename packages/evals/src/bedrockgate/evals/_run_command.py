"""``bedrockgate-evals run``: check the options, ask the questions, score them, write the reports, apply the gates.

The steps, in order: the options are checked before anything is loaded or asked (:func:`_plan`);
the dataset is loaded and sampled; the runner asks what the checkpoint lacks; every question is
scored and the run aggregated; the gates are applied; the results (and, when asked, the Phoenix
upload) are written as ``results.json``, ``report.html``, ``summary.md``, and the official
script's ``predictions.json`` and ``dataset.json``; a summary goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from bedrockgate.evals._command import EXIT_FAILED, EXIT_OK, Input, told_as
from bedrockgate.evals._examples import ExampleResult, score_example
from bedrockgate.evals._report_html import render_html
from bedrockgate.evals._report_md import render_markdown
from bedrockgate.evals.checkpoint import Checkpoint
from bedrockgate.evals.client import Failure
from bedrockgate.evals.dataset import Question, squad_document
from bedrockgate.evals.exceptions import ConfigError, EvalsError, PhoenixError, RunInterruptedError
from bedrockgate.evals.gates import GATES, GateResult, check_gates, validate_thresholds
from bedrockgate.evals.metrics import Aggregate, aggregate, question_type
from bedrockgate.evals.phoenix import make_client, phoenix_base_url, upload_run
from bedrockgate.evals.postprocess import Pipeline
from bedrockgate.evals.progress import make_progress
from bedrockgate.evals.prompting import DEFAULT_USER_TEMPLATE, PromptTemplate
from bedrockgate.evals.results import (
    ConfigRecord,
    DatasetRecord,
    ExampleRecord,
    GatesRecord,
    PhoenixFailure,
    PhoenixRecord,
    Results,
    RunRecord,
    read_phoenix_record,
)
from bedrockgate.evals.retry import RetryPolicy
from bedrockgate.evals.runner import RunSettings, run_questions
from bedrockgate.evals.sampling import select
from bedrockgate.evals.sources import load_source

__all__ = ["DEFAULT_KEY_VARIABLE", "example_record", "run", "versions", "write_atomically"]

DEFAULT_KEY_VARIABLE = "OPENAI_API_KEY"
_PACKAGES = ("bedrockgate-evals", "httpx", "rich", "datasets", "huggingface-hub", "arize-phoenix-client")


@dataclass(frozen=True, slots=True)
class _Plan:
    """A run's options, checked, before anything is loaded or asked."""

    settings: RunSettings
    thresholds: dict[str, float]
    api_key_env: str
    phoenix_url: str | None
    out: Path


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    plan = _plan(args)
    with told_as(Input("--dataset", args.dataset)):
        dataset = load_source(args.dataset, revision=args.dataset_revision, split=args.split)
    if dataset.info.note:
        err.write(f"bedrockgate-evals: note: {dataset.info.note}\n")
    questions = select(dataset.questions, samples=args.samples, offset=args.offset, seed=args.seed)
    with told_as(Input("--out", args.out, str(plan.out / "checkpoint.jsonl"))):
        checkpoint = Checkpoint.open(plan.out / "checkpoint.jsonl", plan.settings.fingerprint(), fresh=args.fresh)
    started_at = _now()
    try:
        outcome = asyncio.run(run_questions(questions, plan.settings, checkpoint, make_progress(args.progress, err)))
    except KeyboardInterrupt:
        answered = sum(1 for q in questions if (r := checkpoint.answers.get(q.id)) is not None and r.error is None)
        raise RunInterruptedError(
            f"interrupted with {answered} of {len(questions)} questions answered (kept in {checkpoint.path}); "
            "run the same command again to resume"
        ) from None
    finally:
        checkpoint.close()
    results = [
        score_example(
            question,
            checkpoint.answers.get(question.id),
            plan.settings.postprocess,
            checkpoint.similarities.get(question.id),
            plan.settings.embedding_model,
        )
        for question in questions
    ]
    summary = aggregate(results, similarity_enabled=plan.settings.embedding_model is not None)
    gates = GatesRecord(tuple(check_gates(summary, plan.thresholds)))
    run = RunRecord(started_at, _now(), outcome.wall_s, outcome.asked, outcome.reused, outcome.preflight_ms)
    record = Results(
        run=run,
        config=_config(args, plan),
        dataset=DatasetRecord(dataset.info, questions_in_source=len(dataset.questions), selected=len(questions)),
        metrics=summary,
        gates=gates,
        versions=versions(),
        phoenix=None,
        examples=tuple(example_record(result) for result in results),
    )
    if plan.phoenix_url is not None:
        record = replace(record, phoenix=_phoenix(plan, questions, record, err))
    _write_outputs(plan.out, record, questions, results)
    _print_summary(out, summary, gates.results, plan.out)
    return EXIT_OK if gates.passed else EXIT_FAILED


def _plan(args: argparse.Namespace) -> _Plan:
    endpoint = urlsplit(args.endpoint)
    if endpoint.scheme not in {"http", "https"} or not endpoint.hostname:
        raise ConfigError(
            f"--endpoint {args.endpoint!r} is not an http(s) URL; give the OpenAI base URL, e.g. http://localhost:4000/v1"
        )
    key_variable = args.api_key_env or DEFAULT_KEY_VARIABLE
    api_key = os.environ.get(key_variable) or None
    if args.api_key_env and api_key is None:
        raise ConfigError(f"--api-key-env {args.api_key_env}: that environment variable is not set (or empty)")
    user_template = DEFAULT_USER_TEMPLATE
    if args.prompt_template:
        try:
            user_template = Path(args.prompt_template).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(
                f"--prompt-template {args.prompt_template}: cannot read it ({error.strerror or error})"
            ) from error
    thresholds = {option: value for option in GATES if (value := getattr(args, option.replace("-", "_"))) is not None}
    validate_thresholds(thresholds)
    if "min-similarity" in thresholds and not args.embedding_model:
        raise ConfigError(
            "--min-similarity needs --embedding-model: similarity is measured with the gateway's embeddings"
        )
    phoenix_url = None if args.no_phoenix else phoenix_base_url(args.phoenix_url, os.environ)
    if args.phoenix_url and not args.no_phoenix and importlib.util.find_spec("phoenix") is None:
        raise ConfigError("--phoenix-url needs arize-phoenix-client: pip install 'bedrockgate-evals[phoenix]'")
    settings = RunSettings(
        endpoint=args.endpoint,
        model=args.model,
        api_key=api_key,
        embedding_model=args.embedding_model,
        concurrency=args.concurrency,
        timeout_s=args.timeout,
        retry=RetryPolicy(retries=args.retries, backoff_s=args.backoff, max_backoff_s=args.max_backoff),
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        prompt=PromptTemplate(system=args.system_prompt, user=user_template),
        postprocess=Pipeline.parse(args.postprocess),
    )
    return _Plan(settings, thresholds, key_variable, phoenix_url, Path(args.out))


def _config(args: argparse.Namespace, plan: _Plan) -> ConfigRecord:
    settings = plan.settings
    return ConfigRecord(
        endpoint=settings.endpoint,
        model=settings.model,
        embedding_model=settings.embedding_model,
        api_key_env=plan.api_key_env,
        api_key_set=settings.api_key is not None,
        concurrency=settings.concurrency,
        timeout_s=settings.timeout_s,
        retries=settings.retry.retries,
        backoff_s=settings.retry.backoff_s,
        max_backoff_s=settings.retry.max_backoff_s,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        system_prompt=settings.prompt.system,
        user_template=settings.prompt.user,
        prompt_digest=settings.prompt.digest,
        postprocess=settings.postprocess.steps,
        dataset=args.dataset,
        samples=args.samples,
        offset=args.offset,
        seed=args.seed,
        gates=dict(plan.thresholds),
    )


def _phoenix(
    plan: _Plan, questions: Sequence[Question], results: Results, err: TextIO
) -> PhoenixRecord | PhoenixFailure:
    assert plan.phoenix_url is not None  # noqa: S101  (the caller checks it)
    marker = plan.out / "phoenix.json"
    uploaded = [results.config.to_json(), [example.to_json() for example in results.examples]]
    digest = hashlib.sha256(json.dumps(uploaded, sort_keys=True).encode()).hexdigest()
    previous = _previous_upload(marker)
    if previous is not None and previous.digest == digest and previous.upload.base_url == plan.phoenix_url:
        err.write(f"bedrockgate-evals: Phoenix: this run is already experiment {previous.upload.experiment_id}\n")
        return previous
    metrics = results.metrics
    try:
        client = make_client(plan.phoenix_url, os.environ.get("PHOENIX_API_KEY") or None)
        upload = upload_run(
            client,
            base_url=plan.phoenix_url,
            questions=questions,
            examples=results.examples,
            experiment_name=f"{plan.settings.model} {results.run.finished_at}",
            metadata={
                "config": results.config.to_json(),
                "metrics": {"exact_match": metrics.exact_match, "f1": metrics.f1, "similarity": metrics.similarity},
            },
        )
    except PhoenixError as error:
        err.write(f"bedrockgate-evals: warning: {error} (the run's results and exit code are unaffected)\n")
        return PhoenixFailure(plan.phoenix_url, str(error))
    record = PhoenixRecord(upload, digest)
    write_atomically(marker, json.dumps(record.to_json(), indent=2) + "\n")
    err.write(f"bedrockgate-evals: Phoenix: dataset {upload.dataset_name}, experiment {upload.experiment_id}\n")
    return record


def _previous_upload(marker: Path) -> PhoenixRecord | None:
    """The upload ``OUT/phoenix.json`` records; ``None`` when there is none (or it cannot be read: upload again)."""
    try:
        record = read_phoenix_record(json.loads(marker.read_text(encoding="utf-8")), str(marker))
    except (OSError, ValueError, EvalsError):
        return None
    return record if isinstance(record, PhoenixRecord) else None


def _write_outputs(out: Path, record: Results, questions: Sequence[Question], results: Sequence[ExampleResult]) -> None:
    dataset = record.dataset.info
    write_atomically(out / "results.json", record.dumps())
    write_atomically(out / "report.html", render_html(record))
    write_atomically(out / "summary.md", render_markdown(record))
    predictions = {r.question.id: r.prediction for r in results if r.prediction is not None}
    write_atomically(out / "predictions.json", json.dumps(predictions, indent=1, ensure_ascii=False) + "\n")
    extra = {"source": dataset.name, "license": dataset.license, "attribution": dataset.attribution}
    write_atomically(
        out / "dataset.json", json.dumps(squad_document(questions, extra=extra), ensure_ascii=False) + "\n"
    )


def _print_summary(out: TextIO, summary: Aggregate, gates: Sequence[GateResult], directory: Path) -> None:
    similarity = (
        "  similarity skipped (no --embedding-model)"
        if summary.similarity is None
        else f"  similarity {summary.similarity:.3f}"
    )
    p95 = "n/a" if summary.latency.p95 is None else f"{summary.latency.p95:.0f} ms"
    cost = "" if summary.cost_usd is None else f"  cost ${summary.cost_usd:.4f}"
    out.write(
        f"EM {summary.exact_match:.2f}  F1 {summary.f1:.2f}{similarity}  answered {summary.answered}/{summary.total}"
        f"  p95 {p95}{cost}\n"
    )
    if summary.errors_by_kind:
        out.write("errors: " + ", ".join(f"{kind} {count}" for kind, count in summary.errors_by_kind.items()) + "\n")
    for gate in gates:
        out.write(gate.message + "\n")
    out.write(f"reports: {directory / 'results.json'}, {directory / 'report.html'}, {directory / 'summary.md'}\n")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def example_record(result: ExampleResult) -> ExampleRecord:
    """One scored question as ``results.json`` keeps it."""
    answer, question, similarity = result.answer, result.question, result.similarity_record
    return ExampleRecord(
        id=question.id,
        title=question.title,
        question=question.question,
        question_type=question_type(question.question),
        answers=question.answers,
        raw_answer=answer.raw_answer if answer is not None else None,
        prediction=result.prediction,
        postprocess_changed=result.changed_by,
        exact_match=result.exact_match,
        f1=result.f1,
        raw_exact_match=result.raw_exact_match,
        raw_f1=result.raw_f1,
        reference=result.reference,
        similarity=result.similarity,
        similarity_error=similarity.error.message if similarity is not None and similarity.error else None,
        latency_ms=answer.latency_ms if answer is not None else None,
        elapsed_ms=answer.elapsed_ms if answer is not None else None,
        attempts=answer.attempts if answer is not None else 0,
        prompt_tokens=answer.prompt_tokens if answer is not None else None,
        completion_tokens=answer.completion_tokens if answer is not None else None,
        total_tokens=answer.total_tokens if answer is not None else None,
        cost_usd=answer.cost_usd if answer is not None else None,
        finish_reason=answer.finish_reason if answer is not None else None,
        response_model=answer.response_model if answer is not None else None,
        started_at=answer.started_at if answer is not None else None,
        finished_at=answer.finished_at if answer is not None else None,
        error=answer.error if answer is not None else Failure("not_asked", "never asked", None),
    )


def versions() -> dict[str, str]:
    """Python, the platform, and the installed versions of the packages that produced the numbers."""
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


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
