"""The reference designs' configs: they validate, render stably, and LiteLLM loads them whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from bedrockgate.gateway_config import load, loads, render, required_env
from gateway_config_helpers import (
    EXAMPLES,
    ProbeRequest,
    RedisServer,
    fixed_clock,
    load_with_litellm,
    stand_in_environment,
)


def test_all_three_reference_designs_are_there() -> None:
    assert {path.stem for path in EXAMPLES} >= {"cost-based-routing", "nova-guardrail", "agents-gateway"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_is_valid_and_round_trips(path: Path) -> None:
    config = load(path, clock=fixed_clock)
    assert loads(render(config), clock=fixed_clock) == config


def test_litellm_loads_every_deployment_and_guardrail(tmp_path: Path, redis_server: RedisServer) -> None:
    configs = [load(path, clock=fixed_clock) for path in EXAMPLES]
    requests = [
        ProbeRequest(render(config), stand_in_environment([var.name for var in required_env(config)], redis_server))
        for config in configs
    ]
    for config, view in zip(configs, load_with_litellm(requests, tmp_path), strict=True):
        assert view.deployments == len(config.model_list)
        assert view.model_groups == set(config.model_groups())
        assert view.guardrails == {guardrail.guardrail_name for guardrail in config.guardrails or []}


def test_agents_gateway_declares_the_agents_routing() -> None:
    config = load(next(path for path in EXAMPLES if path.stem == "agents-gateway"), clock=fixed_clock)
    assert config.model_groups() == ["claude-primary", "claude-fallback", "claude-fast", "embeddings"]
    router = config.router_settings
    assert router is not None
    assert router.fallbacks == [{"claude-primary": ["claude-fallback"]}, {"claude-fast": ["claude-primary"]}]
    assert router.context_window_fallbacks == [{"claude-fast": ["claude-primary"]}]
    chat = [deployment for deployment in config.model_list if deployment.model_name != "embeddings"]
    assert all(deployment.litellm_params.tpm and deployment.litellm_params.rpm for deployment in chat)
    assert all(deployment.litellm_params.rpm for deployment in config.model_list)


def test_nova_guardrail_reads_its_guardrail_from_the_environment() -> None:
    config = load(next(path for path in EXAMPLES if path.stem == "nova-guardrail"), clock=fixed_clock)
    names = {variable.name: variable for variable in required_env(config)}
    assert {"BEDROCK_GUARDRAIL_ID", "BEDROCK_GUARDRAIL_VERSION"} <= set(names)
    assert names["LITELLM_MASTER_KEY"].secret
    assert names["PHOENIX_API_KEY"].secret
    assert not names["AWS_REGION"].secret
