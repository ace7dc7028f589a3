"""Paired significance tests for ``compare``, in the standard library.

Two runs on the same questions are paired samples, so the tests look at per-question differences:

- the **Wilcoxon signed-rank test** on per-question F1 differences is the decision test. F1
  differences are bounded, mostly zero and far from normal, which rules out a paired t-test; the
  signed-rank test assumes only a symmetric distribution of differences under no change, and it
  uses their sizes, which a sign test throws away. Zero differences are dropped (Wilcoxon's
  method), tied sizes get average ranks; with at most 50 non-zero differences the p-value is exact
  (the null distribution is counted, ties included), above that it is the normal approximation
  with the tie-corrected variance and a continuity correction, the same choices as
  ``scipy.stats.wilcoxon(zero_method="wilcox", correction=True)``;
- the **exact sign test**, which on 0/1 exact-match differences is McNemar's exact test.

Why not scipy: these are about a hundred lines, and scipy is over 100 MB for an evaluation
suite that otherwise needs none of it. A paired bootstrap would need thousands of passes over
ten thousand questions in pure Python, too slow for a CLI.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MeanDifference", "SignTest", "WilcoxonResult", "mean_difference", "sign_test", "wilcoxon_signed_rank"]

EXACT_LIMIT = 50


@dataclass(frozen=True, slots=True)
class WilcoxonResult:
    """The two-sided signed-rank test: statistic ``min(W+, W-)``, its p-value, and how it was computed."""

    statistic: float
    p_value: float
    nonzero: int
    method: str
    """``exact``, ``normal`` or ``none`` (no non-zero difference: nothing to test, p = 1)."""


@dataclass(frozen=True, slots=True)
class SignTest:
    """The exact two-sided sign test on the signs of the differences."""

    positive: int
    negative: int
    p_value: float


@dataclass(frozen=True, slots=True)
class MeanDifference:
    """The mean paired difference and its normal-approximation 95% confidence interval."""

    mean: float
    low: float
    high: float
    n: int


def wilcoxon_signed_rank(differences: Sequence[float]) -> WilcoxonResult:
    """Two-sided Wilcoxon signed-rank test of "the differences are centred on zero".

    >>> result = wilcoxon_signed_rank([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> result.statistic, round(result.p_value, 6), result.method
    (0.0, 0.03125, 'exact')
    """
    nonzero = [d for d in differences if d != 0]
    n = len(nonzero)
    if n == 0:
        return WilcoxonResult(0.0, 1.0, 0, "none")
    ranks = _average_ranks([abs(d) for d in nonzero])
    w_plus = math.fsum(rank for rank, d in zip(ranks, nonzero, strict=True) if d > 0)
    total = n * (n + 1) / 2.0
    statistic = min(w_plus, total - w_plus)
    if n <= EXACT_LIMIT:
        return WilcoxonResult(statistic, _exact_p(ranks, statistic), n, "exact")
    mean = total / 2.0
    tie_counts: dict[float, int] = {}
    for rank in ranks:
        tie_counts[rank] = tie_counts.get(rank, 0) + 1
    variance = n * (n + 1) * (2 * n + 1) / 24.0 - sum(t**3 - t for t in tie_counts.values()) / 48.0
    if variance <= 0:
        return WilcoxonResult(statistic, 1.0, n, "normal")
    deviation = statistic - mean
    correction = 0.5 * math.copysign(1.0, deviation) if deviation else 0.0
    z = (deviation - correction) / math.sqrt(variance)
    return WilcoxonResult(statistic, min(1.0, math.erfc(abs(z) / math.sqrt(2.0))), n, "normal")


def sign_test(differences: Sequence[float]) -> SignTest:
    """Exact two-sided sign test (McNemar's exact test when the differences are of 0/1 outcomes).

    >>> sign_test([1, 1, 1, 1, 1, 0, -1]).p_value
    0.21875
    """
    positive = sum(1 for d in differences if d > 0)
    negative = sum(1 for d in differences if d < 0)
    n = positive + negative
    if n == 0:
        return SignTest(0, 0, 1.0)
    smaller = min(positive, negative)
    term = tail = 1  # C(n, 0); each next binomial coefficient from the last, exactly, in integers
    for k in range(smaller):
        term = term * (n - k) // (k + 1)
        tail += term
    return SignTest(positive, negative, min(1.0, 2 * tail / (1 << n)))


def mean_difference(differences: Sequence[float]) -> MeanDifference:
    """Mean of the differences with ``mean ± 1.96 · sd / √n`` (zeros included: they are real pairs)."""
    n = len(differences)
    if n == 0:
        return MeanDifference(0.0, 0.0, 0.0, 0)
    mean = math.fsum(differences) / n
    if n == 1:
        return MeanDifference(mean, mean, mean, 1)
    sd = math.sqrt(math.fsum((d - mean) ** 2 for d in differences) / (n - 1))
    half = 1.959963984540054 * sd / math.sqrt(n)
    return MeanDifference(mean, mean - half, mean + half, n)


def _average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing the average of the ranks they span."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        average = (start + end) / 2.0 + 1.0
        for position in range(start, end + 1):
            ranks[order[position]] = average
        start = end + 1
    return ranks


def _exact_p(ranks: Sequence[float], statistic: float) -> float:
    """``2 · P(W+ <= statistic)`` under the null, counted over all 2^n sign patterns.

    Doubled ranks are integers even with ties (averages are halves), so the distribution of W+ is
    counted by dynamic programming over doubled sums; it is symmetric, hence the factor 2.
    """
    doubled = [round(2 * rank) for rank in ranks]
    counts = [0] * (sum(doubled) + 1)
    counts[0] = 1
    reach = 0
    for value in doubled:
        for total in range(reach, -1, -1):
            if counts[total]:
                counts[total + value] += counts[total]
        reach += value
    limit = round(2 * statistic)
    return min(1.0, 2 * sum(counts[: limit + 1]) / (1 << len(doubled)))
