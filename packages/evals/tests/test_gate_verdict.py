"""``bedrockgate-evals gate``: the verdict of each check, refusals of runs that are not comparable, and properties.

Properties (>= 100 examples each):

1. a run judged against itself always passes;
2. lowering every question's F1 by a large constant, on enough questions, always fails the F1 check;
3. the verdict does not depend on the order of the examples in either file;
4. p95 latency and cost per question pass exactly when within their percentage of the baseline.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from bedrockgate.evals.client import Failure
from bedrockgate.evals.exceptions import GateRefusedError
from bedrockgate.evals.gatefile import BaselinePin, Tolerances, load_gates
from bedrockgate.evals.results import Results
from bedrockgate.evals.testing import FakeOpenAI, dataset_record, example, run_cli, run_config
from bedrockgate.evals.trials import trial_results
from bedrockgate.evals.verdict import baseline_problems, check_comparable, judge, load_run
from hypothesis import given, settings
from hypothesis import strategies as st

PIN = BaselinePin("sample", 30, 0, 0, "claude-primary", 0.0, 16, 1)
TOLERANCES = Tolerances(alpha=0.05, f1_drop_points=0.0, error_rate_increase=0.0,
                        p95_latency_increase_pct=50.0, cost_per_question_increase_pct=10.0)  # fmt: skip
NAMES = ("baseline.json", "candidate.json")


def document(
    f1: Sequence[float],
    em: Sequence[float] | None = None,
    *,
    latency: Sequence[float] | None = None,
    cost: float | None = 0.001,
    errors: Sequence[int] = (),
    config: dict[str, Any] | None = None,
    source: str = "sample",
) -> Results:
    """A run's results: question i has F1 ``f1[i]``, latency ``latency[i]`` (default 100 ms) and ``cost``."""
    examples = [
        example(
            f"q{i}",
            answers=(f"answer {i}",),
            f1=0.0 if i in errors else value,
            exact_match=0 if em is None or i in errors else int(em[i]),
            latency_ms=None if i in errors else (100.0 if latency is None else latency[i]),
            cost_usd=None if i in errors else cost,
            error=Failure("timeout", "timed out", None) if i in errors else None,
        )
        for i, value in enumerate(f1)
    ]
    return trial_results(examples, config=run_config(**(config or PIN.settings())), dataset=dataset_record(source))


def verdict_of(baseline: Results, candidate: Results, tolerances: Tolerances = TOLERANCES) -> dict[str, bool]:
    return {check.name: check.passed for check in judge(tolerances, baseline, candidate).checks}


F1_SPREAD = [((i * 37) % 10) / 10 for i in range(40)]


def test_equal_results_pass_every_check() -> None:
    base = document(F1_SPREAD)
    verdict = judge(TOLERANCES, base, document(F1_SPREAD))
    assert verdict.passed
    assert [check.name for check in verdict.checks] == [
        "F1", "exact match", "error rate", "p95 latency", "cost per question",
    ]  # fmt: skip


def test_a_significant_f1_drop_fails_and_a_small_one_does_not() -> None:
    base = document([0.8] * 40)
    worse = document([0.8] * 30 + [0.2] * 10)
    assert verdict_of(base, worse)["F1"] is False
    assert verdict_of(base, document([0.8] * 38 + [0.2] * 2))["F1"] is True  # 2 of 40 worse: not significant
    assert verdict_of(worse, base)["F1"] is True  # an improvement never fails
    lenient = Tolerances(0.05, 20.0, 0.0, 50.0, 10.0)  # the drop is 15 points: within 20
    assert verdict_of(base, worse, lenient)["F1"] is True


def test_a_significant_exact_match_drop_fails() -> None:
    base = document([1.0] * 30, [1.0] * 30)
    worse = document([1.0] * 30, [1.0] * 20 + [0.0] * 10)
    result = verdict_of(base, worse)
    assert result["exact match"] is False
    assert result["F1"] is True
    assert verdict_of(worse, base)["exact match"] is True


def test_an_error_rate_above_the_baselines_fails() -> None:
    base = document(F1_SPREAD, errors=[3])
    assert verdict_of(base, document(F1_SPREAD, errors=[3]))["error rate"] is True
    assert verdict_of(base, document(F1_SPREAD, errors=[5]))["error rate"] is True  # as many, other questions
    assert verdict_of(base, document(F1_SPREAD, errors=[3, 5]))["error rate"] is False
    allowance = Tolerances(0.05, 0.0, 0.05, 50.0, 10.0)  # one more in 40 is 2.5 points: within 5
    assert verdict_of(base, document(F1_SPREAD, errors=[3, 5]), allowance)["error rate"] is True


