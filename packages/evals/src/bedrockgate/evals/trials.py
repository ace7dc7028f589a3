"""Results documents made from chosen examples, with their headline metrics recomputed.

Measuring a gate's false-positive and detection rates needs many candidate/baseline pairs, and
on the local stack each real run of 30 questions takes minutes: the rates measurement
(``nox -s gate_rates``) therefore draws trials from the examples of a few real runs, and tests
build documents directly. Either way the document must look to ``compare`` and ``gate`` exactly
like a run's: the examples, and the metrics block fields they read (F1, exact match, errors, p95
latency, cost), computed as ``run`` computes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bedrockgate.evals.metrics import percentile
from bedrockgate.evals.results import SCHEMA

__all__ = ["trial_document"]


def trial_document(
    examples: Sequence[Mapping[str, Any]], *, config: Mapping[str, Any], dataset: Mapping[str, Any]
) -> dict[str, Any]:
    """A ``results.json``-shaped document over ``examples`` (entries as ``run`` writes them).

    A question is an error when its entry has an ``error``; latency is over the answered ones;
    cost counts as complete when every answered question reported one.

    >>> entry = {"id": "q1", "answers": ["a"], "f1": 0.5, "exact_match": 0.0, "latency_ms": 10.0,
    ...          "cost_usd": 0.001, "error": None}
    >>> metrics = trial_document([entry], config={}, dataset={})["metrics"]
    >>> metrics["f1"], metrics["errors"]["rate"], metrics["latency_ms"]["p95"], metrics["cost_usd"]["total"]
    (50.0, 0.0, 10.0, 0.001)
    """
    total = len(examples)
    answered = [example for example in examples if example.get("error") is None]
    latencies = sorted(float(e["latency_ms"]) for e in answered if isinstance(e.get("latency_ms"), int | float))
    costs = [float(e["cost_usd"]) for e in answered if isinstance(e.get("cost_usd"), int | float)]
    errors = total - len(answered)
    metrics = {
        "total": total,
        "answered": len(answered),
        "exact_match": 100.0 * math.fsum(float(e["exact_match"]) for e in examples) / total if total else 0.0,
        "f1": 100.0 * math.fsum(float(e["f1"]) for e in examples) / total if total else 0.0,
        "latency_ms": {
            "count": len(latencies),
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
        },
        "cost_usd": {"total": math.fsum(costs) if costs else None, "reported": len(costs), "expected": len(answered)},
        "errors": {"count": errors, "rate": errors / total if total else 0.0},
    }
    return {
        "schema": SCHEMA,
        "config": dict(config),
        "dataset": dict(dataset),
        "metrics": metrics,
        "examples": [dict(example) for example in examples],
    }
