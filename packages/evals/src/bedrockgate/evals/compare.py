"""``compare``: the differences between a baseline run (A) and a candidate run (B), with a paired test.

A threshold gate answers "is B good enough"; this answers "is B worse than A", which catches a
regression that still clears the threshold. Questions are paired by id, and the decision rests on
the Wilcoxon signed-rank test of the per-question F1 differences (see :mod:`bedrockgate.evals._stats`):
B is a *regression* when its mean F1 is lower, the drop is larger than ``tolerance`` points, and
the test says the drop is unlikely to be chance (``p < alpha``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bedrockgate.evals._stats import (
    MeanDifference,
    SignTest,
    WilcoxonResult,
    mean_difference,
    sign_test,
    wilcoxon_signed_rank,
)
from bedrockgate.evals.exceptions import ResultsError
from bedrockgate.evals.metrics import Aggregate
from bedrockgate.evals.results import Results

__all__ = ["Comparison", "MetricRow", "compare_results"]

_CONFIG_KEYS = (
    "endpoint",
    "model",
    "embedding_model",
    "prompt_digest",
    "max_tokens",
    "temperature",
    "postprocess",
    "seed",
)


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One aggregate in both runs."""

    name: str
    a: float | None
    b: float | None
    higher_is_better: bool

    @property
    def delta(self) -> float | None:
        """``b - a`` when both are known."""
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass(frozen=True, slots=True)
class Comparison:
    """Everything ``compare`` reports."""

    paired: int
    only_a: int
    only_b: int
    changed_questions: int
    """Paired ids whose reference answers differ between the files (a different dataset revision)."""
    rows: tuple[MetricRow, ...]
    f1_difference: MeanDifference
    """Mean per-question F1 difference (B - A) in points, with its 95% interval."""
    f1_test: WilcoxonResult
    em_test: SignTest
    """McNemar's exact test on exact match: ``positive`` questions only B gets right, ``negative`` only A."""
    improved: int
    regressed: int
    alpha: float
    tolerance: float
    config_differences: tuple[tuple[str, Any, Any], ...]

    @property
    def verdict(self) -> str:
        """``regression``, ``drop within tolerance``, ``improvement`` or ``no significant difference``."""
        if self.f1_test.p_value >= self.alpha:
            return "no significant difference"
        if self.f1_difference.mean < 0:
            return "regression" if -self.f1_difference.mean > self.tolerance else "drop within tolerance"
        return "improvement"

    def to_json(self) -> dict[str, Any]:
        """The comparison as JSON (``--format json``)."""
        return {
            "verdict": self.verdict,
            "paired": self.paired,
            "only_a": self.only_a,
            "only_b": self.only_b,
            "changed_questions": self.changed_questions,
            "metrics": [
                {"name": row.name, "a": row.a, "b": row.b, "delta": row.delta, "higher_is_better": row.higher_is_better}
                for row in self.rows
            ],
            "f1_difference": {
                "mean": self.f1_difference.mean,
                "ci95": [self.f1_difference.low, self.f1_difference.high],
                "improved": self.improved,
                "regressed": self.regressed,
                "unchanged": self.paired - self.improved - self.regressed,
            },
            "wilcoxon": {
                "statistic": self.f1_test.statistic,
                "p_value": self.f1_test.p_value,
                "nonzero": self.f1_test.nonzero,
                "method": self.f1_test.method,
            },
            "mcnemar_exact_match": {
                "only_b_correct": self.em_test.positive,
                "only_a_correct": self.em_test.negative,
                "p_value": self.em_test.p_value,
            },
            "alpha": self.alpha,
            "tolerance": self.tolerance,
            "config_differences": [{"key": k, "a": a, "b": b} for k, a, b in self.config_differences],
        }


def compare_results(a: Results, b: Results, *, alpha: float = 0.05, tolerance: float = 0.0) -> Comparison:
    """Compare two runs' results (A the baseline, B the candidate)."""
    if not 0 < alpha < 1:
        raise ResultsError(f"--alpha must be between 0 and 1, not {alpha}")
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ResultsError(f"--tolerance must be 0 or more F1 points, not {tolerance}")
    examples_a, examples_b = a.examples_by_id(), b.examples_by_id()
    paired_ids = [identifier for identifier in examples_a if identifier in examples_b]
    if not paired_ids:
        raise ResultsError("the two runs have no question in common: compare runs over the same dataset and seed")
    f1_diffs = [100.0 * (examples_b[i].f1 - examples_a[i].f1) for i in paired_ids]
    em_diffs = [examples_b[i].exact_match - examples_a[i].exact_match for i in paired_ids]
    changed = sum(1 for i in paired_ids if examples_a[i].answers != examples_b[i].answers)
    config_a, config_b = a.config.to_json(), b.config.to_json()
    return Comparison(
        paired=len(paired_ids),
        only_a=len(examples_a) - len(paired_ids),
        only_b=len(examples_b) - len(paired_ids),
        changed_questions=changed,
        rows=_rows(a.metrics, b.metrics),
        f1_difference=mean_difference(f1_diffs),
        f1_test=wilcoxon_signed_rank(f1_diffs),
        em_test=sign_test(em_diffs),
        improved=sum(1 for d in f1_diffs if d > 0),
        regressed=sum(1 for d in f1_diffs if d < 0),
        alpha=alpha,
        tolerance=tolerance,
        config_differences=tuple(
            (key, config_a[key], config_b[key]) for key in _CONFIG_KEYS if config_a[key] != config_b[key]
        ),
    )


