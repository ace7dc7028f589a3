"""The config the proxy runs locally: the user's config, validated, with only the stated changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from bedrockgate.gateway_config import example_names, example_path, loads
from bedrockgate.local_stack.exceptions import StackConfigError
from bedrockgate.local_stack.runconfig import (
    LOCAL_PHOENIX_PROJECT,
    METRICS_CALLBACK,
    PHOENIX_CALLBACK,
    Endpoints,
    build_run_config,
)
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
    configured = _callbacks(original)
    callbacks = _callbacks(local)
    assert callbacks == [c for c in configured if c != PHOENIX_CALLBACK or endpoints.phoenix_url is not None]
    assert run.environment["AWS_BEDROCK_RUNTIME_ENDPOINT"] == endpoints.emulator_url
    assert run.environment["LITELLM_MASTER_KEY"] == "sk-local-x"
    if endpoints.redis_port is None:
        assert not {"redis_host", "redis_port", "redis_password"} & set(local.get("router_settings") or {})
    else:
        assert run.environment["REDIS_PORT"] == str(endpoints.redis_port)


def _callbacks(document: dict[str, object]) -> list[str]:
    settings_ = document.get("litellm_settings") or {}
    return list(settings_.get("callbacks") or [])  # type: ignore[attr-defined]


def test_the_production_config_runs_its_own_callbacks_and_sends_traces_to_its_project() -> None:
    run = build_run_config(example_path("agents-gateway"), FULL, "k", environ={})
    local = yaml.safe_load(run.yaml_text)
    assert local["litellm_settings"]["callbacks"] == [METRICS_CALLBACK, PHOENIX_CALLBACK]
    assert local["environment_variables"]["PHOENIX_PROJECT_NAME"] == "bedrockgate-gateway"
    assert "PHOENIX_PROJECT_NAME" not in run.environment, "the local default must not compete with the config's"
    assert run.phoenix_project == "bedrockgate-gateway"
    assert "traces go to Phoenix project 'bedrockgate-gateway'" in run.notes
    assert not any("callback" in note for note in run.notes), run.notes


def test_a_config_without_a_project_gets_the_local_one(tmp_path: Path) -> None:
    document = yaml.safe_load(example_path("agents-gateway").read_text(encoding="utf-8"))
    del document["environment_variables"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    run = build_run_config(path, FULL, "k", environ={})
    assert run.environment["PHOENIX_PROJECT_NAME"] == run.phoenix_project == LOCAL_PHOENIX_PROJECT
    assert build_run_config(path, BARE, "k", environ={}).phoenix_project is None


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
def test_callbacks_run_as_configured_less_phoenix_when_it_is_not_running_and_every_gap_is_noted(
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
    run = build_run_config(path, endpoints, "k", environ={})
    result = yaml.safe_load(run.yaml_text)["litellm_settings"].get("callbacks") or []
    assert result == [c for c in callbacks if c != PHOENIX_CALLBACK or phoenix], "nothing added, order kept"
    notes = " | ".join(run.notes)
    assert ("traces will not be sent" in notes) == (phoenix and PHOENIX_CALLBACK not in callbacks)
    assert ("arize_phoenix callback removed" in notes) == (not phoenix and PHOENIX_CALLBACK in callbacks)
    assert ("no metrics lines" in notes) == (METRICS_CALLBACK not in callbacks)
    assert (run.phoenix_project == "bedrockgate-gateway") == (phoenix and PHOENIX_CALLBACK in callbacks)
    assert _without_local_changes(yaml.safe_load(run.yaml_text))["model_list"] == document["model_list"]