def test_latency_within_tolerance_passes_and_beyond_fails() -> None:
    base = document(F1_SPREAD, latency=[100.0] * 40)
    assert verdict_of(base, document(F1_SPREAD, latency=[150.0] * 40))["p95 latency"] is True  # +50%: the limit
    assert verdict_of(base, document(F1_SPREAD, latency=[151.0] * 40))["p95 latency"] is False
    assert verdict_of(base, document(F1_SPREAD, latency=[10.0] * 40))["p95 latency"] is True


def test_cost_per_question_within_tolerance_passes_beyond_or_unknown_fails() -> None:
    base = document(F1_SPREAD, cost=0.001)
    assert verdict_of(base, document(F1_SPREAD, cost=0.0011))["cost per question"] is True  # +10%: the limit
    assert verdict_of(base, document(F1_SPREAD, cost=0.00111))["cost per question"] is False
    unknown = judge(TOLERANCES, base, document(F1_SPREAD, cost=None)).checks[4]
    assert (unknown.passed, unknown.candidate) == (False, "n/a")
    assert "cannot pass" in unknown.detail


def test_runs_made_otherwise_are_refused() -> None:
    base = document(F1_SPREAD)
    with pytest.raises(GateRefusedError, match=r"candidate.json: the candidate was made with seed = 3, but the gates"):
        check_comparable(PIN, base, document(F1_SPREAD, config={**PIN.settings(), "seed": 3}), NAMES)
    with pytest.raises(
        GateRefusedError, match=r"baseline.json: the baseline was made with model = 'x'.*nox -s baseline"
    ):
        check_comparable(PIN, document(F1_SPREAD, config={**PIN.settings(), "model": "x"}), base, NAMES)
    with pytest.raises(GateRefusedError, match=r"1 not in the baseline, e.g. 'q40'"):
        check_comparable(PIN, base, document([*F1_SPREAD, 0.5]), NAMES)
    changed = document(F1_SPREAD)
    changed = replace(
        changed, examples=(replace(changed.examples[0], answers=("another answer",)), *changed.examples[1:])
    )
    with pytest.raises(GateRefusedError, match="1 questions have other reference answers"):
        check_comparable(PIN, base, changed, NAMES)
    check_comparable(PIN, base, document(F1_SPREAD, config={**PIN.settings(), "temperature": 0}), NAMES)  # 0 == 0.0


def test_squad_gates_refuse_a_run_on_the_sample() -> None:
    squad = BaselinePin("squad", 500, 0, 0, "claude-primary", 0.0, 64, 8)
    base = document(F1_SPREAD, config=squad.settings(), source="hub")
    fell_back = document(F1_SPREAD, config=squad.settings(), source="sample")  # an `auto`-like fallback
    with pytest.raises(
        GateRefusedError,
        match=r"came from 'sample' \(its dataset.source\) \(an `auto` run falls back.*not from 'squad'",
    ):
        check_comparable(squad, base, fell_back, NAMES)
    on_sample = document(F1_SPREAD, config={**squad.settings(), "dataset": "sample"}, source="sample")
    with pytest.raises(
        GateRefusedError, match="made with dataset = 'sample', but the gates file pins dataset = 'squad'"
    ):
        check_comparable(squad, base, on_sample, NAMES)
    check_comparable(squad, base, document(F1_SPREAD, config=squad.settings(), source="hub"), NAMES)


def test_the_committed_local_baseline_is_what_its_gates_file_pins() -> None:
    """Editing local.toml's pins without `nox -s baseline` would make every evaluate run refused."""
    gates = load_gates(Path(__file__).resolve().parents[1] / "gates" / "local.toml")
    baseline = load_run(gates.baseline)
    check_comparable(gates.pin, baseline, baseline, (str(gates.baseline), str(gates.baseline)))
    assert baseline_problems(baseline) == []
    assert judge(gates.tolerances, baseline, baseline).passed


# --- the command --------------------------------------------------------------------------------


GATES_TEXT = """\
schema = "bedrockgate-evals/gates/v1"
environment = "{environment}"
backend = "{backend}"

[baseline]
results = "baseline/results.json"
dataset = "{dataset}"
samples = {samples}
offset = 0
seed = {seed}
model = "{model}"
temperature = 0.0
max_tokens = {max_tokens}
concurrency = {concurrency}

[tolerances]
alpha = 0.05
f1_drop_points = 0.0
error_rate_increase = 0.0
p95_latency_increase_pct = 50.0
cost_per_question_increase_pct = 10.0
"""