_ROWS: tuple[tuple[str, Callable[[Aggregate], float | None], bool], ...] = (
    ("exact match", lambda m: m.exact_match, True),
    ("F1", lambda m: m.f1, True),
    ("semantic similarity", lambda m: m.similarity, True),
    ("error rate", lambda m: m.error_rate, False),
    ("latency p50 (ms)", lambda m: m.latency.p50, False),
    ("latency p95 (ms)", lambda m: m.latency.p95, False),
    ("latency p99 (ms)", lambda m: m.latency.p99, False),
    ("tokens", lambda m: m.total_tokens, False),
    ("cost (USD)", lambda m: m.cost_usd, False),
)


def _rows(a: Aggregate, b: Aggregate) -> tuple[MetricRow, ...]:
    def get(metrics: Aggregate, read: Callable[[Aggregate], float | None]) -> float | None:
        value = read(metrics)
        return None if value is None else float(value)

    return tuple(MetricRow(name, get(a, read), get(b, read), better) for name, read, better in _ROWS)


def render_text(comparison: Comparison, a_name: str, b_name: str, *, markdown: bool = False) -> str:
    """The comparison for people: a table of aggregates, the paired test, and the verdict."""
    lines = [f"A (baseline): {a_name}", f"B (candidate): {b_name}", ""]
    if markdown:
        lines = [
            f"## Evaluation comparison: {comparison.verdict}",
            "",
            f"- A (baseline): `{a_name}`",
            f"- B (candidate): `{b_name}`",
            "",
        ]
        lines += ["| metric | A | B | B - A |", "|---|---|---|---|"]
        lines += [
            f"| {row.name} | {_fmt(row.a)} | {_fmt(row.b)} | {_fmt(row.delta, signed=True)} |"
            for row in comparison.rows
        ]
    else:
        width = max(len(row.name) for row in comparison.rows)
        lines.append(f"{'metric':<{width}}  {'A':>12}  {'B':>12}  {'B - A':>12}")
        lines += [
            f"{row.name:<{width}}  {_fmt(row.a):>12}  {_fmt(row.b):>12}  {_fmt(row.delta, signed=True):>12}"
            for row in comparison.rows
        ]
    diff, test, em = comparison.f1_difference, comparison.f1_test, comparison.em_test
    unchanged = comparison.paired - comparison.improved - comparison.regressed
    bullet = "- " if markdown else ""
    lines += [
        "",
        f"{bullet}{comparison.paired} questions paired"
        + (
            f" ({comparison.only_a} only in A, {comparison.only_b} only in B, not compared)"
            if comparison.only_a or comparison.only_b
            else ""
        ),
        f"{bullet}per-question F1, B - A: mean {diff.mean:+.2f} points (95% CI {diff.low:+.2f} to {diff.high:+.2f}); "
        f"{comparison.improved} better, {comparison.regressed} worse, {unchanged} unchanged",
        f"{bullet}Wilcoxon signed-rank test on F1: p = {test.p_value:.4g} "
        f"({test.method}, {test.nonzero} non-zero differences)",
        f"{bullet}McNemar exact test on exact match: p = {em.p_value:.4g} "
        f"({em.positive} only B right, {em.negative} only A right)",
    ]
    if comparison.changed_questions:
        lines.append(
            f"{bullet}warning: {comparison.changed_questions} paired questions have different reference answers "
            "in the two files"
        )
    for key, value_a, value_b in comparison.config_differences:
        lines.append(f"{bullet}config {key}: {value_a!r} in A, {value_b!r} in B")
    lines += [
        "",
        f"verdict: {comparison.verdict} (alpha {comparison.alpha:g}, tolerance {comparison.tolerance:g} F1 points)",
    ]
    return "\n".join(lines) + "\n"


def _fmt(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.4g}" if signed else f"{value:.4g}"
