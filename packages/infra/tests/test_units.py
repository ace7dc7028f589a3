"""The pure parts: settings, model ARNs, the environment plan and its errors, timeouts, cost, CLI."""

from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from bedrockgate.gateway_config import loads, required_env
from bedrockgate.infra import (
    BedrockModelError,
    EnvironmentSourceError,
    InconsistentTimeoutError,
    SettingsError,
    edge_timeouts,
    gateway_request_timeout,
    load_settings,
    parse_model,
)
from bedrockgate.infra.app import build_app, chatbot_model_group, fixed_environment
from bedrockgate.infra.bedrock import guardrail_arn, model_arns
from bedrockgate.infra.cli import context_overrides, main
from bedrockgate.infra.cost import estimate, load_pricing
from bedrockgate.infra.environment import FromSecret, Plain, guardrail_variables, plan_environment
from bedrockgate.infra.report import Synthesized
from bedrockgate.infra.settings import DeploymentSettings, EnvSource, GuardrailSettings, PhoenixSettings
from bedrockgate.infra.wiring import derive_wiring, uses_phoenix

REPO = Path(__file__).resolve().parents[3]
DEV_SETTINGS = REPO / "packages" / "infra" / "settings" / "dev.yaml"
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
MINIMAL = """
model_list:
  - model_name: fast
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      api_key: os.environ/{name}
"""

UNWIRED = {"guardrail": GuardrailSettings(mode="none"), "phoenix": PhoenixSettings(mode="none")}
"""Settings updates for a config with neither a guardrail read through a variable nor arize_phoenix."""

# --- settings ------------------------------------------------------------------------------------


def test_dev_settings_resolve_the_config_next_to_the_file(dev_settings: DeploymentSettings) -> None:
    # examples/ is a link to the configs shipped in gateway-config: compare the files, not the spellings
    assert dev_settings.gateway_config == (REPO / "examples" / "agents-gateway.yaml").resolve()
    assert dev_settings.prefix == "bedrockgate-dev"
    assert dev_settings.metrics.namespace == "LiteLLMGateway"


def test_context_overrides_win_and_json_strings_are_decoded() -> None:
    settings = load_settings(DEV_SETTINGS, {"account": "123456789012", "allowed_cidrs": '["198.51.100.0/24"]'})
    assert settings.account == "123456789012"
    assert settings.allowed_cidrs == ("198.51.100.0/24",)


def test_context_overrides_pick_only_settings_fields() -> None:
    context = {"account": "123456789012", "settings": "x.yaml", "@aws-cdk/core:flag": True}
    assert context_overrides(context.get) == {"account": "123456789012"}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"gateway_image": "ghcr.io/berriai/litellm:latest"}, "not an image pinned by digest"),
        ({"allowed_cidrs": ["10.0.0.0/33"]}, "not a CIDR block"),
        ({"allowed_cidrs": ["0.0.0.0/0"]}, "allows every address"),
        ({"region": "mars-1"}, "not an AWS Region"),
        ({"environment": "Prod!"}, "environment"),
        (
            {"env_sources": {"X": {"value": "a", "secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:x"}}},
            "exactly one",
        ),
        (
            {"domain": {"name": "gw.other.org", "hosted_zone_id": "Z123456", "hosted_zone_name": "example.com"}},
            "not inside",
        ),
        ({"sizes": {"gateway_min_tasks": 5, "gateway_max_tasks": 2}}, "at least gateway_min_tasks"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"availability_zones": ["us-west-2a", "us-west-2b"]}, "two zones of us-east-1"),
    ],
)
def test_invalid_settings_name_the_field_and_the_fix(override: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(DEV_SETTINGS, {"account": "123456789012", **override})


def test_an_unreadable_settings_file_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")


# --- Bedrock ARNs --------------------------------------------------------------------------------


def _regions(geography: str) -> tuple[str, ...] | None:
    return {"us": ("us-east-1", "us-east-2", "us-west-2")}.get(geography)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
            {"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"},
        ),
        (
            "bedrock/converse/meta.llama3-8b-instruct-v1:0",
            {"arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0"},
        ),
        (
            "bedrock/anthropic.claude-3-sonnet-20240229-v1:0:28k",
            {"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-sonnet-20240229-v1:0"},
        ),
        (
            "bedrock/us.amazon.nova-pro-v1:0",
            {
                "arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.amazon.nova-pro-v1:0",
                "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
                "arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-pro-v1:0",
                "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0",
            },
        ),
        (
            "bedrock/global.anthropic.claude-sonnet-4-20250514-v1:0",
            {
                "arn:aws:bedrock:us-east-1:111111111111:inference-profile/global.anthropic.claude-sonnet-4-20250514-v1:0",
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
                "arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
            },
        ),
    ],
)
def test_model_ids_map_to_exact_arns(model: str, expected: set[str]) -> None:
    parsed = parse_model(model)
    assert parsed is not None
    assert model_arns(parsed, region="us-east-1", account="111111111111", profile_regions=_regions) == expected


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("bedrock/arn:aws:bedrock:us-east-1:111111111111:application-inference-profile/abc", "ARN"),
        ("bedrock/agent/AGENTID/ALIAS", "'agent/' route"),
        ("bedrock/us-west-2/anthropic.claude-3-haiku-20240307-v1:0", "aws_region_name"),
        ("bedrock/claude", "provider.model"),
        ("bedrock/us-gov.anthropic.claude-3-haiku-20240307-v1:0", "outside"),
    ],
)
def test_models_infra_cannot_scope_exactly_are_refused(model: str, message: str) -> None:
    with pytest.raises(BedrockModelError, match=re.escape(message)):
        parse_model(model)


