"""Each rule, one mistake at a time: the problem is found, at the right path and line, and says why."""

from __future__ import annotations

import textwrap
import typing

import pytest
import yaml
from bedrockgate.gateway_config import (
    ConfigValidationError,
    GatewayConfig,
    Policy,
    _litellm_keys,
    check_text,
    loads,
    render,
    validate,
)
from bedrockgate.gateway_config._section import Section
from bedrockgate.gateway_config.guardrails import GuardrailMode
from bedrockgate.gateway_config.litellm_settings import CacheType
from bedrockgate.gateway_config.router_settings import RoutingStrategy
from gateway_config_helpers import MINIMAL


def problems_of(text: str, policies: frozenset[Policy] = frozenset(Policy)) -> list[tuple[int | None, str, str]]:
    report = check_text(textwrap.dedent(text), source="c.yaml", policies=policies)
    return [(problem.line, problem.dotted_path, problem.message) for problem in report.problems]


def only_problem(text: str, policies: frozenset[Policy] = frozenset(Policy)) -> tuple[int | None, str, str]:
    found = problems_of(text, policies)
    assert len(found) == 1, found
    return found[0]


def with_router(settings: str) -> str:
    return MINIMAL + "router_settings:\n" + textwrap.indent(textwrap.dedent(settings), "  ")


def test_minimal_config_is_valid() -> None:
    config = loads(MINIMAL)
    assert config.model_groups() == ["claude-fast"]


def test_unknown_router_key_suggests_the_right_one() -> None:
    line, path, message = only_problem(with_router("retry_afterr: 5\n"))
    assert (line, path) == (7, "router_settings.retry_afterr")
    assert "did you mean 'retry_after'?" in message


def test_key_of_another_section_is_sent_there() -> None:
    _, path, message = only_problem(with_router("health_check_interval: 300\n"))
    assert path == "router_settings.health_check_interval"
    assert "general_settings" in message


def test_misspelt_top_level_section_is_an_error() -> None:
    _, path, message = only_problem(MINIMAL + "router_setting:\n  num_retries: 2\n")
    assert path == "router_setting"
    assert "did you mean 'router_settings'?" in message


def test_unknown_litellm_params_key_is_an_error() -> None:
    text = MINIMAL + "      aws_region_nam: us-east-1\n"
    line, path, message = only_problem(text)
    assert (line, path) == (6, "model_list.0.litellm_params.aws_region_nam")
    assert "aws_region_name" in message


def test_known_untyped_litellm_key_passes_through_and_renders_back() -> None:
    config = loads(MINIMAL + "      input_cost_per_token_batches: 0.000001\n")
    assert config.model_list[0].litellm_params.passthrough == {"input_cost_per_token_batches": 0.000001}
    rendered = yaml.safe_load(render(config))
    assert rendered["model_list"][0]["litellm_params"]["input_cost_per_token_batches"] == 0.000001
    assert loads(render(config)) == config


def test_shared_model_name_is_load_balancing_not_a_mistake() -> None:
    second = MINIMAL.removeprefix("model_list:\n").replace("os.environ/AWS_REGION", "us-west-2")
    config = loads(MINIMAL + second)
    assert len(config.model_list) == 2
    assert config.model_groups() == ["claude-fast"]


@pytest.mark.parametrize("field", ["fallbacks", "context_window_fallbacks", "content_policy_fallbacks"])
def test_fallback_target_must_exist(field: str) -> None:
    _, path, message = only_problem(with_router(f"{field}:\n  - claude-fast: [claude-slow]\n"))
    assert path == f"router_settings.{field}.0.claude-fast.0"
    assert "'claude-slow'" in message
    assert "claude-fast" in message


def test_fallback_source_must_exist() -> None:
    _, path, _ = only_problem(with_router("fallbacks:\n  - claude-slow: [claude-fast]\n"))
    assert path == "router_settings.fallbacks.0.claude-slow"


def test_fallback_to_itself_is_an_error() -> None:
    _, path, message = only_problem(with_router("fallbacks:\n  - claude-fast: [claude-fast]\n"))
    assert path == "router_settings.fallbacks.0.claude-fast.0"
    assert "itself" in message


def test_default_fallbacks_must_exist() -> None:
    _, path, _ = only_problem(with_router("default_fallbacks: [nope]\n"))
    assert path == "router_settings.default_fallbacks.0"


def test_fallback_may_name_a_model_group_alias() -> None:
    loads(with_router("model_group_alias:\n  haiku: claude-fast\nfallbacks:\n  - claude-fast: [haiku]\n"))


def test_routing_strategy_must_be_one_litellm_knows() -> None:
    _, path, message = only_problem(with_router("routing_strategy: fastest\n"))
    assert path == "router_settings.routing_strategy"
    assert "simple-shuffle" in message


