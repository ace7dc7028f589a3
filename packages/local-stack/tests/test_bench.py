"""The gateway benchmark: its configs change one feature at a time, and its measurements measure.

The figures themselves are ``nox -s bench_gateway``'s job; these tests check that the variants
are what the table says they are, that the summaries are medians and sums, and, on the real
stack, that a pinned proxy's requests carry LiteLLM's overhead header and cost CPU time the
benchmark can read.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from bedrockgate.gateway_config import example_path
from bedrockgate.local_stack.bench import (
    Measured,
    RoundFigures,
    Sample,
    container_pid,
    cpu_seconds,
    measure,
    render,
    requests_per_cpu_second,
    saturated,
    sequential,
    summarise,
    tree,
    unsaturated_figures,
)
from bedrockgate.local_stack.bench_variants import (
    BENCHMARK_API_BASE_VARIABLE,
    FEATURES,
    ROUTING_KEYS,
    TUNING_REFERENCE,
    baseline_document,
    run_config,
    strip_features,
    tuning_variants,
    variants,
    with_workers,
)
from bedrockgate.local_stack.exceptions import LocalStackError, StackConfigError
from bedrockgate.local_stack.runconfig import METRICS_CALLBACK, PHOENIX_CALLBACK
from bedrockgate.local_stack.stack import LocalStack
from hypothesis import given, settings
from hypothesis import strategies as st
from local_stack_helpers import MASTER_KEY

PRODUCTION: dict[str, Any] = yaml.safe_load(example_path("agents-gateway").read_text(encoding="utf-8"))


def feature_part(name: str, document: dict[str, Any]) -> Any:
    """A feature's part of a config: what ``bench_variants`` takes out and puts back."""
    litellm_settings = document.get("litellm_settings") or {}
    callbacks = litellm_settings.get("callbacks") or []
    parts = {
        "redis": {k: v for k, v in (document.get("router_settings") or {}).items() if k in ROUTING_KEYS},
        "metrics": METRICS_CALLBACK in callbacks,
        "phoenix": (
            PHOENIX_CALLBACK in callbacks,
            (document.get("environment_variables") or {}).get("PHOENIX_PROJECT_NAME"),
        ),
        "json_logs": litellm_settings.get("json_logs"),
        "guardrails": document.get("guardrails"),
    }
    return parts[name]


PROJECT = "PHOENIX_PROJECT_NAME"
ABSENT = {"redis": {}, "metrics": False, "phoenix": (False, None), "json_logs": None, "guardrails": None}

extra_settings = st.dictionaries(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=12).filter(
        lambda k: k not in (*ROUTING_KEYS, "callbacks", "json_logs")
    ),
    st.one_of(st.integers(), st.booleans(), st.text(max_size=8)),
    max_size=4,
)


@settings(max_examples=100)
@given(
    features=st.lists(st.sampled_from(list(FEATURES)), unique=True),
    router_extra=extra_settings,
    litellm_extra=extra_settings,
)
def test_each_feature_variant_is_bedrock_plus_exactly_that_feature(
    features: list[str], router_extra: dict[str, Any], litellm_extra: dict[str, Any]
) -> None:
    production = copy.deepcopy(PRODUCTION)
    production["router_settings"] |= router_extra
    production["litellm_settings"] |= litellm_extra
    chosen = {v.name: v for v in variants(production, "claude-fast", features=tuple(features))}
    assert list(chosen) == [
        "litellm-mock", "litellm-endpoint", "bedrock", *features, "production-no-guardrails", "production"
    ]  # fmt: skip
    bedrock = chosen["bedrock"].document
    assert {name: feature_part(name, bedrock) for name in FEATURES} == ABSENT
    # Settings that are no measured feature stay in every derived variant, unchanged.
    assert {k: bedrock["router_settings"][k] for k in router_extra} == router_extra
    assert {k: bedrock["litellm_settings"][k] for k in litellm_extra} == litellm_extra
    for name in features:
        document = chosen[name].document
        assert strip_features(document) == bedrock, f"{name} changes more than its feature"
        assert feature_part(name, document) == feature_part(name, production) != ABSENT[name]
        assert all(feature_part(other, document) == ABSENT[other] for other in FEATURES if other != name)
    assert chosen["production"].document == production
    assert "guardrails" not in chosen["production-no-guardrails"].document
    assert {v.model for v in chosen.values() if v.derived} == {"claude-fast"}


def test_a_feature_production_lacks_is_refused_by_name() -> None:
    production = copy.deepcopy(PRODUCTION)
    del production["guardrails"]
    with pytest.raises(StackConfigError, match="no guardrails"):
        variants(production, "claude-fast")
    with pytest.raises(StackConfigError, match=r"unknown benchmark feature.*cache"):
        variants(PRODUCTION, "claude-fast", features=("cache",))
    with pytest.raises(StackConfigError, match="at least 1"):
        with_workers(variants(PRODUCTION, "claude-fast")[-1], 0)


def test_the_baselines_are_litellms_benchmark_config_in_process_and_over_http() -> None:
    mock, endpoint = baseline_document(network_mock=True), baseline_document(network_mock=False)
    assert mock["litellm_settings"] == {"network_mock": True}
    assert "litellm_settings" not in endpoint
    for document in (mock, endpoint):
        assert [d["litellm_params"]["model"] for d in document["model_list"]] == ["openai/fake"]
        assert "router_settings" not in document
    assert endpoint["model_list"][0]["litellm_params"]["api_base"] == f"os.environ/{BENCHMARK_API_BASE_VARIABLE}"


