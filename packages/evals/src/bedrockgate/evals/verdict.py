"""``gate``: judge a candidate run against the baseline its environment's gates file names.

Five checks, each pass or fail with the figures behind it:

- **F1**: fails on a drop that the Wilcoxon signed-rank test on per-question F1 calls significant
  (``p < alpha``) and that is larger than ``f1_drop_points`` (the same decision as ``compare``);
- **exact match**: fails when more questions lose their exact match than gain one and McNemar's
  exact test calls that significant;
- **error rate**: fails above the baseline's rate plus ``error_rate_increase``;
- **p95 latency** and **cost per question**: fail above the baseline's by more than their
  percentage tolerances, and when the candidate's figure is unknown (a gate that cannot be
  checked fails, as in :mod:`bedrockgate.evals.gates`).

Before any of that, :func:`check_comparable` refuses a pair of runs that are not comparable (other
dataset, sample, model or generation settings than the gates file pins, or other questions):
such a comparison is not a verdict, it is an error (exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrockgate.evals.compare import Comparison, compare_results
from bedrockgate.evals.exceptions import GateRefusedError
from bedrockgate.evals.gatefile import BaselinePin, GatesFile, Tolerances
from bedrockgate.evals.metrics import Aggregate
from bedrockgate.evals.results import Results, load_results

__all__ = [
    "Check",
    "Verdict",
    "baseline_problems",
    "check_comparable",
    "judge",
    "load_run",
    "render_verdict",
    "verdict_json",
]

_DATASET_SOURCE = {"sample": "sample", "squad": "hub"}
# Rates and ratios are computed from the same integers in both runs; this absorbs float rounding only.
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Check:
    """One row of the verdict table."""

    name: str
    baseline: str
    candidate: str
    limit: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        """The row as JSON (``--format json``)."""
        return {
            "check": self.name,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "limit": self.limit,
            "passed": self.passed,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """Every check of one candidate against its baseline."""

    checks: tuple[Check, ...]
    comparison: Comparison

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> tuple[str, ...]:
        """The names of the checks that failed."""
        return tuple(check.name for check in self.checks if not check.passed)


def load_run(path: Path) -> Results:
    """A ``results.json``, given as the file or as the ``--out`` directory holding it."""
    return load_results(path / "results.json" if path.is_dir() else path)


def check_comparable(pin: BaselinePin, baseline: Results, candidate: Results, names: tuple[str, str]) -> None:
    """Refuse runs not made as the gates file pins, or not over the same questions and references."""
    for results, name, role in ((baseline, names[0], "baseline"), (candidate, names[1], "candidate")):
        config = results.config.to_json()
        fix = (
            "re-make the baseline with `nox -s baseline`"
            if role == "baseline"
            else "rerun it with the gate's options (`bedrockgate-evals gate --gates FILE --print-run-args`)"
        )
        for key, pinned in pin.settings().items():
            found = config[key]
            if not _same(pinned, found):
                raise GateRefusedError(
                    f"{name}: the {role} was made with {key} = {found!r}, but the gates file pins {key} = "
                    f"{pinned!r}; {fix}"
                )
        source = results.dataset.info.source
        expected = _DATASET_SOURCE.get(pin.dataset, "hub")
        if source != expected:
            note = " (an `auto` run falls back to it when the Hub is unreachable)" if source == "sample" else ""
            raise GateRefusedError(
                f"{name}: the {role}'s questions came from {source!r} (its dataset.source){note}, not from "
                f"{pin.dataset!r} as the gates file pins; {fix}"
            )
    _same_questions(baseline, candidate, names)


def judge(tolerances: Tolerances, baseline: Results, candidate: Results) -> Verdict:
    """Every check of ``candidate`` against ``baseline``."""
    comparison = compare_results(baseline, candidate, alpha=tolerances.alpha, tolerance=tolerances.f1_drop_points)
    a, b = baseline.metrics, candidate.metrics
    checks = (
        _f1(comparison, tolerances),
        _exact_match(comparison, tolerances),
        _error_rate(a, b, tolerances.error_rate_increase),
        _increase("p95 latency", a.latency.p95, b.latency.p95, tolerances.p95_latency_increase_pct, _ms),
        _increase(
            "cost per question",
            _cost_per_question(a),
            _cost_per_question(b),
            tolerances.cost_per_question_increase_pct,
            _usd,
        ),
    )
    return Verdict(checks, comparison)


def baseline_problems(baseline: Results) -> list[str]:
    """What makes a baseline unusable: no latency, or no complete cost (the checks would compare with nothing)."""
    metrics = baseline.metrics
    problems = []
    if metrics.latency.p95 is None:
        problems.append("it has no p95 latency (no question was answered)")
    if _cost_per_question(metrics) is None:
        problems.append("its cost is unknown or incomplete (the endpoint did not report it for every call)")
    return problems


def render_verdict(verdict: Verdict, gates: GatesFile, candidate_name: str, *, markdown: bool = False) -> str:
    """The verdict table for people (text, or Markdown for CI step summaries)."""
    word = "PASSED" if verdict.passed else "FAILED: " + ", ".join(verdict.failed)
    comparison = verdict.comparison
    header = [
        f"environment: {gates.environment} ({gates.path})",
        f"baseline:    {gates.baseline}",
        f"candidate:   {candidate_name}",
        f"{comparison.paired} questions paired; per-question F1 candidate - baseline: "
        f"{comparison.improved} better, {comparison.regressed} worse",
    ]
    columns = ("check", "baseline", "candidate", "limit", "result")
    rows = [
        (c.name, c.baseline, c.candidate, c.limit, ("passed" if c.passed else "FAILED") + f" ({c.detail})")
        for c in verdict.checks
    ]
    if markdown:
        lines = [f"## Release gate `{gates.environment}`: {word}", "", *(f"- {line}" for line in header), ""]
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    widths = [max(len(row[i]) for row in (columns, *rows)) for i in range(len(columns) - 1)]
    table = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in (columns, *rows)
    ]
    return "\n".join([*header, "", *table, "", f"verdict: {word}"]) + "\n"


def verdict_json(verdict: Verdict, gates: GatesFile, candidate_name: str) -> str:
    """The verdict as JSON (``--format json``)."""
    document = {
        "environment": gates.environment,
        "gates_file": str(gates.path),
        "baseline": str(gates.baseline),
        "candidate": candidate_name,
        "passed": verdict.passed,
        "failed": list(verdict.failed),
        "checks": [check.to_json() for check in verdict.checks],
        "comparison": verdict.comparison.to_json(),
    }
    return json.dumps(document, indent=2) + "\n"


# --- the checks --------------------------------------------------------------------------------


def _f1(comparison: Comparison, tolerances: Tolerances) -> Check:
    diff, test = comparison.f1_difference, comparison.f1_test
    row = next(row for row in comparison.rows if row.name == "F1")
    limit = f"no significant drop (Wilcoxon p < {tolerances.alpha:g})"
    if tolerances.f1_drop_points:
        limit += f" over {tolerances.f1_drop_points:g} points"
    return Check(
        "F1",
        _points(row.a),
        _points(row.b),
        limit,
        comparison.verdict != "regression",
        f"mean {diff.mean:+.2f} points, 95% CI {diff.low:+.2f} to {diff.high:+.2f}, p = {test.p_value:.3g}",
    )


def _exact_match(comparison: Comparison, tolerances: Tolerances) -> Check:
    test = comparison.em_test
    row = next(row for row in comparison.rows if row.name == "exact match")
    dropped = test.negative > test.positive and test.p_value < tolerances.alpha
    return Check(
        "exact match",
        _points(row.a),
        _points(row.b),
        f"no significant drop (McNemar p < {tolerances.alpha:g})",
        not dropped,
        f"{test.negative} lost, {test.positive} gained, p = {test.p_value:.3g}",
    )


def _error_rate(a: Aggregate, b: Aggregate, allowance: float) -> Check:
    rate_a, rate_b = a.error_rate, b.error_rate
    limit = rate_a + allowance
    passed = rate_b <= limit + _EPSILON
    extra = f" (baseline + {allowance:.2%})" if allowance else " (the baseline's)"
    return Check(
        "error rate", _rate(rate_a), _rate(rate_b), f"<= {limit:.2%}{extra}", passed,
        f"{b.errors} of {b.total} questions failed",
    )  # fmt: skip


def _increase(name: str, a: float | None, b: float | None, pct: float, fmt: Callable[[float], str]) -> Check:
    if a is None:
        return Check(name, "n/a", _or_na(b, fmt), "known in the baseline", False, "the baseline has no figure")
    limit = a * (1.0 + pct / 100.0)
    text = f"<= {fmt(limit)} (baseline +{pct:g}%)"
    if b is None:
        return Check(name, fmt(a), "n/a", text, False, "unknown in the candidate, so it cannot pass")
    change = "" if a == 0 else f"{(b - a) / a:+.1%}"
    passed = b <= limit * (1.0 + _EPSILON)
    return Check(name, fmt(a), fmt(b), text, passed, change or ("unchanged" if b == a else "from 0"))


def _cost_per_question(metrics: Aggregate) -> float | None:
    """Unknown unless every paid call reported its cost."""
    total = metrics.cost_usd
    if total is None or not metrics.total or not metrics.cost_complete:
        return None
    return total / metrics.total


def _same(pinned: Any, found: Any) -> bool:
    if isinstance(pinned, float) and isinstance(found, int | float) and not isinstance(found, bool):
        return float(found) == pinned
    return bool(type(pinned) is type(found) and pinned == found) or (pinned is None and found is None)


def _same_questions(baseline: Results, candidate: Results, names: tuple[str, str]) -> None:
    a, b = baseline.examples_by_id(), candidate.examples_by_id()
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_a or only_b:
        raise GateRefusedError(
            f"{names[1]}: not the baseline's questions ({len(only_b)} not in the baseline, e.g. "
            f"{(only_b or ['-'])[0]!r}; {len(only_a)} of the baseline's missing, e.g. {(only_a or ['-'])[0]!r}); "
            "rerun with the gate's options, or re-make the baseline with `nox -s baseline`"
        )
    changed = sorted(identifier for identifier in a if a[identifier].answers != b[identifier].answers)
    if changed:
        raise GateRefusedError(
            f"{names[1]}: {len(changed)} questions have other reference answers than in the baseline (e.g. "
            f"{changed[0]!r}): another dataset revision; re-make the baseline with `nox -s baseline`"
        )


# --- formatting --------------------------------------------------------------------------------


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _rate(value: float) -> str:
    return f"{value:.2%}"


def _ms(value: float) -> str:
    return f"{value:.0f} ms"


def _usd(value: float) -> str:
    return f"${value:.6f}"


def _or_na(value: float | None, fmt: Callable[[float], str]) -> str:
    return "n/a" if value is None else fmt(value)