def test_a_profile_called_from_outside_its_geography_is_refused() -> None:
    parsed = parse_model("bedrock/us.amazon.nova-pro-v1:0")
    assert parsed is not None
    with pytest.raises(BedrockModelError, match="called from one of us-east-1"):
        model_arns(parsed, region="eu-west-1", account="111111111111", profile_regions=_regions)


def test_non_bedrock_models_need_no_iam() -> None:
    assert parse_model("openai/gpt-4o") is None


def test_guardrail_arns_from_ids_and_arns() -> None:
    assert guardrail_arn("abc123", region="us-east-1", account="111111111111") == (
        "arn:aws:bedrock:us-east-1:111111111111:guardrail/abc123"
    )
    arn = "arn:aws:bedrock:eu-west-1:222222222222:guardrail/xyz"
    assert guardrail_arn(arn, region="us-east-1", account="111111111111") == arn
    with pytest.raises(BedrockModelError):
        guardrail_arn("not an id", region="us-east-1", account="111111111111")


# --- environment ---------------------------------------------------------------------------------


def test_a_variable_with_no_source_fails_with_where_and_how() -> None:
    config = loads(MINIMAL.format(name="CLAUDE_API_KEY"))
    with pytest.raises(EnvironmentSourceError) as raised:
        plan_environment(required_env(config), provided={}, settings_sources={}, fixed={})
    message = str(raised.value)
    assert "CLAUDE_API_KEY (secret), read by model_list.0.litellm_params.api_key" in message
    assert "env_sources:" in message
    assert "CLAUDE_API_KEY: {secret_arn:" in message


def test_a_secret_variable_is_never_given_a_plain_value() -> None:
    config = loads(MINIMAL.format(name="CLAUDE_API_KEY"))
    with pytest.raises(EnvironmentSourceError, match="is a secret"):
        plan_environment(
            required_env(config),
            provided={},
            settings_sources={"CLAUDE_API_KEY": EnvSource(value="sk-plain")},
            fixed={},
        )