@pytest.mark.parametrize(
    ("key", "value"),
    [("tpm", "-5"), ("rpm", "0"), ("timeout", "-1"), ("max_parallel_requests", "0"), ("max_retries", "-1")],
)
def test_limits_must_be_positive(key: str, value: str) -> None:
    _, path, message = only_problem(MINIMAL + f"      {key}: {value}\n")
    assert path == f"model_list.0.litellm_params.{key}"
    assert "expected" in message


def test_numbers_written_as_text_are_errors() -> None:
    _, path, _ = only_problem(with_router('num_retries: "three"\n'))
    assert path == "router_settings.num_retries"


def test_limits_may_come_from_the_environment() -> None:
    config = loads(MINIMAL + "      tpm: os.environ/CLAUDE_TPM\n")
    assert config.model_list[0].litellm_params.tpm == "os.environ/CLAUDE_TPM"


def test_shell_placeholders_are_errors() -> None:
    _, path, message = only_problem(MINIMAL.replace("os.environ/AWS_REGION", '"${AWS_REGION}"'))
    assert path == "model_list.0.litellm_params.aws_region_name"
    assert "os.environ/AWS_REGION" in message


def test_malformed_environment_reference_is_an_error() -> None:
    _, path, message = only_problem(MINIMAL.replace("os.environ/AWS_REGION", '"os.environ/AWS REGION"'))
    assert path == "model_list.0.litellm_params.aws_region_name"
    assert "does not name an environment variable" in message


def test_environment_reference_must_be_the_whole_value() -> None:
    _, _, message = only_problem(MINIMAL.replace("os.environ/AWS_REGION", "region-os.environ/AWS_REGION"))
    assert "must begin the value" in message


def test_non_bedrock_model_breaks_the_bedrock_only_policy() -> None:
    text = MINIMAL.replace("bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0", "openai/gpt-4o")
    _, path, message = only_problem(text)
    assert path == "model_list.0.litellm_params.model"
    assert "bedrock-only" in message
    assert problems_of(text, frozenset({Policy.SECRETS_BY_REFERENCE})) == []


def test_plaintext_master_key_breaks_the_secrets_policy() -> None:
    text = MINIMAL + "general_settings:\n  master_key: sk-1234\n"
    line, path, message = only_problem(text)
    assert (line, path) == (7, "general_settings.master_key")
    assert "os.environ/MASTER_KEY" in message
    assert "sk-1234" not in message
    assert problems_of(text, frozenset({Policy.BEDROCK_ONLY})) == []


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("model_list.0.litellm_params", "aws_secret_access_key"),
        ("model_list.0.litellm_params", "api_key"),
        ("general_settings", "database_url"),
        ("router_settings", "redis_password"),
    ],
)
def test_every_credential_field_wants_a_reference(section: str, key: str) -> None:
    if section.startswith("model_list"):
        text = MINIMAL + f"      {key}: hunter2\n"
    else:
        text = MINIMAL + f"{section}:\n  {key}: hunter2\n"
    _, path, _ = only_problem(text)
    assert path == f"{section}.{key}"


def test_secret_looking_environment_variable_wants_a_reference() -> None:
    _, path, _ = only_problem(MINIMAL + "environment_variables:\n  LITELLM_SALT_KEY: sk-salt\n")
    assert path == "environment_variables.LITELLM_SALT_KEY"


def test_guardrail_mode_must_be_valid() -> None:
    text = MINIMAL + textwrap.dedent(
        """\
        guardrails:
          - guardrail_name: g
            litellm_params:
              guardrail: bedrock
              mode: before_call
              guardrailIdentifier: os.environ/GID
              guardrailVersion: "1"
        """
    )
    line, path, message = only_problem(text)
    assert (line, path) == (10, "guardrails.0.litellm_params.mode")
    assert "pre_call" in message


def test_unknown_guardrail_integration_is_an_error() -> None:
    text = MINIMAL + "guardrails:\n  - guardrail_name: g\n    litellm_params: {guardrail: bedrok, mode: pre_call}\n"
    _, path, message = only_problem(text)
    assert path == "guardrails.0.litellm_params.guardrail"
    assert "'bedrock'" in message


def test_bedrock_guardrail_needs_identifier_and_version() -> None:
    text = MINIMAL + "guardrails:\n  - guardrail_name: g\n    litellm_params: {guardrail: bedrock, mode: pre_call}\n"
    paths = [path for _, path, _ in problems_of(text)]
    assert paths == [
        "guardrails.0.litellm_params.guardrailIdentifier",
        "guardrails.0.litellm_params.guardrailVersion",
    ]


