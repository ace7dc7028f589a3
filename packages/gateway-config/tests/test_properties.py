"""The three stated properties of the validator, each over generated configs (>= 100 examples).

1. Every valid config renders to YAML that loads back equal, and that LiteLLM's own loader
   accepts with the same deployments, model groups and guardrails.
2. Every single mutation that breaks a rule is rejected with exactly one problem, at the path of
   the mutated field.
3. On arbitrary input the checker never raises: it returns problems (or a config).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from bedrockgate.gateway_config import (
    ConfigValidationError,
    GatewayConfig,
    check_text,
    loads,
    render,
    required_env,
)
from bedrockgate.gateway_config.deployments import Deployment, LiteLLMParams
from bedrockgate.gateway_config.general_settings import GeneralSettings
from bedrockgate.gateway_config.router_settings import RouterSettings
from gateway_config_helpers import ProbeRequest, fixed_clock, load_with_litellm, stand_in_environment
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BEDROCK_MODELS = [
    "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
    "bedrock/anthropic.claude-3-sonnet-20240229-v1:0",
    "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
    "bedrock/amazon.titan-text-express-v1",
    "bedrock/us.amazon.nova-pro-v1:0",
    "bedrock/us.amazon.nova-lite-v1:0",
    "bedrock/meta.llama3-8b-instruct-v1:0",
]
# Strategies LiteLLM can build from the config alone (provider-budget-routing needs a budget config).
ROUTING_STRATEGIES = [
    "simple-shuffle",
    "least-busy",
    "latency-based-routing",
    "cost-based-routing",
    "usage-based-routing-v2",
]
REGIONS = ["us-east-1", "us-west-2", "eu-central-1"]

group_names = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
env_names = st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True)
env_refs = env_names.map(lambda name: f"os.environ/{name}")
counts = st.integers(min_value=0, max_value=6)
positive = st.integers(min_value=1, max_value=10_000_000)
seconds = st.one_of(st.integers(min_value=1, max_value=600), st.floats(min_value=0.5, max_value=600))

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def optional_keys(draw: st.DrawFn, candidates: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(sorted(candidates)), unique=True)) if candidates else []
    return {key: draw(candidates[key]) for key in chosen}


@st.composite
def deployments(draw: st.DrawFn, group: str, ids: list[str]) -> dict[str, Any]:
    params = {"model": draw(st.sampled_from(BEDROCK_MODELS))}
    params |= optional_keys(
        draw,
        {
            "aws_region_name": st.one_of(st.sampled_from(REGIONS), env_refs),
            "tpm": positive,
            "rpm": positive,
            "timeout": seconds,
            "stream_timeout": seconds,
            "max_retries": counts,
            "order": st.integers(min_value=1, max_value=5),
            "api_key": env_refs,
        },
    )
    deployment: dict[str, Any] = {"model_name": group, "litellm_params": params}
    if draw(st.booleans()):
        ids.append(f"{group}-{len(ids)}")
        deployment["model_info"] = {"id": ids[-1], "mode": "chat"}
    return deployment


@st.composite
def fallback_rules(draw: st.DrawFn, groups: list[str]) -> list[dict[str, list[str]]]:
    rules = []
    for source in draw(st.lists(st.sampled_from(groups), unique=True, max_size=3)):
        others = [group for group in groups if group != source]
        if others:
            rules.append({source: draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))})
    return rules


@st.composite
def valid_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A config that breaks no rule and no policy, as the YAML data a user would write."""
    groups = draw(st.lists(group_names, min_size=1, max_size=4, unique=True))
    ids: list[str] = []
    model_list = [
        draw(deployments(group, ids)) for group in groups for _ in range(draw(st.integers(min_value=1, max_value=2)))
    ]
    config: dict[str, Any] = {"model_list": draw(st.permutations(model_list))}
    router = optional_keys(
        draw,
        {
            "routing_strategy": st.sampled_from(ROUTING_STRATEGIES),
            "num_retries": counts,
            "timeout": seconds,
            "allowed_fails": counts,
            "cooldown_time": st.integers(min_value=0, max_value=120),
            "fallbacks": fallback_rules(groups),
            "context_window_fallbacks": fallback_rules(groups),
        },
    )
    litellm = optional_keys(
        draw,
        {
            "drop_params": st.booleans(),
            "num_retries": counts,
            "request_timeout": seconds,
            "turn_off_message_logging": st.booleans(),
        },
    )
    general = optional_keys(
        draw,
        {"master_key": env_refs, "database_connection_pool_limit": st.integers(min_value=1, max_value=100)},
    )
    for key, section in (
        ("router_settings", router),
        ("litellm_settings", litellm),
        ("general_settings", general),
    ):
        if section:
            config[key] = section
    guardrail_names = draw(st.lists(group_names, max_size=2, unique=True))
    if guardrail_names:
        config["guardrails"] = [
            {
                "guardrail_name": name,
                "litellm_params": {
                    "guardrail": "bedrock",
                    "mode": draw(st.sampled_from(["pre_call", "during_call", "post_call"])),
                    "guardrailIdentifier": draw(env_refs),
                    "guardrailVersion": draw(st.one_of(st.sampled_from(["1", "2", "DRAFT"]), env_refs)),
                    "default_on": draw(st.booleans()),
                },
            }
            for name in guardrail_names
        ]
    return config