def test_settings_sources_win_over_infras_own() -> None:
    config = loads(MINIMAL.format(name="LITELLM_MASTER_KEY"))
    arn = "arn:aws:secretsmanager:us-east-1:111111111111:secret:mine-AbCdEf"
    plan = plan_environment(
        required_env(config),
        provided={"LITELLM_MASTER_KEY": FromSecret("master_key")},
        settings_sources={"LITELLM_MASTER_KEY": EnvSource(secret_arn=arn)},
        fixed={"LITELLM_LOG": Plain("ERROR")},
    )
    assert plan.secrets["LITELLM_MASTER_KEY"].key == arn
    assert plan.plain == {"LITELLM_LOG": "ERROR"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_every_example_config_has_a_source_for_every_variable(example: Path, dev_settings: DeploymentSettings) -> None:
    from bedrockgate.gateway_config import load  # noqa: PLC0415
    from bedrockgate.infra.app import gateway_sources  # noqa: PLC0415

    config = load(example)
    settings = dev_settings.model_copy(
        update={
            "guardrail": GuardrailSettings(mode="create" if guardrail_variables(config).identifier else "none"),
            "phoenix": PhoenixSettings(mode="self-hosted" if uses_phoenix(config) else "none"),
        }
    )
    wiring = derive_wiring(settings, config)
    provided = gateway_sources(
        settings, wiring, cache_host="h", cache_port="6379", guardrail_id="g", guardrail_version="1"
    )
    plan = plan_environment(
        required_env(config), provided=provided, settings_sources={}, fixed=fixed_environment(settings, config, wiring)
    )
    assert {variable.name for variable in required_env(config)} <= plan.names


def test_build_app_fails_before_synth_when_a_variable_has_no_source(
    dev_settings: DeploymentSettings, tmp_path: Path
) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(MINIMAL.format(name="PARTNER_API_KEY"), encoding="utf-8")
    settings = dev_settings.model_copy(update={"gateway_config": config_file, **UNWIRED})
    with pytest.raises(EnvironmentSourceError, match="PARTNER_API_KEY"):
        build_app(settings, app=cdk.App(outdir=str(tmp_path / "out")), checks=False)


def test_chatbot_asks_a_model_group_of_the_config(dev_settings: DeploymentSettings, dev: Synthesized) -> None:
    config = dev.deployment.config
    assert chatbot_model_group(dev_settings, config) == "claude-primary"
    chosen = dev_settings.model_copy(
        update={"chatbot": dev_settings.chatbot.model_copy(update={"model": "claude-fast"})}
    )
    assert chatbot_model_group(chosen, config) == "claude-fast"
    wrong = dev_settings.model_copy(update={"chatbot": dev_settings.chatbot.model_copy(update={"model": "gpt-9"})})
    with pytest.raises(ValueError, match="not a model group"):
        chatbot_model_group(wrong, config)


def test_a_region_without_lex_v2_needs_the_chatbot_switched_off(dev_settings: DeploymentSettings) -> None:
    settings = dev_settings.model_copy(update={"region": "us-east-2"})
    with pytest.raises(ValueError, match="Lex V2 is not offered in us-east-2"):
        build_app(settings, checks=False)


# --- timeouts ------------------------------------------------------------------------------------


def test_edge_timeouts_outlast_the_gateways_longest_timeout() -> None:
    config = loads(MINIMAL.format(name="K") + "      timeout: 90\nlitellm_settings:\n  request_timeout: 120\n")
    assert gateway_request_timeout(config) == 120
    timeouts = edge_timeouts(config, has_cloudfront=True)
    assert (timeouts.alb_idle, timeouts.cloudfront_read) == (125, 125)
    assert any("quota increase" in warning for warning in timeouts.warnings)


def test_no_gateway_timeout_keeps_the_defaults_and_warns() -> None:
    timeouts = edge_timeouts(loads(MINIMAL.format(name="K")), has_cloudfront=False)
    assert timeouts.alb_idle == 60
    assert timeouts.gateway is None
    assert "sets no request timeout" in timeouts.warnings[0]


def test_a_timeout_cloudfront_cannot_wait_for_is_an_error_unless_accepted() -> None:
    config = loads(MINIMAL.format(name="K") + "litellm_settings:\n  request_timeout: 600\n")
    with pytest.raises(InconsistentTimeoutError, match="edge_read_timeout_seconds"):
        edge_timeouts(config, has_cloudfront=True)
    accepted = edge_timeouts(config, has_cloudfront=True, cloudfront_read=180)
    assert accepted.cloudfront_read == 180
    assert accepted.alb_idle == 605
    assert any("answers 504" in warning for warning in accepted.warnings)


# --- cost ----------------------------------------------------------------------------------------


def test_pricing_table_has_its_date_and_sources() -> None:
    pricing = load_pricing()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", pricing.date)
    assert pricing.region == "us-east-1"
    assert pricing.currency == "USD"
    for service, table in pricing.prices.items():
        assert str(table["source"]).startswith("https://aws.amazon.com/"), service


def test_cost_estimate_prices_every_service_from_settings_and_templates(dev: Synthesized) -> None:
    lines = estimate(
        dev.deployment.settings,
        dev.templates,
        model_groups=len(dev.deployment.config.model_groups()),
        pricing=load_pricing(),
    )
    services = {line.service: line for line in lines}
    assert {"ECS Fargate (ARM64)", "Aurora PostgreSQL Serverless v2", "ElastiCache (Valkey)", "AWS WAF"} <= set(
        services
    )
    assert all(line.monthly >= 0 and line.basis for line in lines)
    assert "13 secrets" in services["AWS Secrets Manager"].basis
    assert "5 endpoints" in services["VPC: interface endpoints"].basis
    assert 100 < sum(line.monthly for line in lines) < 1000


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_reports_bad_settings_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = tmp_path / "bad.yaml"
    settings.write_text("environment: dev\n", encoding="utf-8")
    out = str(tmp_path / "out")
    assert (
        main(["synth", "--settings", str(settings), "--out", out, "-c", "synth_only=true", "-c", "region=us-east-1"])
        == 1
    )
    assert "deployment settings are invalid" in capsys.readouterr().err


def test_cli_refuses_a_context_value_without_equals() -> None:
    with pytest.raises(SystemExit, match="field=value"):
        main(["synth", "-c", "account"])