@settings(max_examples=100)
@given(
    rounds=st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(0, 1000)),
            st.one_of(st.none(), st.floats(0, 100)),
            st.dictionaries(st.sampled_from(["429", "500", "no answer"]), st.integers(1, 5), max_size=2),
        ),
        min_size=1,
        max_size=7,
    )
)
def test_summaries_are_medians_and_errors_are_summed(
    rounds: list[tuple[float | None, float | None, dict[str, int]]],
) -> None:
    figures = [
        RoundFigures(p50, p50, p50, p50, cpu, requests_per_cpu_second=cpu, errors=errors) for p50, cpu, errors in rounds
    ]
    summary = summarise("v", figures)
    present = sorted(p for p, _, _ in rounds if p is not None)
    if present:
        assert summary.overhead_p50_ms is not None
        assert present[0] <= summary.overhead_p50_ms <= present[-1]
        below = sum(p <= summary.overhead_p50_ms for p in present)
        assert below >= len(present) / 2
    else:
        assert summary.overhead_p50_ms is None
    assert sum(summary.errors.values()) == sum(sum(e.values()) for _, _, e in rounds)
    assert summary.rounds == len(rounds)
    assert "v" in render([summary])


@settings(max_examples=100)
@given(
    statuses=st.lists(st.sampled_from([200, 200, 200, 429, 0]), min_size=1, max_size=40),
    cpu_s=st.floats(0, 10),
)
def test_cpu_per_request_counts_answered_requests_only(statuses: list[int], cpu_s: float) -> None:
    run = Measured(tuple(Sample(s, 0.01, 1.0 if s == 200 else None) for s in statuses), cpu_s, 1.0)
    figures = unsaturated_figures(run)
    served = statuses.count(200)
    if served:
        assert figures.cpu_ms_per_request == pytest.approx(cpu_s * 1000 / served)
        assert figures.overhead_p50_ms == 1.0
    else:
        assert figures.cpu_ms_per_request is None
        assert figures.overhead_p50_ms is None
    assert sum(figures.errors.values()) == len(statuses) - served
    per_cpu = requests_per_cpu_second(run)
    assert per_cpu is None if not served or cpu_s == 0 else per_cpu == pytest.approx(served / cpu_s)


def test_cpu_time_of_a_process_tree_includes_its_children() -> None:
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ntime.sleep(30)"
    child = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {burn!r}])"]
    )
    try:
        deadline = time.monotonic() + 60
        while len(tree(child.pid)) < 2 or cpu_seconds(child.pid) < 0.25:
            assert time.monotonic() < deadline, "the grandchild never burnt its 0.3 s of CPU"
            time.sleep(0.1)
        assert cpu_seconds(child.pid) >= 0.25
    finally:
        for process in reversed(tree(child.pid)):
            process.kill()
        child.wait(timeout=30)


def test_traffic_goes_to_loopback_only() -> None:
    with pytest.raises(LocalStackError, match=r"127\.0\.0\.1 only"):
        sequential("http://example.com:4000", "k", "m", 1)
    with pytest.raises(LocalStackError, match="concurrency"):
        saturated("http://127.0.0.1:1", "k", "m", 1, concurrency=0)


def test_pinned_proxies_answer_with_the_overhead_header_and_cost_cpu(stack: LocalStack, tmp_path: Path) -> None:
    """On the real stack: LiteLLM's baseline over HTTP and one derived variant, each pinned to CPU 0, measured."""
    chosen = {v.name: v for v in variants(PRODUCTION, "claude-fast", features=("metrics",))}
    started = [
        (chosen[name], stack.start_proxy(run_config=run_config(stack, chosen[name], tmp_path), cpus="0", wait=False))
        for name in ("litellm-endpoint", "metrics")
    ]
    deadline = time.monotonic() + 300
    try:
        for variant, proxy in started:
            proxy.wait_healthy(deadline)
            assert proxy.pid is not None
            assert proxy.url is not None
            pid = proxy.pid if proxy.container is None else container_pid(proxy.container)
            assert psutil.Process(pid).cpu_affinity() == [0]
            quiet = measure(pid, lambda: sequential(proxy.url or "", MASTER_KEY, variant.model, 8))  # noqa: B023
            busy = measure(pid, lambda: saturated(proxy.url or "", MASTER_KEY, variant.model, 8, concurrency=4))  # noqa: B023
            figures = unsaturated_figures(quiet)
            assert quiet.served == 8, (variant.name, quiet.errors)
            assert busy.served == 8, (variant.name, busy.errors)
            assert all(s.overhead_ms is not None and s.overhead_ms >= 0 for s in quiet.samples), variant.name
            assert figures.cpu_ms_per_request is not None
            assert figures.cpu_ms_per_request > 0
            assert (requests_per_cpu_second(busy) or 0) > 0
    finally:
        for _variant, proxy in started:
            proxy.stop(timeout=5)
            stack.proxies.remove(proxy)


def test_each_tuning_experiment_changes_one_thing_of_production_without_guardrails() -> None:
    bare = copy.deepcopy(PRODUCTION)
    del bare["guardrails"]
    experiments = {v.name: v for v in tuning_variants(PRODUCTION, "claude-fast")}
    no_checks = experiments["tune-no-pre-call-checks"]
    assert no_checks.document["router_settings"].pop("enable_pre_call_checks") is False
    assert no_checks.document == {**bare, "router_settings": {
        k: v for k, v in bare["router_settings"].items() if k != "enable_pre_call_checks"}}  # fmt: skip
    assert not no_checks.environment
    log = experiments["tune-log-warning"]
    assert log.document == bare
    assert dict(log.environment) == {"LITELLM_LOG": "WARNING"}
    assert TUNING_REFERENCE == "production-no-guardrails"