def as_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def test_valid_configs_round_trip_and_load_in_litellm(tmp_path: Path) -> None:
    # Round trips are checked per example; LiteLLM then loads the whole batch in one process,
    # because importing its proxy takes seconds.
    accepted: list[tuple[GatewayConfig, ProbeRequest]] = []

    @PROPERTY
    @given(valid_configs())
    def round_trip(data: dict[str, Any]) -> None:
        report = check_text(as_yaml(data), clock=fixed_clock)
        assert report.ok, report.problems
        config = report.raise_for_problems()
        rendered = render(config)
        assert loads(rendered, clock=fixed_clock) == config
        assert render(loads(rendered, clock=fixed_clock)) == rendered
        env = stand_in_environment([variable.name for variable in required_env(config)])
        accepted.append((config, ProbeRequest(rendered, env)))

    round_trip()
    assert len(accepted) >= 100
    views = load_with_litellm([request for _, request in accepted], tmp_path)
    for (config, _), view in zip(accepted, views, strict=True):
        assert view.deployments == len(config.model_list), render(config)
        assert view.model_groups == set(config.model_groups()), render(config)
        assert view.guardrails == {guardrail.guardrail_name for guardrail in config.guardrails or []}


# --- property 2: single mutations -------------------------------------------------------------

MUTATIONS = ["unknown_key", "dangling_fallback", "non_bedrock_model", "plaintext_secret", "negative_limit"]
UNKNOWN_KEYS = st.from_regex(r"[a-z]{3,8}_zz[a-z]{0,3}", fullmatch=True)


@st.composite
def mutated_configs(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[str | int, ...]]:
    """A valid config with exactly one rule broken, and the path of the field that breaks it."""
    data = copy.deepcopy(draw(valid_configs()))
    kind = draw(st.sampled_from(MUTATIONS))
    index = draw(st.integers(min_value=0, max_value=len(data["model_list"]) - 1))
    params = data["model_list"][index]["litellm_params"]
    params_path: tuple[str | int, ...] = ("model_list", index, "litellm_params")
    if kind == "unknown_key":
        sections: list[tuple[tuple[str | int, ...], dict[str, Any]]] = [
            ((), data),
            (("model_list", index), data["model_list"][index]),
            (params_path, params),
        ]
        sections += [((key,), data[key]) for key in ("router_settings", "general_settings") if key in data]
        path, section = draw(st.sampled_from(sections))
        key = draw(UNKNOWN_KEYS)
        section[key] = draw(st.one_of(st.integers(), st.text(max_size=5), st.booleans()))
        return data, (*path, key)
    if kind == "dangling_fallback":
        groups = {deployment["model_name"] for deployment in data["model_list"]}
        source = data["model_list"][index]["model_name"]
        missing = draw(group_names.filter(lambda name: name not in groups))
        router = data.setdefault("router_settings", {})
        rules = router.setdefault("fallbacks", [])
        rules.append({source: [missing]})
        return data, ("router_settings", "fallbacks", len(rules) - 1, source, 0)
    if kind == "non_bedrock_model":
        params["model"] = draw(st.sampled_from(["openai/gpt-4o", "anthropic/claude-3-haiku", "azure/gpt-4", "gpt-4o"]))
        return data, (*params_path, "model")
    if kind == "plaintext_secret":
        secret = "sk-" + draw(st.from_regex(r"[A-Za-z0-9]{4,20}", fullmatch=True))
        if draw(st.booleans()):
            data.setdefault("general_settings", {})["master_key"] = secret
            return data, ("general_settings", "master_key")
        key = draw(st.sampled_from(sorted(LiteLLMParams.secret_keys)))
        params[key] = secret
        return data, (*params_path, key)
    key = draw(st.sampled_from(["tpm", "rpm", "timeout", "max_retries", "max_parallel_requests"]))
    params[key] = draw(st.integers(max_value=-1)) if key == "max_retries" else draw(st.integers(max_value=0))
    return data, (*params_path, key)


@PROPERTY
@given(mutated_configs())
def test_each_broken_rule_is_reported_at_the_mutated_field(
    case: tuple[dict[str, Any], tuple[str | int, ...]],
) -> None:
    data, mutated_path = case
    report = check_text(as_yaml(data), clock=fixed_clock)
    assert [problem.path for problem in report.problems] == [mutated_path]
    assert report.config is None


def test_the_keys_the_mutations_break_are_declared_where_the_mutations_put_them() -> None:
    # Guard for property 2 (it covers the sections it mutates, not every section): if one of these
    # keys moved to another section, the mutation would break nothing and the property would pass empty.
    assert "tpm" in LiteLLMParams.typed_keys()
    assert "master_key" in GeneralSettings.secret_keys
    assert "fallbacks" in RouterSettings.typed_keys()
    assert "litellm_params" in Deployment.typed_keys()


# --- property 3: arbitrary input --------------------------------------------------------------

KNOWN_WORDS = [
    "model_list",
    "model_name",
    "litellm_params",
    "model",
    "router_settings",
    "fallbacks",
    "tpm",
    "guardrails",
    "mode",
    "general_settings",
    "master_key",
    "os.environ/X",
    "${X}",
    "bedrock/x",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(KNOWN_WORDS),
)
keys = st.one_of(st.sampled_from(KNOWN_WORDS), st.text(max_size=8))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(documents.map(as_yaml), st.text(max_size=300)))
def test_arbitrary_input_never_raises_anything_but_a_validation_error(text: str) -> None:
    report = check_text(text, clock=fixed_clock)
    assert report.ok == (report.config is not None)
    assert all(problem.message for problem in report.problems)
    if report.ok:
        assert loads(text, clock=fixed_clock) == report.config
    else:
        with pytest.raises(ConfigValidationError) as caught:
            loads(text, clock=fixed_clock)
        assert caught.value.problems == report.problems
