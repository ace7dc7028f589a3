"""The gateway's promises under faults, on the real local stack under steady load (a short campaign).

One stack for the module (scripted backend, Redis, Phoenix, the production config with the
campaign's two changes) and one short campaign: claude-primary down, Phoenix killed, the metrics
sink full, Redis killed and restarted, then every model down. Each test asserts one promise on
what the clients saw. The full campaign, with longer phases, the latency faults, Phoenix's and
the proxy's restarts and the rpm limit after Redis, is ``nox -s faults``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bedrockgate.local_stack.campaign import (
    FALLBACK_DEPLOYMENT,
    LIMITED,
    LIMITED_RPM,
    MASTER_KEY,
    PRIMARY,
    SHORT,
    Campaign,
    FaultResult,
    campaign_config,
    rpm_limit,
    running_load,
    stack_options,
)
from bedrockgate.local_stack.exceptions import LocalStackError
from bedrockgate.local_stack.stack import LocalStack
from bedrockgate.local_stack.steadyload import (
    LoadSettings,
    Outcome,
    SteadyLoad,
    classify,
    least_squares_slope,
    percentile,
    summarise,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from local_stack_helpers import require_binaries

SHORT_RATE = 3.0


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FaultResult | list[Outcome]]]:
    """Run the short campaign once; the tests read its results."""
    require_binaries()
    started = time.monotonic()
    with LocalStack(stack_options(tmp_path_factory.mktemp("campaign"))) as stack:
        assert stack.info is not None
        results: dict[str, FaultResult | list[Outcome]] = {}
        print(f"fault campaign: stack healthy in {stack.info.startup_s:.1f} s")
        with running_load(stack, LoadSettings(rate=SHORT_RATE, client_timeout_s=120)) as load:
            faults = Campaign(stack, load, SHORT)
            results["primary down"] = faults.primary_down()
            results["phoenix killed"] = faults.phoenix_killed()
            results["metrics sink full"] = faults.metrics_sink_full()
            results["redis killed"] = faults.redis_killed()
        results["all down"] = _all_down_probes(stack)
        print(f"fault campaign: {time.monotonic() - started:.1f} s with the stack's start")
        yield results


def _all_down_probes(stack: LocalStack) -> list[Outcome]:
    """Every model down: what a client gets (router retries off, so each probe fails in one round)."""
    assert stack.info is not None
    httpx.put(f"{stack.info.emulator_url}/_emulator/faults/*", json={"down": True}, timeout=10).raise_for_status()
    probes = []
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {MASTER_KEY}"}) as client:
        for index in range(3):
            body = {"model": "claude-primary", "messages": [{"role": "user", "content": f"down {index}"}],
                    "num_retries": 0}  # fmt: skip
            started = time.monotonic()
            try:
                response = client.post(f"{stack.info.proxy_url}/v1/chat/completions", json=body)
            except httpx.TimeoutException:
                probes.append(Outcome(started, time.monotonic() - started, "timeout"))
                continue
            kind, _ = classify(response.status_code, response.content)
            probes.append(Outcome(started, time.monotonic() - started, kind, status=response.status_code))
    httpx.delete(f"{stack.info.emulator_url}/_emulator/faults", timeout=10).raise_for_status()
    return probes


def _fault(results: dict[str, FaultResult | list[Outcome]], name: str) -> FaultResult:
    result = results[name]
    assert isinstance(result, FaultResult)
    return result


def test_while_claude_primary_is_down_the_fallback_serves_every_request(
    campaign: dict[str, FaultResult | list[Outcome]],
) -> None:
    result = _fault(campaign, "primary down")
    assert result.during, "no request started while the primary was down"
    assert [o.kind for o in result.during] == ["ok"] * len(result.during), result.table()
    assert {o.served_by for o in result.during} == {FALLBACK_DEPLOYMENT}, result.table()
    assert all(o.ok for o in result.after), result.table()


def test_no_request_fails_while_phoenix_is_down(campaign: dict[str, FaultResult | list[Outcome]]) -> None:
    result = _fault(campaign, "phoenix killed")
    assert result.during
    assert all(o.ok for o in (*result.during, *result.after)), result.table()


def test_no_request_fails_while_the_metrics_sink_refuses_writes_and_the_lost_records_are_counted(
    campaign: dict[str, FaultResult | list[Outcome]],
) -> None:
    result = _fault(campaign, "metrics sink full")
    assert result.during
    assert all(o.ok for o in (*result.during, *result.after)), result.table()
    assert result.checks["lost"] > 0, f"the sink was never full: {result.checks}"
    assert result.checks["written after"] > 0, f"records did not resume: {result.checks}"


def test_requests_are_served_while_redis_is_down_and_after_it_is_back(
    campaign: dict[str, FaultResult | list[Outcome]],
) -> None:
    result = _fault(campaign, "redis killed")
    assert result.during
    assert result.after
    assert all(o.ok for o in (*result.during, *result.after)), result.table()


def test_with_every_model_down_the_client_gets_a_clean_json_error_not_a_hang(
    campaign: dict[str, FaultResult | list[Outcome]],
) -> None:
    probes = campaign["all down"]
    assert isinstance(probes, list)
    assert probes
    assert all(o.clean_error and o.status is not None and o.status >= 500 for o in probes), probes


# -- the campaign's parts, without a stack ---------------------------------------------------------


@settings(max_examples=200)
@given(values=st.lists(st.floats(0, 1e6), min_size=1, max_size=200), q=st.floats(0.01, 100))
def test_a_percentile_is_one_of_the_values_between_min_and_max(values: list[float], q: float) -> None:
    result = percentile(values, q)
    assert result in values
    assert min(values) <= result <= max(values)
    assert percentile(values, 100) == max(values)
    assert sum(v < result for v in values) < math.ceil(q / 100 * len(values))


@settings(max_examples=200)
@given(
    intercept=st.floats(-1e3, 1e3),
    slope=st.floats(-1e2, 1e2),
    xs=st.lists(st.integers(0, 10_000), min_size=2, max_size=60, unique=True),
)
def test_the_least_squares_slope_of_points_on_a_line_is_the_line_s_slope(
    intercept: float, slope: float, xs: list[int]
) -> None:
    ys = [intercept + slope * x for x in xs]
    assert least_squares_slope(xs, ys) == pytest.approx(slope, rel=1e-6, abs=1e-6)


@settings(max_examples=100)
@given(
    kinds=st.lists(
        st.sampled_from(["ok", "http 503 json", "http 500 not-json", "refused", "timeout", "disconnected"]),
        max_size=50,
    )
)
def test_a_phase_counts_every_request_once_as_served_or_as_an_error_of_its_kind(kinds: list[str]) -> None:
    figures = summarise("during", [Outcome(float(i), 0.1, kind) for i, kind in enumerate(kinds)], 5.0)
    assert figures.requests == len(kinds)
    assert figures.served + sum(figures.errors.values()) == len(kinds)
    assert figures.errors == {k: kinds.count(k) for k in set(kinds) if k != "ok"}


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, b'{"choices": [{"message": {"content": "hi"}}]}', "ok"),
        (503, b'{"error": {"message": "down"}}', "http 503 json"),
        (500, b"Internal Server Error", "http 500 not-json"),
        (200, b"{}", "http 200 not-json"),
    ],
)
def test_answers_are_classified_by_status_and_body(status: int, body: bytes, kind: str) -> None:
    assert classify(status, body)[0] == kind


def test_the_load_generator_refuses_any_host_but_loopback_and_unbounded_rates() -> None:
    with pytest.raises(LocalStackError, match=r"only calls 127\.0\.0\.1"):
        SteadyLoad("http://localhost:4000", "k")
    with pytest.raises(LocalStackError, match="out of bounds"):
        SteadyLoad("http://127.0.0.1:4000", "k", LoadSettings(rate=500))


def test_the_campaign_config_is_production_with_short_timeouts_and_a_limited_group(tmp_path: Path) -> None:
    config = campaign_config(tmp_path)
    assert rpm_limit(config, PRIMARY) == 200  # as agents-gateway.yaml: the load must stay under it
    assert rpm_limit(config, LIMITED) == LIMITED_RPM
    assert rpm_limit(config, PRIMARY) > SHORT_RATE * 60
    with pytest.raises(LocalStackError, match="no model group 'nope'"):
        rpm_limit(config, "nope")
