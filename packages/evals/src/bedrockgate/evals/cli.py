"""``gateway-evals``: evaluate an OpenAI-compatible endpoint on SQuAD, score predictions, compare runs.

Exit codes:

- ``run``: 0 every gate passed (or none was set); 1 a gate failed (each failure says which gate
  and by how much); 2 the run could not be made (bad endpoint, key, dataset or options), with a
  one-line reason on stderr. Answers already given are kept: rerunning the command resumes.
- ``score``: 0 scored; 2 the inputs cannot be read.
- ``compare``: 0 no significant regression; 1 B is a significant regression of A; 2 unreadable input.
- ``gate``: 0 every check of the gates file passed; 1 one failed (the table says which and by how
  much); 2 the gates file is invalid, or the results cannot be judged by it (other settings or
  questions than it pins), with a one-line reason naming the file, the key and the fix.

argparse itself exits with 2 on a malformed command line.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import json
import os
import shlex
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from bedrockgate.evals._examples import ExampleResult, score_example
from bedrockgate.evals._report_html import render_html
from bedrockgate.evals._report_md import render_markdown
from bedrockgate.evals._score_files import score_files
from bedrockgate.evals.checkpoint import Checkpoint
from bedrockgate.evals.compare import compare_results, render_text
from bedrockgate.evals.dataset import Question, squad_document
from bedrockgate.evals.exceptions import ConfigError, EvalsError, GateRefusedError, PhoenixError, RunInterruptedError
from bedrockgate.evals.gatefile import load_gates
from bedrockgate.evals.gates import GATES, GateResult, check_gates, validate_thresholds
from bedrockgate.evals.metrics import Aggregate, aggregate
from bedrockgate.evals.phoenix import make_client, phoenix_base_url, upload_run
from bedrockgate.evals.postprocess import STEPS, Pipeline
from bedrockgate.evals.progress import make_progress
from bedrockgate.evals.prompting import DEFAULT_SYSTEM_PROMPT, DEFAULT_USER_TEMPLATE, PromptTemplate
from bedrockgate.evals.results import (
    ConfigRecord,
    DatasetRecord,
    GatesRecord,
    PhoenixFailure,
    PhoenixRecord,
    Results,
    RunRecord,
    example_record,
    load_results,
    read_phoenix_record,
    versions,
    write_atomically,
)
from bedrockgate.evals.retry import RetryPolicy
from bedrockgate.evals.runner import RunSettings, run_questions
from bedrockgate.evals.sampling import select
from bedrockgate.evals.sources import load_source
from bedrockgate.evals.verdict import baseline_problems, check_comparable, judge, load_run, render_verdict, verdict_json

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
DEFAULT_KEY_VARIABLE = "OPENAI_API_KEY"


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        if args.command == "score":
            return _score(args, out, err)
        if args.command == "compare":
            return _compare(args, out)
        if args.command == "gate":
            return _gate(args, out)
        return _run(args, out, err)
    except EvalsError as error:
        err.write(f"gateway-evals: error: {error}\n")
        return EXIT_ERROR


@dataclass(frozen=True, slots=True)
class _Input:
    """An input as the command line named it, and the path the library's errors name it by."""

    flag: str
    """The option (``--results``) or argument (``A (baseline)``) that gave it."""
    value: str
    """What the user typed."""
    path: str = ""
    """The path the library names; the value as a path when empty."""

    @property
    def named(self) -> str:
        """The path the library's messages start with."""
        return self.path or str(Path(self.value))


@contextmanager
def _told_as(*inputs: _Input) -> Iterator[None]:
    """Retell a library error in the command line's terms: which flag gave the input at fault.

    The library names the file (``x.json: examples[3].f1: expected a number, got 'x'``); the user
    typed a flag, so the message starts with it (``--results x.json: examples[3].f1: ...``). An error
    naming another file, such as the baseline a gates file points to, keeps that name after the
    flag. An error naming none of the inputs is told as the first one's.
    """
    try:
        yield
    except EvalsError as error:
        message = str(error)
        told = next((item for item in inputs if message.startswith((f"{item.named}:", f"{item.named} "))), inputs[0])
        if told.path or not message.startswith(f"{told.named}:"):
            raise type(error)(f"{told.flag} {told.value}: {message}") from error
        raise type(error)(f"{told.flag} {told.value}{message.removeprefix(told.named)}") from error


# --- score -------------------------------------------------------------------------------------


