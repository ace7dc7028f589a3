"""Release gates: thresholds on a run's aggregates, each pass or fail with the margin.

A gate that cannot be checked fails: no latency because nothing was answered, a cost the endpoint
never reported, or reported for only part of the calls. A release gate that passes on missing
data is not a gate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bedrockgate.evals.exceptions import ConfigError
from bedrockgate.evals.metrics import Aggregate

__all__ = ["GATES", "GateResult", "GateSpec", "check_gates"]


@dataclass(frozen=True, slots=True)
class GateSpec:
    """One kind of gate: its option, what it reads, and which side of the threshold passes."""

    option: str
    label: str
    unit: str
    minimum: bool
    """True for ``--min-*`` (the value must be at least the threshold)."""
    read: Callable[[Aggregate], float | None]

    def format(self, value: float) -> str:
        """A value in this gate's unit, as the reports print it."""
        if self.unit == "ms":
            return f"{value:.0f} ms"
        if self.unit == "USD":
            return f"${value:.4f}"
        if self.unit == "rate":
            return f"{value:.2%}"
        if self.unit == "cosine":
            return f"{value:.3f}"
        return f"{value:.2f}"


def _cost(aggregate: Aggregate) -> float | None:
    return aggregate.cost_usd


GATES: dict[str, GateSpec] = {
    spec.option: spec
    for spec in (
        GateSpec("min-em", "exact match", "points", True, lambda a: a.exact_match),
        GateSpec("min-f1", "F1", "points", True, lambda a: a.f1),
        GateSpec("min-similarity", "semantic similarity", "cosine", True, lambda a: a.similarity),
        GateSpec("max-p95-ms", "p95 latency", "ms", False, lambda a: a.latency.p95),
        GateSpec("max-error-rate", "error rate", "rate", False, lambda a: a.error_rate),
        GateSpec("max-cost-usd", "cost", "USD", False, _cost),
    )
}


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate's verdict."""

    option: str
    threshold: float
    value: float | None
    passed: bool
    message: str


def validate_thresholds(thresholds: Mapping[str, float]) -> None:
    """Reject thresholds that can never mean anything (negative, not finite, a rate above 1)."""
    for option, threshold in thresholds.items():
        if option not in GATES:
            raise ConfigError(f"unknown gate --{option}")
        if not math.isfinite(threshold) or threshold < 0:
            raise ConfigError(f"--{option} must be a number of 0 or more, not {threshold}")
        if option == "max-error-rate" and threshold > 1:
            raise ConfigError(f"--max-error-rate is a fraction from 0 to 1 (0.02 for 2%), not {threshold}")
        if option in {"min-em", "min-f1"} and threshold > 100:
            raise ConfigError(f"--{option} is on the 0-100 scale, not {threshold}")


def check_gates(aggregate: Aggregate, thresholds: Mapping[str, float]) -> list[GateResult]:
    """Each requested gate's verdict, in the order of :data:`GATES`."""
    results = []
    for option, spec in GATES.items():
        if option not in thresholds:
            continue
        threshold = thresholds[option]
        value = spec.read(aggregate)
        label = f"--{option} {spec.format(threshold)}"
        if value is None:
            results.append(GateResult(option, threshold, None, False, f"{label}: FAILED, {_unknown(option)}"))
            continue
        passed = value >= threshold if spec.minimum else value <= threshold
        if option == "max-cost-usd" and passed and not aggregate.cost_complete:
            message = (
                f"{label}: FAILED, cost reported for only {aggregate.cost_reported} of {aggregate.cost_expected} "
                f"calls (those cost {spec.format(value)}); the total is unknown"
            )
            results.append(GateResult(option, threshold, value, False, message))
            continue
        margin = abs(value - threshold)
        if passed:
            message = f"{label}: passed, {spec.label} {spec.format(value)}"
        else:
            side = "short by" if spec.minimum else "over by"
            message = f"{label}: FAILED, {spec.label} {spec.format(value)} ({side} {spec.format(margin)})"
        results.append(GateResult(option, threshold, value, passed, message))
    return results


def _unknown(option: str) -> str:
    return {
        "min-similarity": "similarity was not measured (set --embedding-model)",
        "max-p95-ms": "no question was answered, so there is no latency",
        "max-cost-usd": "the endpoint reported no cost (LiteLLM's x-litellm-response-cost header or usage.cost)",
    }.get(option, "the value is unknown")
