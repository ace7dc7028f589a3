"""Results made from chosen examples, with their aggregates recomputed.

Measuring a gate's false-positive and detection rates needs many candidate/baseline pairs, and
on the local stack each real run of 30 questions takes minutes: the rates measurement
(``nox -s gate_rates``) therefore draws trials from the examples of a few real runs, and tests
build results directly. Either way the results must look to ``compare`` and ``gate`` exactly
like a run's: the examples, and the aggregates they read (F1, exact match, errors, p95 latency,
cost), computed as ``run`` computes them. What a record does not carry (the embedding calls'
cost, similarity) is left out: no check reads it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from bedrockgate.evals.metrics import Aggregate, LatencySummary
from bedrockgate.evals.results import ConfigRecord, DatasetRecord, ExampleRecord, GatesRecord, Results, RunRecord

__all__ = ["trial_results"]


def trial_results(examples: Sequence[ExampleRecord], *, config: ConfigRecord, dataset: DatasetRecord) -> Results:
    """Results over ``examples`` (records as ``run`` writes them), as if one run had answered exactly these.

    A question is an error when its record has an ``error``; latency is over the answered ones;
    cost counts as complete when every answered question reported one.

    >>> from bedrockgate.evals.client import Failure
    >>> from bedrockgate.evals.dataset import DatasetInfo
    >>> answered = ExampleRecord("q1", "", "Who?", "who", ("a",), "a b", "a b", (), 0, 0.5, 0, 0.5, "a", None, None,
    ...                          10.0, 10.0, 1, None, None, None, 0.001, "stop", None, None, None, None)
    >>> config = ConfigRecord("http://x/v1", "m", None, "KEY", False, 1, 60.0, 3, 1.0, 20.0, 16, 0.0, "", "{question}",
    ...                       "digest", (), "sample", 1, 0, 0, {})
    >>> dataset = DatasetRecord(DatasetInfo("sample", "sample", None, None), 302, 1)
    >>> metrics = trial_results([answered], config=config, dataset=dataset).metrics
    >>> metrics.f1, metrics.error_rate, metrics.latency.p95, metrics.cost_usd
    (50.0, 0.0, 10.0, 0.001)
    """
    run = RunRecord(started_at="", finished_at="", wall_s=0.0, asked=len(examples), reused=0, preflight_ms=None)
    return Results(
        run=run,
        config=config,
        dataset=dataset,
        metrics=_metrics(examples),
        gates=GatesRecord(()),
        versions={},
        phoenix=None,
        examples=tuple(examples),
    )


def _metrics(examples: Sequence[ExampleRecord]) -> Aggregate:
    total = len(examples)
    answered = [example for example in examples if example.error is None]
    costs = [e.cost_usd for e in answered if e.cost_usd is not None]

    def points(values: Iterable[float]) -> float:
        return 100.0 * math.fsum(values) / total if total else 0.0

    return Aggregate(
        total=total,
        answered=len(answered),
        exact_match=points(e.exact_match for e in examples),
        f1=points(e.f1 for e in examples),
        raw_exact_match=points(e.raw_exact_match for e in examples),
        raw_f1=points(e.raw_f1 for e in examples),
        similarity=None,
        similarity_measured=0,
        similarity_errors=0,
        latency=LatencySummary.of([e.latency_ms for e in answered if e.latency_ms is not None]),
        prompt_tokens=sum(e.prompt_tokens or 0 for e in answered),
        completion_tokens=sum(e.completion_tokens or 0 for e in answered),
        total_tokens=sum(e.total_tokens or 0 for e in answered),
        chat_cost_usd=math.fsum(costs),
        embedding_cost_usd=0.0,
        cost_reported=len(costs),
        cost_expected=len(answered),
        errors_by_kind=dict(sorted(Counter(e.error.kind for e in examples if e.error is not None).items())),
        attempts=sum(e.attempts for e in examples),
        retried=sum(1 for e in examples if e.attempts > 1),
        postprocess_changed={},
        served_by={},
    )