def gates_file(directory: Path, pin: BaselinePin = PIN, *, backend: str = "emulator", p95_pct: float = 50.0) -> Path:
    path = directory / "env.toml"
    text = GATES_TEXT.format(environment="test", backend=backend, **pin.settings())
    path.write_text(text.replace("p95_latency_increase_pct = 50.0", f"p95_latency_increase_pct = {p95_pct}"), "utf-8")
    return path


def save(path: Path, results: Results) -> str:
    path.mkdir(parents=True, exist_ok=True)
    (path / "results.json").write_text(results.dumps(), encoding="utf-8")
    return str(path)


def test_gate_prints_a_table_and_exits_0_or_1(tmp_path: Path) -> None:
    gates = gates_file(tmp_path)
    save(tmp_path / "baseline", document([0.8] * 40))
    code, stdout, stderr = run_cli(
        "gate", "--gates", str(gates), "--results", save(tmp_path / "same", document([0.8] * 40))
    )
    assert (code, stderr) == (0, "")
    assert "40 questions paired" in stdout
    assert stdout.rstrip().endswith("verdict: PASSED")
    worse = save(tmp_path / "worse", document([0.8] * 30 + [0.2] * 10, latency=[400.0] * 40))
    code, stdout, _ = run_cli("gate", "--gates", str(gates), "--results", worse + "/results.json")
    assert code == 1
    assert "verdict: FAILED: F1, p95 latency" in stdout
    assert "<= 150 ms (baseline +50%)" in stdout
    code, stdout, _ = run_cli("gate", "--gates", str(gates), "--results", worse, "--format", "json")
    report = json.loads(stdout)
    assert (code, report["passed"], report["failed"]) == (1, False, ["F1", "p95 latency"])
    assert report["comparison"]["f1_difference"]["regressed"] == 10
    code, stdout, _ = run_cli("gate", "--gates", str(gates), "--results", worse, "--format", "markdown")
    assert stdout.startswith("## Release gate `test`: FAILED: F1, p95 latency")
    assert "| F1 | 80.00 | 65.00 |" in stdout


def test_gate_exits_2_with_the_reason(tmp_path: Path) -> None:
    gates = gates_file(tmp_path)
    candidate = save(tmp_path / "candidate", document(F1_SPREAD))
    code, stdout, stderr = run_cli("gate", "--gates", str(gates), "--results", candidate)
    assert (code, stdout) == (2, "")
    assert "baseline/results.json does not exist; make it with `nox -s baseline`" in stderr
    save(tmp_path / "baseline", document(F1_SPREAD, cost=None))
    code, _, stderr = run_cli("gate", "--gates", str(gates), "--results", candidate)
    assert code == 2
    assert "unusable as a baseline: its cost is unknown or incomplete" in stderr
    save(tmp_path / "baseline", document(F1_SPREAD))
    other = save(tmp_path / "other", document(F1_SPREAD, config={**PIN.settings(), "samples": 40}))
    code, _, stderr = run_cli("gate", "--gates", str(gates), "--results", other)
    assert code == 2
    assert "made with samples = 40, but the gates file pins samples = 30" in stderr
    code, _, stderr = run_cli("gate", "--gates", str(gates))
    assert (code, stderr) == (
        2,
        "bedrockgate-evals: error: gate: --results DIR_OR_JSON is required (or --print-run-args, --print-baseline)\n",
    )
    code, _, stderr = run_cli("gate", "--gates", str(tmp_path / "none.toml"), "--results", candidate)
    assert code == 2
    assert "none.toml: cannot read the gates file" in stderr


def test_print_run_args(tmp_path: Path) -> None:
    code, stdout, _ = run_cli("gate", "--gates", str(gates_file(tmp_path)), "--print-run-args")
    assert code == 0
    assert stdout == (
        "--dataset sample --samples 30 --offset 0 --seed 0 --model claude-primary --temperature 0 "
        "--max-tokens 16 --concurrency 1\n"
    )
    code, stdout, _ = run_cli("gate", "--gates", str(gates_file(tmp_path)), "--print-baseline")
    assert (code, stdout) == (0, f"{(tmp_path / 'baseline' / 'results.json').resolve()}\n")


