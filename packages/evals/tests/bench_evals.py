"""Benchmark figures for bedrockgate-evals (printed, never asserted): ``./dev nox -s bench_evals``.

1. Scoring the full SQuAD v1.1 dev set (10,570 questions, 34,726 references) with the vendored
   official scorer, in process and through ``bedrockgate-evals score``; and, in the same run, HF
   ``evaluate``'s squad metric when it can be loaded without network (its loader fetches the metric
   script from the Hub, so on a machine without network and without a cached copy it cannot, and
   this says so).
2. Runner efficiency: 400 questions at concurrency 16 against a loopback OpenAI-compatible server
   (``bedrockgate.evals.testing``, in a process of its own) that takes 200 ms per reply. The ideal
   is 400 x 0.2 / 16 = 5.0 s; the figure is wall / ideal (goal <= 1.15). The wall includes the
   one-request preflight, and is also shown without it.

Usage: ``python packages/evals/tests/bench_evals.py [--dev-set PATH] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bedrockgate.evals.checkpoint import Checkpoint
from bedrockgate.evals.cli import main as cli_main
from bedrockgate.evals.dataset import SquadDataset
from bedrockgate.evals.progress import NullProgress
from bedrockgate.evals.runner import RunSettings, run_questions
from bedrockgate.evals.sampling import select
from bedrockgate.evals.sources import load_file
from bedrockgate.evals.squad import score_articles
from bedrockgate.evals.testing import CHAT_MODEL, answers_for

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DEV_SET = REPO.parent / "shared" / "data" / "squad" / "dev-v1.1.json.gz"
QUESTIONS, CONCURRENCY, LATENCY_S = 400, 16, 0.2


def _best(repeats: int, work: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def _predictions(dataset: SquadDataset) -> dict[str, str]:
    """A realistic mix: a third exact, a third with a word dropped, a third wordy."""
    predictions = {}
    for index, question in enumerate(dataset.questions):
        gold = question.answers[0]
        predictions[question.id] = [gold, " ".join(gold.split()[:-1]), f"The answer is {gold}, I think."][index % 3]
    return predictions


def bench_scoring(dev_set_path: Path, repeats: int) -> None:
    dataset = load_file(dev_set_path)
    predictions = _predictions(dataset)
    pairs = [(q.id, q.answers) for q in dataset.questions]
    scores, _ = score_articles(pairs, predictions)
    best, median = _best(repeats, lambda: score_articles(pairs, predictions))
    print(f"scoring: {len(pairs):,} questions, {sum(len(a) for _, a in pairs):,} references")
    print(
        f"  vendored official scorer: best {best:.3f} s, median {median:.3f} s "
        f"({best / len(pairs) * 1e6:.0f} us/question)"
    )
    print(f"  scores: {json.dumps(scores)}")
    with tempfile.TemporaryDirectory() as directory:
        predictions_path = Path(directory) / "predictions.json"
        predictions_path.write_text(json.dumps(predictions), encoding="utf-8")
        argv = ["score", "--dataset", str(dev_set_path), "--predictions", str(predictions_path)]
        cli_best, cli_median = _best(repeats, lambda: cli_main(argv, stdout=io.StringIO(), stderr=io.StringIO()))
    print(f"  bedrockgate-evals score (read gzip JSON + score): best {cli_best:.3f} s, median {cli_median:.3f} s")
    _bench_hf_evaluate(dataset, predictions, best)


def _bench_hf_evaluate(dataset: SquadDataset, predictions: dict[str, str], ours_s: float) -> None:
    try:
        import evaluate  # type: ignore[import-untyped]  # noqa: PLC0415  (optional: only the bench group has it)
    except ImportError as error:
        print(f"  HF evaluate: not installed ({error}); the bench group of bedrockgate-evals installs it")
        return
    started = time.perf_counter()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            metric = evaluate.load("squad")
    except Exception as error:  # whatever the loader raises offline is the finding; print it
        message = " ".join(str(error).split())[:200]
        print(
            f"  HF evaluate {evaluate.__version__} squad metric: cannot be loaded offline "
            f"({type(error).__name__}: {message}; {time.perf_counter() - started:.1f} s); no ratio"
        )
        return
    load_s = time.perf_counter() - started
    references = [
        {"id": q.id, "answers": {"text": list(q.answers), "answer_start": list(q.answer_starts)}}
        for q in dataset.questions
    ]
    hf_predictions = [{"id": q.id, "prediction_text": predictions[q.id]} for q in dataset.questions]
    started = time.perf_counter()
    hf_scores = metric.compute(predictions=hf_predictions, references=references)
    hf_s = time.perf_counter() - started
    print(
        f"  HF evaluate squad: load {load_s:.2f} s, compute {hf_s:.3f} s, scores {hf_scores}; "
        f"ratio HF/ours {hf_s / ours_s:.1f}x"
    )


def _start_server(answers_path: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bedrockgate.evals.testing",
            "--latency",
            str(LATENCY_S),
            "--answers",
            str(answers_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def bench_runner(dev_set_path: Path, repeats: int) -> None:
    questions = select(load_file(dev_set_path).questions, samples=QUESTIONS, seed=0)
    ideal = QUESTIONS * LATENCY_S / CONCURRENCY
    print(
        f"runner: {QUESTIONS} questions, concurrency {CONCURRENCY}, server latency {LATENCY_S * 1000:.0f} ms, "
        f"ideal {ideal:.2f} s"
    )
    with tempfile.TemporaryDirectory() as directory:
        answers_path = Path(directory) / "answers.json"
        answers_path.write_text(json.dumps(answers_for(questions)), encoding="utf-8")
        process, url = _start_server(answers_path)
        try:
            ratios = []
            for repeat in range(repeats):
                settings = RunSettings(endpoint=url, model=CHAT_MODEL, concurrency=CONCURRENCY)
                checkpoint = Checkpoint.open(
                    Path(directory) / f"run-{repeat}" / "checkpoint.jsonl", settings.fingerprint()
                )
                cpu = time.process_time()
                started = time.perf_counter()
                outcome = asyncio.run(run_questions(questions, settings, checkpoint, NullProgress()))
                wall = time.perf_counter() - started
                cpu = time.process_time() - cpu
                checkpoint.close()
                latencies = sorted(a.latency_ms or 0.0 for a in checkpoint.answers.values())
                errors = sum(1 for a in checkpoint.answers.values() if a.error is not None)
                preflight = (outcome.preflight_ms or 0.0) / 1000
                ratios.append(wall / ideal)
                print(
                    f"  run {repeat + 1}: wall {wall:.2f} s -> wall/ideal {wall / ideal:.3f} "
                    f"(without the {preflight * 1000:.0f} ms preflight {(wall - preflight) / ideal:.3f}); "
                    f"latency p50 {latencies[len(latencies) // 2]:.0f} ms, "
                    f"p95 {latencies[int(len(latencies) * 0.95)]:.0f} ms; "
                    f"client CPU {cpu / QUESTIONS * 1000:.1f} ms/question; errors {errors}"
                )
            print(f"  wall/ideal: best {min(ratios):.3f}, median {statistics.median(ratios):.3f} (goal <= 1.15)")
        finally:
            assert process.stdin is not None
            process.stdin.close()
            process.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev-set", type=Path, default=DEFAULT_DEV_SET, help="SQuAD v1.1 dev file (json or json.gz)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    load: Any = os.getloadavg() if hasattr(os, "getloadavg") else "n/a"
    print(f"bedrockgate-evals bench: Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load}")
    if not args.dev_set.is_file():
        print(f"the SQuAD dev set is not at {args.dev_set}; pass --dev-set PATH")
        return 2
    bench_scoring(args.dev_set, args.repeats)
    bench_runner(args.dev_set, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
