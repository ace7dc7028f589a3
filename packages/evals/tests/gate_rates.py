"""The release gate's false-positive and detection rates, measured on a live endpoint (printed, never asserted).

``./dev nox -s gate_rates`` starts the local stack and runs this. The embedded model is
deterministic at temperature 0, so an unchanged rerun passes trivially; the controls here can fail:

- **false positives**: two runs of the same configuration at temperature ``T`` > 0 (real
  run-to-run variation). Any failure of the gate between them is a false alarm;
- **detection**: the same configuration with one change, each run at temperature 0 as the gate
  runs: ``truncated-context`` (the prompt template ``gates/controls/truncated-context.txt`` keeps
  the first 500 characters of each passage; about a quarter of the answers fall outside) and
  ``max-tokens-6`` (answers cut at 6 tokens, as a gateway that caps output would; in a real
  candidate the eval's own ``--max-tokens`` is pinned and a change there is refused).

A run of 30 questions takes minutes on the embedded model here, far too slow for hundreds of real
trials. So real runs of one pool of ``--questions`` questions are made (at 0: the default and each
control; at ``T``: the default twice) and the trials are drawn from them: each trial picks ``n``
questions of the pool at random (with replacement) and, per question, the two answers it compares
(for false positives, the two runs at ``T`` in random order: under "no change" they are
exchangeable), then applies the gate's own :func:`~bedrockgate.evals.verdict.judge` with the
tolerances of ``--gates``. The trial counts give the resampling precision only: the rates rest on
the pool's questions and the runs' answers, and a pool smaller than ``n`` extrapolates. The gate on
the real runs over the whole pool is printed as well, as it is.

Runs resume from their checkpoints in ``--out``: an interrupted measurement continues where it stopped.

Usage: ``python packages/evals/tests/gate_rates.py --endpoint URL --api-key-env VAR --out DIR
[--gates FILE] [--questions 40] [--temperature 0.7] [--controls truncated-context,max-tokens-6]
[--sizes 30,100] [--trials 1000]``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bedrockgate.evals.cli import main as cli_main
from bedrockgate.evals.gatefile import Tolerances, load_gates
from bedrockgate.evals.results import ExampleRecord, Results
from bedrockgate.evals.trials import trial_results
from bedrockgate.evals.verdict import judge, load_run

PACKAGE = Path(__file__).resolve().parents[1]
TRUNCATED = PACKAGE / "gates" / "controls" / "truncated-context.txt"
CHECKS = ("F1", "exact match", "error rate", "p95 latency", "cost per question")

Example = ExampleRecord


CONTROLS = {
    "truncated-context": ["--prompt-template", str(TRUNCATED)],
    "max-tokens-6": ["--max-tokens", "6"],
}


def make_runs(args: argparse.Namespace, run_options: list[str], controls: Sequence[str]) -> dict[str, Results]:
    """The real runs over the pool (each resumes from its checkpoint), by name."""
    noisy = f"{args.temperature:g}"
    plan: list[tuple[str, str, list[str]]] = [("t0-default", "0", []), ("tT-default-a", noisy, [])]
    plan += [("tT-default-b", noisy, [])]
    plan += [(f"t0-{name}", "0", CONTROLS[name]) for name in controls]
    runs = {}
    for name, temperature, extra in plan:
        out = args.out / name
        argv = ["run", "--endpoint", args.endpoint, "--api-key-env", args.api_key_env, *run_options,
                "--samples", str(args.questions), "--temperature", temperature, *extra,
                "--out", str(out), "--progress", "none", "--no-phoenix"]  # fmt: skip
        started = time.monotonic()
        printed = io.StringIO()
        code = cli_main(argv, stdout=printed)
        if code == 2:
            raise SystemExit(f"gate_rates: the run {name} could not be made (see above)")
        runs[name] = load_run(out)
        summary = printed.getvalue().splitlines()[0] if printed.getvalue() else ""
        print(f"run {name:<22} T={temperature:<4} {time.monotonic() - started:6.0f} s this call  {summary}", flush=True)
    return runs


def by_id(document: Results) -> dict[str, Example]:
    return document.examples_by_id()


def trial(pairs: Sequence[tuple[Example, Example]], like: Results) -> tuple[Results, Results]:
    """Baseline and candidate results over ``pairs``, made as ``like``; ids made unique (a question may recur)."""
    base = [replace(a, id=f"{a.id}#{i}") for i, (a, _) in enumerate(pairs)]
    cand = [replace(b, id=f"{b.id}#{i}") for i, (_, b) in enumerate(pairs)]
    return (
        trial_results(base, config=like.config, dataset=like.dataset),
        trial_results(cand, config=like.config, dataset=like.dataset),
    )


def rate(
    rng: random.Random, tolerances: Tolerances, draw: Any, ids: Sequence[str], *, n: int, trials: int, like: Results
) -> tuple[int, dict[str, int]]:
    """How many of ``trials`` resampled trials of ``n`` questions fail, in all and per check."""
    failed, per_check = 0, dict.fromkeys(CHECKS, 0)
    for _ in range(trials):
        pairs = [draw(rng, rng.choice(ids)) for _ in range(n)]
        baseline, candidate = trial(pairs, like)
        verdict = judge(tolerances, baseline, candidate)
        failed += not verdict.passed
        for name in verdict.failed:
            per_check[name] += 1
    return failed, per_check


def wilson(count: int, total: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a binomial proportion."""
    if total == 0:
        return 0.0, 1.0
    z, p = 1.959963984540054, count / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def describe(runs: Mapping[str, Results], ids: Sequence[str], controls: Sequence[str], tolerances: Tolerances) -> None:
    """The real runs' headline figures and the effect sizes behind the rates."""
    print("\nreal runs over the pool:")
    for name, document in runs.items():
        metrics = document.metrics
        print(f"  {name:<22} F1 {metrics.f1:6.2f}  EM {metrics.exact_match:5.2f}"
              f"  errors {metrics.errors}  p95 {metrics.latency.p95 or 0:8.0f} ms"
              f"  cost ${metrics.cost_usd or 0:.4f}  wall {document.run.wall_s:.0f} s")  # fmt: skip
    examples = {name: by_id(document) for name, document in runs.items()}
    pairs = [("rerun at T", "tT-default-a", "tT-default-b")]
    pairs += [(f"{name} at T=0", "t0-default", f"t0-{name}") for name in controls]
    print("\nper-question F1 differences (points) and the gate on the whole pool (real runs, not resampled):")
    for label, a, b in pairs:
        diffs = [100.0 * (examples[b][i].f1 - examples[a][i].f1) for i in ids]
        sd = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
        worse, better = sum(1 for d in diffs if d < 0), sum(1 for d in diffs if d > 0)
        verdict = judge(tolerances, runs[a], runs[b])
        word = "passed" if verdict.passed else "FAILED: " + ", ".join(verdict.failed)
        print(f"  {label:<26} mean {statistics.fmean(diffs):+6.2f}, sd {sd:5.2f}, {worse} worse, {better} better"
              f" of {len(ids)}; gate {word} ({verdict.checks[0].detail}; p95 {verdict.checks[3].baseline} ->"
              f" {verdict.checks[3].candidate})")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--api-key-env", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--gates", type=Path, default=PACKAGE / "gates" / "local.toml")
    parser.add_argument("--questions", type=int, default=40, help="the pool: questions in each real run")
    parser.add_argument("--temperature", type=float, default=0.7, help="of the false-positive control's two runs")
    parser.add_argument("--controls", default=",".join(CONTROLS), help=f"degradations, of: {', '.join(CONTROLS)}")
    parser.add_argument("--sizes", default="30,100", help="trial sizes n, comma-separated")
    parser.add_argument("--trials", type=int, default=1000, help="resampled trials per rate and size")
    parser.add_argument("--seed", type=int, default=0, help="the resampling's random seed")
    args = parser.parse_args(argv)
    controls = [name for name in args.controls.split(",") if name]
    unknown = sorted(set(controls) - set(CONTROLS))
    if unknown:
        parser.error(f"unknown controls {unknown}; the controls are {', '.join(CONTROLS)}")
    gates = load_gates(args.gates)
    pin = gates.pin
    run_options = pin.run_arguments()
    for flag in ("--samples", "--temperature"):  # the pool size and each run's temperature are set per run
        at = run_options.index(flag)
        del run_options[at : at + 2]
    started = time.monotonic()
    runs = make_runs(args, run_options, controls)
    examples = {name: by_id(document) for name, document in runs.items()}
    ids = sorted(examples["t0-default"])
    print(f"\npool: {len(ids)} questions ({pin.dataset}, seed {pin.seed}); false-positive runs at T = "
          f"{args.temperature:g}; max_tokens {pin.max_tokens}, concurrency {pin.concurrency}")  # fmt: skip
    describe(runs, ids, controls, gates.tolerances)

    def null_pair(rng: random.Random, identifier: str) -> tuple[Example, Example]:
        pair = (examples["tT-default-a"][identifier], examples["tT-default-b"][identifier])
        return pair if rng.random() < 0.5 else (pair[1], pair[0])

    def degraded(name: str) -> Any:
        def draw(rng: random.Random, identifier: str) -> tuple[Example, Example]:
            return examples["t0-default"][identifier], examples[f"t0-{name}"][identifier]

        return draw

    rng = random.Random(args.seed)  # noqa: S311 -- resampling, not cryptography; seeded to be repeatable
    sizes = [int(size) for size in args.sizes.split(",")]
    alpha = gates.tolerances.alpha
    print(f"\nresampled trials ({args.trials} per cell, alpha {alpha:g}, tolerances of {args.gates.name}):")
    print("| control | n | gate failed | rate | 95% CI (resampling) | by check |")
    print("|---|---|---|---|---|---|")
    figures: dict[str, Any] = {}
    cells = [(f"false positive: rerun at T={args.temperature:g}", null_pair)]
    cells += [(f"detection: {name}, T=0", degraded(name)) for name in controls]
    for label, draw in cells:
        for n in sizes:
            failed, per_check = rate(rng, gates.tolerances, draw, ids, n=n, trials=args.trials, like=runs["t0-default"])
            low, high = wilson(failed, args.trials)
            checks = ", ".join(f"{name} {count}" for name, count in per_check.items() if count) or "-"
            share = f"{failed / args.trials:.1%}"
            print(f"| {label} | {n} | {failed}/{args.trials} | {share} | {low:.1%} to {high:.1%} | {checks} |")
            figures[f"{label} n={n}"] = {"failed": failed, "trials": args.trials, "by_check": per_check}
    (args.out / "rates.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"\nfigures: {args.out / 'rates.json'}; this call took {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