def _score(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _told_as(_Input("--dataset", args.dataset), _Input("--predictions", args.predictions)):
        outcome = score_files(Path(args.dataset), Path(args.predictions))
    for warning in outcome.warnings:
        err.write(warning + "\n")
    if outcome.unanswered:
        err.write(f"{len(outcome.unanswered)} unanswered questions received score 0 (first: {outcome.unanswered[0]})\n")
    out.write(json.dumps(outcome.scores) + "\n")
    return EXIT_OK


# --- compare -----------------------------------------------------------------------------------


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    with _told_as(_Input("A (baseline)", args.a)):
        a = load_results(Path(args.a))
    with _told_as(_Input("B (candidate)", args.b)):
        b = load_results(Path(args.b))
    comparison = compare_results(a, b, alpha=args.alpha, tolerance=args.tolerance)
    if args.format == "json":
        out.write(json.dumps(comparison.to_json(), indent=2) + "\n")
    else:
        out.write(render_text(comparison, args.a, args.b, markdown=args.format == "markdown"))
    return EXIT_FAILED if comparison.verdict == "regression" else EXIT_OK


# --- gate --------------------------------------------------------------------------------------


def _gate(args: argparse.Namespace, out: TextIO) -> int:
    gates_input = _Input("--gates", args.gates)
    with _told_as(gates_input):
        gates = load_gates(Path(args.gates))
    if args.print_run_args:
        out.write(shlex.join(gates.pin.run_arguments()) + "\n")
        return EXIT_OK
    if args.print_baseline:
        out.write(f"{gates.baseline.resolve()}\n")
        return EXIT_OK
    if args.results is None:
        raise ConfigError("gate: --results DIR_OR_JSON is required (or --print-run-args, --print-baseline)")
    with _told_as(gates_input):
        if not gates.baseline.exists():
            raise GateRefusedError(
                f"{gates.path}: [baseline] results: {gates.baseline} does not exist; make it with `nox -s baseline` "
                "(and commit it: the commit is the review)"
            )
        baseline = load_run(gates.baseline)
        problems = baseline_problems(baseline)
        if problems:
            raise GateRefusedError(f"{gates.baseline}: unusable as a baseline: {'; '.join(problems)}; re-make it")
    results_input = _Input("--results", args.results)
    with _told_as(results_input):
        candidate = load_run(Path(args.results))
    with _told_as(results_input, replace(gates_input, path=str(gates.baseline))):
        check_comparable(gates.pin, baseline, candidate, (str(gates.baseline), args.results))
    verdict = judge(gates.tolerances, baseline, candidate)
    if args.format == "json":
        out.write(verdict_json(verdict, gates, args.results))
    else:
        out.write(render_verdict(verdict, gates, args.results, markdown=args.format == "markdown"))
    return EXIT_OK if verdict.passed else EXIT_FAILED


# --- run ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """A run's options, checked, before anything is loaded or asked."""

    settings: RunSettings
    thresholds: dict[str, float]
    api_key_env: str
    phoenix_url: str | None
    out: Path


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    plan = _plan(args)
    with _told_as(_Input("--dataset", args.dataset)):
        dataset = load_source(args.dataset, revision=args.dataset_revision, split=args.split)
    if dataset.info.note:
        err.write(f"gateway-evals: note: {dataset.info.note}\n")
    questions = select(dataset.questions, samples=args.samples, offset=args.offset, seed=args.seed)
    with _told_as(_Input("--out", args.out, str(plan.out / "checkpoint.jsonl"))):
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
        err.write(f"gateway-evals: Phoenix: this run is already experiment {previous.upload.experiment_id}\n")
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
        err.write(f"gateway-evals: warning: {error} (the run's results and exit code are unaffected)\n")
        return PhoenixFailure(plan.phoenix_url, str(error))
    record = PhoenixRecord(upload, digest)
    write_atomically(marker, json.dumps(record.to_json(), indent=2) + "\n")
    err.write(f"gateway-evals: Phoenix: dataset {upload.dataset_name}, experiment {upload.experiment_id}\n")
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


# --- the command line --------------------------------------------------------------------------


def _samples(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'all', not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway-evals",
        description="SQuAD v1.1 evaluation and release gate for an OpenAI-compatible endpoint.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _run_parser(commands.add_parser("run", help="ask SQuAD questions, score them, write reports, apply gates"))
    score = commands.add_parser(
        "score",
        help="score a predictions file exactly as the official SQuAD v1.1 script does",
        description='Prints {"exact_match": ..., "f1": ...}, the official script\'s output for the same inputs.',
    )
    score.add_argument("--dataset", required=True, metavar="FILE", help="SQuAD v1.1 dataset JSON (or .json.gz)")
    score.add_argument("--predictions", required=True, metavar="FILE", help="JSON object {question_id: answer}")
    compare = commands.add_parser(
        "compare",
        help="compare two runs with a paired significance test; exit 1 on a regression",
        description="A is the baseline, B the candidate. Exit 1 when B's F1 is significantly lower than A's.",
    )
    compare.add_argument("a", metavar="A/results.json")
    compare.add_argument("b", metavar="B/results.json")
    compare.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    compare.add_argument(
        "--tolerance", type=float, default=0.0, help="ignore F1 drops of at most this many points (default 0)"
    )
    compare.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    gate = commands.add_parser(
        "gate",
        help="judge a run against its environment's gates file and baseline; exit 1 when a check fails",
        description="Compares RESULTS with the baseline the gates file names: a significant F1 or EM drop, an "
        "error rate above the baseline's, p95 latency or cost per question over their tolerances fail it.",
    )
    gate.add_argument("--gates", required=True, metavar="FILE", help="the environment's gates file (TOML)")
    gate.add_argument("--results", metavar="DIR_OR_JSON", help="the candidate run's --out directory or results.json")
    gate.add_argument(
        "--print-run-args", action="store_true", help="print the `run` options a comparable run needs, and exit"
    )
    gate.add_argument("--print-baseline", action="store_true", help="print the baseline file's path, and exit")
    gate.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    return parser


def _run_parser(run: argparse.ArgumentParser) -> None:
    endpoint = run.add_argument_group("endpoint")
    endpoint.add_argument(
        "--endpoint", required=True, metavar="URL", help="OpenAI base URL, e.g. http://localhost:4000/v1"
    )
    endpoint.add_argument("--model", required=True, metavar="ALIAS", help="the chat model alias to evaluate")
    endpoint.add_argument(
        "--api-key-env",
        metavar="VAR",
        help=f"environment variable holding the API key (default {DEFAULT_KEY_VARIABLE}, optional when unset)",
    )
    endpoint.add_argument(
        "--embedding-model", metavar="ALIAS", help="embedding model alias for semantic similarity (skipped without it)"
    )
    endpoint.add_argument("--concurrency", type=int, default=8, help="requests in flight at most (default 8)")
    endpoint.add_argument("--timeout", type=float, default=60.0, help="seconds per request attempt (default 60)")
    endpoint.add_argument("--retries", type=int, default=3, help="retries on 429, 5xx, timeouts (default 3)")
    endpoint.add_argument("--backoff", type=float, default=1.0, help="first backoff ceiling in seconds (default 1)")
    endpoint.add_argument("--max-backoff", type=float, default=20.0, help="longest wait between retries (default 20)")

    data = run.add_argument_group("dataset")
    data.add_argument(
        "--dataset",
        default="auto",
        help="auto (Hub when reachable, else the shipped sample), sample, squad, hub:OWNER/NAME, or a SQuAD v1.1 "
        "JSON/JSON.gz or .parquet/.jsonl file (default auto)",
    )
    data.add_argument("--dataset-revision", metavar="REV", help="Hub revision (commit, tag or branch)")
    data.add_argument("--split", default="validation", help="Hub split (default validation)")
    data.add_argument("--samples", type=_samples, default=300, metavar="N|all", help="questions to ask (default 300)")
    data.add_argument("--offset", type=int, default=0, help="skip this many of the seeded ranking (default 0)")
    data.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")

    prompt = run.add_argument_group("prompt and answers")
    prompt.add_argument("--system-prompt", default=DEFAULT_SYSTEM_PROMPT, help="system message ('' for none)")
    prompt.add_argument("--prompt-template", metavar="FILE", help="user message template with {context} and {question}")
    prompt.add_argument("--max-tokens", type=int, default=64, help="answer length limit (default 64)")
    prompt.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0)")
    prompt.add_argument(
        "--postprocess",
        default="trim,first-line,answer-prefix,strip-quotes",
        metavar="STEPS",
        help=f"comma-separated steps applied before scoring, or none; steps: {', '.join(STEPS)}",
    )

    output = run.add_argument_group("output")
    output.add_argument("--out", required=True, metavar="DIR", help="directory for the checkpoint and the reports")
    output.add_argument("--fresh", action="store_true", help="discard the checkpoint in --out and ask everything again")
    output.add_argument("--progress", choices=["auto", "rich", "plain", "none"], default="auto")
    output.add_argument(
        "--phoenix-url", metavar="URL", help="upload to this Phoenix (default: PHOENIX_COLLECTOR_ENDPOINT)"
    )
    output.add_argument("--no-phoenix", action="store_true", help="never upload to Phoenix")

    gates = run.add_argument_group("gates (exit 1 when one fails)")
    gates.add_argument("--min-em", type=float, metavar="POINTS", help="lowest exact match, 0-100")
    gates.add_argument("--min-f1", type=float, metavar="POINTS", help="lowest F1, 0-100")
    gates.add_argument(
        "--min-similarity", type=float, metavar="COSINE", help="lowest mean similarity (embedding scale)"
    )
    gates.add_argument("--max-p95-ms", type=float, metavar="MS", help="highest p95 latency in milliseconds")
    gates.add_argument(
        "--max-error-rate", type=float, metavar="FRACTION", help="highest share of failed questions, 0-1"
    )
    gates.add_argument("--max-cost-usd", type=float, metavar="USD", help="highest total cost in USD")


if __name__ == "__main__":
    raise SystemExit(main())
