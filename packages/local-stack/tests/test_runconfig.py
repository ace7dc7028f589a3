"""The config the proxy runs locally: the user's config, validated, with only the stated changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from bedrockgate.gateway_config import example_names, example_path, loads
from bedrockgate.local_stack.exceptions import StackConfigError
from bedrockgate.local_stack.runconfig import METRICS_CALLBACK, PHOENIX_CALLBACK, Endpoints, build_run_config
from hypothesis import given, settings
from hypothesis import strategies as st

FULL = Endpoints(
    "http://127.0.0.1:9001",
    redis_port=9002,
    redis_password="pw",  # noqa: S106 -- a test value
    phoenix_url="http://127.0.0.1:9003",
)
BARE = Endpoints("http://127.0.0.1:9001")


def _without_local_changes(document: dict[str, object]) -> dict[str, object]:
    general = dict(document.get("general_settings") or {})  # type: ignore[call-overload]
    general.pop("database_url", None)
    return {**document, "general_settings": general}


@pytest.mark.parametrize("name", example_names())
@pytest.mark.parametrize("endpoints", [FULL, BARE], ids=["full", "bare"])
def test_every_example_runs_locally_with_only_the_stated_changes(name: str, endpoints: Endpoints) -> None:
    path = example_path(name)
    run = build_run_config(path, endpoints, "sk-local-x", environ={})
    local = yaml.safe_load(run.yaml_text)
    original = yaml.safe_load(path.read_text(encoding="utf-8"))
    loads(run.yaml_text)  # the derived config passes the same validator
    assert local["model_list"] == original["model_list"], "model ids and params must stay as they are"
    assert "database_url" not in (local.get("general_settings") or {})
    callbacks = local["litellm_settings"]["callbacks"]
    assert METRICS_CALLBACK in callbacks
    assert (PHOENIX_CALLBACK in callbacks) == (endpoints.phoenix_url is not None)
    assert run.environment["AWS_BEDROCK_RUNTIME_ENDPOINT"] == endpoints.emulator_url
    assert run.environment["LITELLM_MASTER_KEY"] == "sk-local-x"
    if endpoints.redis_port is None:
        assert not {"redis_host", "redis_port", "redis_password"} & set(local.get("router_settings") or {})
    else:
        assert run.environment["REDIS_PORT"] == str(endpoints.redis_port)


def test_the_callers_real_aws_credentials_never_reach_the_proxy() -> None:
    environ = {"AWS_ACCESS_KEY_ID": "AKIAREALKEY", "AWS_SECRET_ACCESS_KEY": "real-secret"}
    run = build_run_config(example_path("agents-gateway"), FULL, "k", environ=environ)
    assert run.environment["AWS_ACCESS_KEY_ID"] == "local-stack"
    assert "real-secret" not in run.environment.values()


def test_a_variable_nobody_sets_is_named_with_where_it_is_read(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: bedrock/amazon.nova-pro-v1:0\n"
        "      aws_region_name: os.environ/AWS_REGION\n"
        "general_settings:\n  alerting_threshold: 300\n  master_key: os.environ/LITELLM_MASTER_KEY\n"
        "environment_variables:\n  SLACK_WEBHOOK_URL: os.environ/MY_TEAM_WEBHOOK\n",
        encoding="utf-8",
    )
    with pytest.raises(StackConfigError, match=r"MY_TEAM_WEBHOOK \(read by environment_variables.SLACK_WEBHOOK_URL\)"):
        build_run_config(config, FULL, "k", environ={})
    run = build_run_config(config, FULL, "k", environ={"MY_TEAM_WEBHOOK": "https://hooks.example"})
    assert run.environment["MY_TEAM_WEBHOOK"] == "https://hooks.example"


def test_an_invalid_config_is_refused_with_gateway_configs_problems(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o\n")
    with pytest.raises(StackConfigError, match=r"bad.yaml:4: model_list.0.litellm_params.model"):
        build_run_config(config, FULL, "k", environ={})


@settings(max_examples=100, deadline=None)
@given(
    callbacks=st.lists(st.sampled_from([METRICS_CALLBACK, PHOENIX_CALLBACK, "prometheus"]), unique=True, max_size=3),
    phoenix=st.booleans(),
    redis=st.booleans(),
)
def test_callbacks_end_with_the_metrics_logger_once_and_phoenix_only_when_it_runs(
    tmp_path_factory: pytest.TempPathFactory, callbacks: list[str], phoenix: bool, redis: bool
) -> None:
    document = yaml.safe_load(example_path("agents-gateway").read_text(encoding="utf-8"))
    document["litellm_settings"]["callbacks"] = callbacks
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    endpoints = Endpoints(
        "http://127.0.0.1:1",
        redis_port=2 if redis else None,
        phoenix_url="http://127.0.0.1:3" if phoenix else None,
    )
    local = yaml.safe_load(build_run_config(path, endpoints, "k", environ={}).yaml_text)
    result = local["litellm_settings"]["callbacks"]
    assert result.count(METRICS_CALLBACK) == 1
    assert (PHOENIX_CALLBACK in result) == phoenix
    assert [c for c in result if c not in (METRICS_CALLBACK, PHOENIX_CALLBACK)] == [
        c for c in callbacks if c not in (METRICS_CALLBACK, PHOENIX_CALLBACK)
    ]
    assert _without_local_changes(local)["model_list"] == document["model_list"]
