"""The paired tests behind ``compare``: reference values from scipy, and exact p-values checked by enumeration."""

from __future__ import annotations

import itertools
import math

import pytest
from bedrockgate.evals._stats import EXACT_LIMIT, mean_difference, sign_test, wilcoxon_signed_rank
from hypothesis import given, settings
from hypothesis import strategies as st

# Computed once with scipy 1.17.1: scipy.stats.wilcoxon(d, zero_method="wilcox", correction=True,
# method="approx") for the normal approximation, method="exact" for the small case; and
# scipy.stats.binomtest(3, 20).pvalue. scipy is not a dependency: these numbers pin the behaviour.
SCIPY_WILCOXON = [
    ([((i * 37) % 11 - 3) / 10 for i in range(80)], 509.5, 3.539722332276098e-06, "normal"),
    ([round(((i * 7919) % 13 - 6) / 6.0, 3) for i in range(200)], 8371.5, 0.8481995062211564, "normal"),
    ([0.5, -0.25, 0.5, 0, 1.0, 0.5, -0.5, 0.25, 0, 1.0] * 8, 328.0, 1.225391153413911e-06, "normal"),
    ([1.5, -0.5, 2.5, 3.0, -1.0, 4.0, 0.25, 2.0, -3.5, 5.0], 13.0, 0.16015625, "exact"),
]


@pytest.mark.parametrize(("differences", "statistic", "p_value", "method"), SCIPY_WILCOXON)
def test_wilcoxon_matches_scipy(differences: list[float], statistic: float, p_value: float, method: str) -> None:
    result = wilcoxon_signed_rank(differences)
    assert (result.statistic, result.method) == (statistic, method)
    assert result.p_value == pytest.approx(p_value, rel=1e-12)


def brute_force_p(differences: list[float]) -> float:
    """2 * P(W+ <= observed min(W+, W-)) over every sign pattern, with average ranks for ties."""
    nonzero = [d for d in differences if d]
    magnitudes = sorted(abs(d) for d in nonzero)
    rank = {m: (magnitudes.index(m) + 1 + len(magnitudes) - magnitudes[::-1].index(m)) / 2 for m in magnitudes}
    ranks = [rank[abs(d)] for d in nonzero]
    w_plus = sum(r for r, d in zip(ranks, nonzero, strict=True) if d > 0)
    observed = min(w_plus, sum(ranks) - w_plus)
    patterns = list(itertools.product([0, 1], repeat=len(ranks)))
    at_most = sum(1 for signs in patterns if sum(r for r, s in zip(ranks, signs, strict=True) if s) <= observed + 1e-9)
    return min(1.0, 2 * at_most / len(patterns))


differences = st.lists(st.sampled_from([-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 0.75, -2 / 3, 1 / 3]), max_size=12)


@settings(max_examples=200, deadline=None)
@given(differences)
def test_exact_p_values_equal_enumeration_over_every_sign_pattern(values: list[float]) -> None:
    result = wilcoxon_signed_rank(values)
    if not any(values):
        assert (result.p_value, result.method) == (1.0, "none")
        return
    assert result.method == "exact"
    assert result.p_value == pytest.approx(brute_force_p(values), abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=-1, max_value=1, allow_nan=False), max_size=120))
def test_p_values_are_probabilities_and_the_test_is_symmetric(values: list[float]) -> None:
    result = wilcoxon_signed_rank(values)
    assert 0.0 < result.p_value <= 1.0
    assert result.method == ("none" if not any(values) else "exact" if result.nonzero <= EXACT_LIMIT else "normal")
    mirrored = wilcoxon_signed_rank([-v for v in values])
    assert mirrored.p_value == pytest.approx(result.p_value, abs=1e-12)
    assert mirrored.statistic == pytest.approx(result.statistic, abs=1e-9)


def test_sign_test_matches_the_binomial_distribution() -> None:
    assert sign_test([1] * 3 + [-1] * 17).p_value == pytest.approx(0.0025768280029296875, rel=1e-12)
    assert sign_test([1, -1, 0, 0]).p_value == 1.0
    assert sign_test([]).p_value == 1.0
    many = sign_test([1] * 5200 + [-1] * 4800)
    assert 0.0 < many.p_value < 1e-4
    assert (many.positive, many.negative) == (5200, 4800)


def test_mean_difference_interval() -> None:
    result = mean_difference([1.0, 2.0, 3.0, 4.0])
    half = 1.959963984540054 * math.sqrt(5 / 3) / 2
    assert (result.mean, result.low, result.high, result.n) == pytest.approx((2.5, 2.5 - half, 2.5 + half, 4))
    assert mean_difference([]).n == 0
    assert mean_difference([3.0]).low == 3.0