def test_a_real_run_made_with_the_printed_args_is_judged(
    openai_server: Callable[..., FakeOpenAI], tmp_path: Path
) -> None:
    """The whole path: `run` with the gate's own options writes a results.json the gate accepts."""
    pin = BaselinePin("sample", 12, 0, 5, "test-model", 0.0, 16, 1)
    # Two real runs' latencies differ as much as the machine's load does: this test is about the settings, not them.
    gates = gates_file(tmp_path, pin, p95_pct=1_000_000.0)
    fake = openai_server(cost_usd=0.0005)
    code, stdout, _ = run_cli("gate", "--gates", str(gates), "--print-run-args")
    common = ["run", "--endpoint", fake.url, *stdout.split(), "--progress", "none", "--no-phoenix"]
    assert run_cli(*common, "--out", str(tmp_path / "baseline"))[0] == 0
    assert run_cli(*common, "--out", str(tmp_path / "candidate"))[0] == 0
    code, stdout, stderr = run_cli("gate", "--gates", str(gates), "--results", str(tmp_path / "candidate"))
    assert (code, stderr) == (0, ""), stdout
    assert "12 questions paired" in stdout
    assert run_cli(*common, "--seed", "6", "--out", str(tmp_path / "other"))[0] == 0  # argparse: the last --seed wins
    code, _, stderr = run_cli("gate", "--gates", str(gates), "--results", str(tmp_path / "other"))
    assert code == 2
    assert "made with seed = 6, but the gates file pins seed = 5" in stderr


# --- properties ---------------------------------------------------------------------------------

scores = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
latencies = st.floats(min_value=1.0, max_value=60_000.0, allow_nan=False)


@st.composite
def runs(draw: st.DrawFn, min_size: int = 1) -> Results:
    n = draw(st.integers(min_value=min_size, max_value=60))
    f1 = draw(st.lists(scores, min_size=n, max_size=n))
    em = [float(value == 1.0 or (draw(st.booleans()) and value > 0.9)) for value in f1]
    latency = draw(st.lists(latencies, min_size=n, max_size=n))
    errors = draw(st.sets(st.integers(min_value=0, max_value=n - 1), max_size=max(0, n // 4)))
    cost = draw(st.floats(min_value=0.0, max_value=0.1, allow_nan=False))
    return document(f1, em, latency=latency, errors=sorted(errors), cost=cost)


@settings(max_examples=150, deadline=None)
@given(runs())
def test_identical_results_always_pass(run: Results) -> None:
    assert judge(TOLERANCES, run, Results.from_json(json.loads(run.dumps()))).passed


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=8, max_value=60).flatmap(
        lambda n: st.tuples(st.lists(st.floats(0.3, 1.0), min_size=n, max_size=n), st.floats(0.3, 1.0))
    )
)
def test_lowering_every_f1_by_a_large_constant_always_fails(case: tuple[list[float], float]) -> None:
    f1, drop = case
    lowered = [max(0.0, value - drop) for value in f1]
    assert all(low < high for low, high in zip(lowered, f1, strict=True))  # every question strictly worse
    assert verdict_of(document(f1), document(lowered))["F1"] is False


@settings(max_examples=150, deadline=None)
@given(runs(min_size=2), st.randoms(use_true_random=False))
def test_the_verdict_does_not_depend_on_example_order(run: Results, rng: random.Random) -> None:
    # a different candidate, same questions
    candidate = replace(run, examples=tuple(replace(e, f1=round(e.f1 * rng.random(), 6)) for e in run.examples))
    expected = judge(TOLERANCES, run, candidate).checks
    shuffled_a = replace(run, examples=tuple(rng.sample(run.examples, len(run.examples))))
    shuffled_b = replace(candidate, examples=tuple(rng.sample(candidate.examples, len(candidate.examples))))
    assert judge(TOLERANCES, shuffled_a, shuffled_b).checks == expected


@settings(max_examples=150, deadline=None)
@given(latencies, latencies, st.floats(min_value=0.0, max_value=500.0), st.floats(0.0001, 0.1), st.floats(0.0001, 0.1))
def test_latency_and_cost_pass_exactly_within_their_tolerance(
    base_ms: float, new_ms: float, pct: float, base_cost: float, new_cost: float
) -> None:
    tolerances = Tolerances(0.05, 0.0, 0.0, pct, pct)
    result = verdict_of(
        document([0.5] * 5, latency=[base_ms] * 5, cost=base_cost),
        document([0.5] * 5, latency=[new_ms] * 5, cost=new_cost),
        tolerances,
    )
    assert result["p95 latency"] is (new_ms <= base_ms * (1 + pct / 100) * (1 + 1e-9))
    assert result["cost per question"] is (new_cost <= base_cost * (1 + pct / 100) * (1 + 1e-9))