def test_unquoted_guardrail_version_is_an_error() -> None:
    text = MINIMAL + textwrap.dedent(
        """\
        guardrails:
          - guardrail_name: g
            litellm_params: {guardrail: bedrock, mode: pre_call, guardrailIdentifier: abc, guardrailVersion: 1}
        """
    )
    _, path, message = only_problem(text)
    assert path == "guardrails.0.litellm_params.guardrailVersion"
    assert "in quotes" in message


def test_guardrails_under_litellm_settings_must_move_to_the_top_level() -> None:
    _, path, message = only_problem(MINIMAL + "litellm_settings:\n  guardrails: [{g: {}}]\n")
    assert path == "litellm_settings.guardrails"
    assert "top-level" in message


def test_unknown_builtin_callback_is_an_error() -> None:
    _, path, message = only_problem(MINIMAL + "litellm_settings:\n  callbacks: [arize_phoenixx]\n")
    assert path == "litellm_settings.callbacks.0"
    assert "arize_phoenix" in message


def test_custom_callback_path_is_accepted() -> None:
    loads(MINIMAL + "litellm_settings:\n  callbacks: bedrockgate.metrics_callback.metrics_logger\n")


def test_missing_litellm_params_is_reported_where_it_belongs() -> None:
    line, path, message = only_problem("model_list:\n  - model_name: x\n")
    assert (line, path) == (2, "model_list.0.litellm_params")
    assert "missing" in message


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    text = MINIMAL + "router_settings:\n  num_retries: 2\n  num_retries: 3\n"
    line, path, message = only_problem(text)
    assert (line, path) == (8, "router_settings.num_retries")
    assert "line 7" in message


def test_yaml_syntax_error_reports_its_line() -> None:
    line, path, message = only_problem("model_list:\n  - model_name: [unclosed\n")
    assert path == "<root>"
    assert line is not None
    assert line >= 2
    assert message.startswith("YAML syntax error")


@pytest.mark.parametrize("text", ["", "# nothing\n", "- a\n- b\n", "just text\n"])
def test_document_that_is_not_a_mapping_is_one_problem(text: str) -> None:
    _, path, message = only_problem(text)
    assert path == "<root>"
    assert "mapping" in message


def test_every_problem_is_reported_at_once() -> None:
    text = (
        MINIMAL
        + "router_settings:\n  retry_afterr: 5\n  routing_strategy: fastest\ngeneral_settings:\n  master_key: sk-1\n"
    )
    assert [path for _, path, _ in problems_of(text)] == [
        "router_settings.retry_afterr",
        "router_settings.routing_strategy",
        "general_settings.master_key",
    ]


def test_loads_raises_one_error_with_every_problem() -> None:
    with pytest.raises(ConfigValidationError) as caught:
        loads(MINIMAL + "general_settings:\n  master_key: sk-1\n  master_keyy: x\n")
    assert len(caught.value.problems) == 2
    assert "general_settings.master_keyy" in str(caught.value)


def test_validate_applies_rules_to_configs_built_in_python() -> None:
    config = GatewayConfig.model_validate(
        {
            "model_list": [{"model_name": "a", "litellm_params": {"model": "openai/gpt-4o"}}],
            "router_settings": {"fallbacks": [{"a": ["b"]}]},
        }
    )
    with pytest.raises(ConfigValidationError) as caught:
        validate(config)
    assert [problem.dotted_path for problem in caught.value.problems] == [
        "router_settings.fallbacks.0.a.0",
        "model_list.0.litellm_params.model",
    ]


def test_custom_guardrail_class_path_is_accepted() -> None:
    loads(
        MINIMAL
        + "guardrails:\n  - guardrail_name: g\n    litellm_params: {guardrail: my_guards.Custom, mode: pre_call}\n"
    )


def test_every_typed_key_is_one_litellm_knows() -> None:
    # A typed field LiteLLM does not read would let a config through that LiteLLM then ignores.
    # Deployment-level tpm/rpm are read by the usage-based routers (litellm/router_strategy/
    # lowest_tpm_rpm_v2.py: deployment.get("tpm")), not declared on LiteLLM's Deployment model.
    read_not_declared = {"Deployment": {"tpm", "rpm"}}
    for section in _all_subclasses(Section):
        unknown = section.typed_keys() - section.litellm_keys - read_not_declared.get(section.__name__, set())
        assert not unknown, (section.__name__, unknown)


def _all_subclasses(cls: type[Section]) -> list[type[Section]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


@pytest.mark.parametrize(
    ("literal", "generated"),
    [
        (RoutingStrategy, _litellm_keys.ROUTING_STRATEGIES),
        (GuardrailMode, _litellm_keys.GUARDRAIL_MODES),
        (CacheType, _litellm_keys.CACHE_TYPES),
    ],
    ids=["routing_strategy", "guardrail_mode", "cache_type"],
)
def test_value_sets_match_litellm(literal: object, generated: frozenset[str]) -> None:
    assert set(typing.get_args(literal)) == generated
