"""``bedrockgate-evals``: evaluate an OpenAI-compatible endpoint on SQuAD, score predictions, compare runs.

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
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bedrockgate.evals._command import EXIT_ERROR, EXIT_FAILED, EXIT_OK, Input, told_as
from bedrockgate.evals._run_command import DEFAULT_KEY_VARIABLE, run
from bedrockgate.evals._score_files import score_files
from bedrockgate.evals.compare import compare_results, render_text
from bedrockgate.evals.exceptions import ConfigError, EvalsError, GateRefusedError
from bedrockgate.evals.gatefile import load_gates
from bedrockgate.evals.postprocess import STEPS
from bedrockgate.evals.prompting import DEFAULT_SYSTEM_PROMPT
from bedrockgate.evals.results import load_results
from bedrockgate.evals.verdict import baseline_problems, check_comparable, judge, load_run, render_verdict, verdict_json

__all__ = ["main"]


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
        return run(args, out, err)
    except EvalsError as error:
        err.write(f"bedrockgate-evals: error: {error}\n")
        return EXIT_ERROR


# --- score -------------------------------------------------------------------------------------


def _score(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with told_as(Input("--dataset", args.dataset), Input("--predictions", args.predictions)):
        outcome = score_files(Path(args.dataset), Path(args.predictions))
    for warning in outcome.warnings:
        err.write(warning + "\n")
    if outcome.unanswered:
        err.write(f"{len(outcome.unanswered)} unanswered questions received score 0 (first: {outcome.unanswered[0]})\n")
    out.write(json.dumps(outcome.scores) + "\n")
    return EXIT_OK


# --- compare -----------------------------------------------------------------------------------


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    with told_as(Input("A (baseline)", args.a)):
        a = load_results(Path(args.a))
    with told_as(Input("B (candidate)", args.b)):
        b = load_results(Path(args.b))
    comparison = compare_results(a, b, alpha=args.alpha, tolerance=args.tolerance)
    if args.format == "json":
        out.write(json.dumps(comparison.to_json(), indent=2) + "\n")
    else:
        out.write(render_text(comparison, args.a, args.b, markdown=args.format == "markdown"))
    return EXIT_FAILED if comparison.verdict == "regression" else EXIT_OK


# --- gate --------------------------------------------------------------------------------------


def _gate(args: argparse.Namespace, out: TextIO) -> int:
    gates_input = Input("--gates", args.gates)
    with told_as(gates_input):
        gates = load_gates(Path(args.gates))
    if args.print_run_args:
        out.write(shlex.join(gates.pin.run_arguments()) + "\n")
        return EXIT_OK
    if args.print_baseline:
        out.write(f"{gates.baseline.resolve()}\n")
        return EXIT_OK
    if args.results is None:
        raise ConfigError("gate: --results DIR_OR_JSON is required (or --print-run-args, --print-baseline)")
    with told_as(gates_input):
        if not gates.baseline.exists():
            raise GateRefusedError(
                f"{gates.path}: [baseline] results: {gates.baseline} does not exist; make it with `nox -s baseline` "
                "(and commit it: the commit is the review)"
            )
        baseline = load_run(gates.baseline)
        problems = baseline_problems(baseline)
        if problems:
            raise GateRefusedError(f"{gates.baseline}: unusable as a baseline: {'; '.join(problems)}; re-make it")
    results_input = Input("--results", args.results)
    with told_as(results_input):
        candidate = load_run(Path(args.results))
    with told_as(results_input, replace(gates_input, path=str(gates.baseline))):
        check_comparable(gates.pin, baseline, candidate, (str(gates.baseline), args.results))
    verdict = judge(gates.tolerances, baseline, candidate)
    if args.format == "json":
        out.write(verdict_json(verdict, gates, args.results))
    else:
        out.write(render_verdict(verdict, gates, args.results, markdown=args.format == "markdown"))
    return EXIT_OK if verdict.passed else EXIT_FAILED


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
        prog="bedrockgate-evals",
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
    """The ``run`` options, in the groups ``--help`` shows."""
    _endpoint_options(run.add_argument_group("endpoint"))
    _dataset_options(run.add_argument_group("dataset"))
    _answer_options(run.add_argument_group("prompt and answers"))
    _output_options(run.add_argument_group("output"))
    _gate_options(run.add_argument_group("gates (exit 1 when one fails)"))


def _endpoint_options(endpoint: argparse._ArgumentGroup) -> None:
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


def _dataset_options(data: argparse._ArgumentGroup) -> None:
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


def _answer_options(prompt: argparse._ArgumentGroup) -> None:
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


def _output_options(output: argparse._ArgumentGroup) -> None:
    output.add_argument("--out", required=True, metavar="DIR", help="directory for the checkpoint and the reports")
    output.add_argument("--fresh", action="store_true", help="discard the checkpoint in --out and ask everything again")
    output.add_argument("--progress", choices=["auto", "rich", "plain", "none"], default="auto")
    output.add_argument(
        "--phoenix-url", metavar="URL", help="upload to this Phoenix (default: PHOENIX_COLLECTOR_ENDPOINT)"
    )
    output.add_argument("--no-phoenix", action="store_true", help="never upload to Phoenix")


def _gate_options(gates: argparse._ArgumentGroup) -> None:
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
