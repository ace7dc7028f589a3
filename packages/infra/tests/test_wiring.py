"""The settings and the gateway config must agree: the derivation (wiring.derive_wiring) and its errors.

Pure tests over the derivation, a property over every combination of what a config uses and what
the settings provision (each mismatch is an error naming both files; every agreeing pair gives
exactly the wiring the settings choose), and build_app refusing each mismatch before any stack exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

import aws_cdk as cdk
import pytest
import yaml
from bedrockgate.gateway_config import GatewayConfig, loads
from bedrockgate.infra import resolve_settings
from bedrockgate.infra.app import CONFIG_POLICIES, build_app, fixed_environment, gateway_sources
from bedrockgate.infra.environment import FromSecret, Plain
from bedrockgate.infra.exceptions import ConfigMismatchError, InfraError, SettingsError
from bedrockgate.infra.settings import (
    DeploymentSettings,
    EnvSource,
    GuardrailSettings,
    PhoenixSettings,
    load_settings,
)
from bedrockgate.infra.target import placeholder_problems
from bedrockgate.infra.wiring import (
    PHOENIX_API_KEY,
    PHOENIX_ENDPOINT,
    ProviderSecret,
    derive_wiring,
    self_hosted_collector,
    uses_phoenix,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO: Final = Path(__file__).resolve().parents[3]
DEV_SETTINGS: Final = REPO / "packages" / "infra" / "settings" / "dev.yaml"
SETTINGS_FILE: Final = Path("/deploy/settings/prod.yaml")
CONFIG_FILE: Final = Path("/deploy/configs/gateway.yaml")
PRODUCTION: Final = REPO / "examples" / "agents-gateway.yaml"
CLOUD_ENDPOINT: Final = "https://app.phoenix.arize.com/s/acme/v1/traces"
CLOUD_KEY_ARN: Final = "arn:aws:secretsmanager:us-east-1:111111111111:secret:phoenix/api-key-AbCdEf"
MODEL: Final = "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0"


def config_text(
    *,
    guardrail: str = "none",
    phoenix: str = "none",
    providers: tuple[tuple[str, str], ...] = (),
    identifier: str = "BEDROCK_GUARDRAIL_ID",
    version: str = "BEDROCK_GUARDRAIL_VERSION",
) -> str:
    """A config that uses a guardrail (``env``: through variables, ``literal``: by id), Phoenix, other providers."""
    model_list: list[dict[str, Any]] = [{"model_name": "fast", "litellm_params": {"model": MODEL}}]
    for index, (provider, variable) in enumerate(providers):
        model_list.append(
            {
                "model_name": f"{provider}-{index}",
                "litellm_params": {"model": f"{provider}/model-{index}", "api_key": f"os.environ/{variable}"},
            }
        )
    document: dict[str, Any] = {"model_list": model_list}
    if guardrail != "none":
        document["guardrails"] = [
            {
                "guardrail_name": "guard",
                "litellm_params": {
                    "guardrail": "bedrock",
                    "mode": "pre_call",
                    "guardrailIdentifier": f"os.environ/{identifier}" if guardrail == "env" else "abcd1234efgh",
                    "guardrailVersion": f"os.environ/{version}" if guardrail == "env" else "1",
                },
            }
        ]
    if phoenix != "none":
        document["litellm_settings"] = {phoenix: ["arize_phoenix"]}
    return yaml.safe_dump(document, sort_keys=False)


def parsed(text: str) -> GatewayConfig:
    return loads(text, source=str(CONFIG_FILE), policies=CONFIG_POLICIES)


def chosen(
    base: DeploymentSettings,
    *,
    guardrail: str = "create",
    phoenix: str = "self-hosted",
    multi_provider: bool = False,
    **update: Any,
) -> DeploymentSettings:
    guardrail_settings = (
        GuardrailSettings(mode="existing", id="existing0guard", version="3")
        if guardrail == "existing"
        else GuardrailSettings.model_validate({"mode": guardrail})
    )
    phoenix_settings = (
        PhoenixSettings(mode="cloud", collector_endpoint=CLOUD_ENDPOINT, api_key_secret_arn=CLOUD_KEY_ARN)
        if phoenix == "cloud"
        else PhoenixSettings.model_validate({"mode": phoenix})
    )
    return base.model_copy(
        update={
            "guardrail": guardrail_settings,
            "phoenix": phoenix_settings,
            "multi_provider": multi_provider,
            "settings_file": SETTINGS_FILE,
            "gateway_config": CONFIG_FILE,
            **update,
        }
    )


def assert_names_both_files(error: ConfigMismatchError | pytest.ExceptionInfo[ConfigMismatchError]) -> str:
    message = str(error.value if isinstance(error, pytest.ExceptionInfo) else error)
    assert str(SETTINGS_FILE) in message
    assert str(CONFIG_FILE) in message
    return message


# --- the default deployment ----------------------------------------------------------------------


def test_the_production_config_wires_the_created_guardrail_and_self_hosted_phoenix(
    dev_settings: DeploymentSettings,
) -> None:
    config = loads(PRODUCTION.read_text(encoding="utf-8"), policies=CONFIG_POLICIES)
    wiring = derive_wiring(dev_settings, config)
    assert wiring.guardrail.provisioned
    assert wiring.guardrail.identifier_variables == {"BEDROCK_GUARDRAIL_ID"}
    assert wiring.guardrail.version_variables == {"BEDROCK_GUARDRAIL_VERSION"}
    assert wiring.phoenix.provisioned
    assert wiring.phoenix.environment == {
        PHOENIX_ENDPOINT: Plain("http://phoenix.bedrockgate-dev.internal:6006/v1/traces"),
        PHOENIX_API_KEY: FromSecret("phoenix_admin_secret"),
    }
    assert wiring.provider_secrets == ()
    fixed = fixed_environment(dev_settings, config, wiring)
    assert fixed[PHOENIX_ENDPOINT] == Plain(self_hosted_collector(dev_settings))
    provided = gateway_sources(
        dev_settings, wiring, cache_host="h", cache_port="1", guardrail_id="gid", guardrail_version="4"
    )
    assert provided["BEDROCK_GUARDRAIL_ID"] == Plain("gid")
    assert provided["BEDROCK_GUARDRAIL_VERSION"] == Plain("4")


def test_settings_loaded_from_a_file_remember_it(dev_settings: DeploymentSettings) -> None:
    assert dev_settings.settings_file == DEV_SETTINGS.resolve()
    assert dev_settings.guardrail.mode == "create"
    assert dev_settings.phoenix.mode == "self-hosted"
    assert dev_settings.multi_provider is False


# --- each mismatch, pure -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("guardrail", "phoenix", "config", "expected"),
    [
        ("create", "none", config_text(), r"provision a Bedrock guardrail .* guardrail: \{mode: none\}"),
        ("create", "none", config_text(guardrail="literal"), r"name theirs literally \(guard\)"),
        ("existing", "none", config_text(), r"existing guardrail existing0guard .* does not use"),
        ("none", "none", config_text(guardrail="env"), r"BEDROCK_GUARDRAIL_ID, which infra neither provisions"),
        ("none", "self-hosted", config_text(), r"provision Phoenix .* phoenix: \{mode: none\}"),
        ("none", "cloud", config_text(), r"Phoenix Cloud \(https://app\.phoenix\.arize\.com/s/acme/v1/traces\)"),
        ("none", "none", config_text(phoenix="callbacks"), r"arize_phoenix callback .*\(phoenix\.mode: none\)"),
    ],
    ids=[
        "guardrail-created-unused",
        "guardrail-created-config-names-its-own",
        "guardrail-given-unused",
        "guardrail-read-but-none",
        "phoenix-self-hosted-unused",
        "phoenix-cloud-unused",
        "phoenix-callback-without-phoenix",
    ],
)
def test_each_mismatch_names_both_files_and_the_fix(
    dev_settings: DeploymentSettings, guardrail: str, phoenix: str, config: str, expected: str
) -> None:
    with pytest.raises(ConfigMismatchError) as raised:
        derive_wiring(chosen(dev_settings, guardrail=guardrail, phoenix=phoenix), parsed(config))
    assert re.search(expected, assert_names_both_files(raised))


def test_every_mismatch_is_reported_at_once(dev_settings: DeploymentSettings) -> None:
    with pytest.raises(ConfigMismatchError) as raised:
        derive_wiring(chosen(dev_settings), parsed(config_text(providers=(("openai", "OPENAI_API_KEY"),))))
    message = assert_names_both_files(raised)
    assert "guardrail" in message
    assert "Phoenix" in message
    assert "multi_provider: true" in message
    assert isinstance(raised.value, InfraError)


def test_a_guardrail_variable_from_env_sources_is_refused(dev_settings: DeploymentSettings) -> None:
    settings = chosen(dev_settings, phoenix="none", env_sources={"BEDROCK_GUARDRAIL_ID": EnvSource(value="abc")})
    with pytest.raises(ConfigMismatchError, match=r"env_sources gives BEDROCK_GUARDRAIL_ID,.*mode: existing"):
        derive_wiring(settings, parsed(config_text(guardrail="env")))


def test_without_a_settings_file_the_error_says_the_settings_came_as_context(dev_settings: DeploymentSettings) -> None:
    settings = chosen(dev_settings, settings_file=None)
    with pytest.raises(ConfigMismatchError, match=r"deployment settings \(given without a file, as CDK context\)"):
        derive_wiring(settings, parsed(config_text()))


# --- existing guardrail, Phoenix Cloud, providers ------------------------------------------------


def test_an_existing_guardrails_id_and_version_reach_the_config(dev_settings: DeploymentSettings) -> None:
    wiring = derive_wiring(
        chosen(dev_settings, guardrail="existing", phoenix="none"), parsed(config_text(guardrail="env"))
    )
    assert not wiring.guardrail.provisioned
    provided = gateway_sources(dev_settings, wiring, cache_host="h", cache_port="1")
    assert provided["BEDROCK_GUARDRAIL_ID"] == Plain("existing0guard", "settings")
    assert provided["BEDROCK_GUARDRAIL_VERSION"] == Plain("3", "settings")


def test_phoenix_cloud_gets_the_endpoint_and_the_key_secret_from_the_settings(dev_settings: DeploymentSettings) -> None:
    wiring = derive_wiring(
        chosen(dev_settings, guardrail="none", phoenix="cloud"), parsed(config_text(phoenix="callbacks"))
    )
    assert not wiring.phoenix.provisioned
    assert wiring.phoenix.environment == {
        PHOENIX_ENDPOINT: Plain(CLOUD_ENDPOINT, "settings"),
        PHOENIX_API_KEY: FromSecret(CLOUD_KEY_ARN, origin="settings"),
    }


@pytest.mark.parametrize(
    ("phoenix", "error"),
    [
        ({"mode": "cloud"}, "needs phoenix.collector_endpoint and phoenix.api_key_secret_arn"),
        (
            {
                "mode": "cloud",
                "collector_endpoint": "http://plain.example.com/v1/traces",
                "api_key_secret_arn": CLOUD_KEY_ARN,
            },
            "collector_endpoint",
        ),
        ({"mode": "cloud", "collector_endpoint": CLOUD_ENDPOINT, "api_key_secret_arn": "phoenix/key"}, "complete"),
        ({"mode": "self-hosted", "collector_endpoint": CLOUD_ENDPOINT}, "go with mode cloud"),
        ({"mode": "elsewhere"}, "phoenix.mode"),
    ],
)
def test_phoenix_settings_are_checked(phoenix: dict[str, str], error: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(error)):
        load_settings(DEV_SETTINGS, {"account": "111111111111", "phoenix": phoenix})


def test_only_a_self_hosted_phoenix_needs_its_image(dev_settings: DeploymentSettings) -> None:
    data = {**dev_settings.model_dump(), "phoenix_image": None}
    with pytest.raises(ValueError, match=r"phoenix\.mode self-hosted .* give phoenix_image"):
        DeploymentSettings.model_validate(data)
    cloud = {"mode": "cloud", "collector_endpoint": CLOUD_ENDPOINT, "api_key_secret_arn": CLOUD_KEY_ARN}
    assert DeploymentSettings.model_validate({**data, "phoenix": cloud}).phoenix_image is None
    # A placeholder Phoenix digest blocks a deploy only when Phoenix runs here.
    placeholder = dev_settings.model_copy(
        update={"gateway_image": f"{'1' * 12}.dkr.ecr.us-east-1.amazonaws.com/g@sha256:{'ab' * 32}"}
    )
    assert any("phoenix_image" in problem for problem in placeholder_problems(placeholder))
    in_the_cloud = placeholder.model_copy(update={"phoenix": PhoenixSettings.model_validate(cloud)})
    assert not any("phoenix_image" in problem for problem in placeholder_problems(in_the_cloud))


@pytest.mark.parametrize(
    ("guardrail", "error"),
    [
        ({"mode": "existing"}, "needs guardrail.id and guardrail.version"),
        ({"mode": "create", "id": "abc"}, "go with mode existing"),
        ({"mode": "existing", "id": "Not An Id", "version": "1"}, "guardrail.id"),
        ({"mode": "existing", "id": "abc", "version": "latest"}, "guardrail.version"),
    ],
)
def test_guardrail_settings_are_checked(guardrail: dict[str, str], error: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(error)):
        load_settings(DEV_SETTINGS, {"account": "111111111111", "guardrail": guardrail})


def test_other_providers_need_multi_provider(dev_settings: DeploymentSettings) -> None:
    config = parsed(config_text(providers=(("openai", "OPENAI_API_KEY"),)))
    with pytest.raises(ConfigMismatchError) as raised:
        derive_wiring(chosen(dev_settings, guardrail="none", phoenix="none"), config)
    message = assert_names_both_files(raised)
    assert "model_list.1 (openai-0, openai/model-0)" in message
    assert "bedrock-only" in message
    wiring = derive_wiring(chosen(dev_settings, guardrail="none", phoenix="none", multi_provider=True), config)
    assert wiring.provider_secrets == (ProviderSecret("openai", "OPENAI_API_KEY", ("openai-0",)),)
    assert wiring.provider_sources == {"OPENAI_API_KEY": FromSecret("provider:openai")}
    assert wiring.provider_secrets[0].secret_name("bedrockgate-dev") == "bedrockgate-dev/providers/openai/api-key"


@pytest.mark.parametrize(
    ("document", "env_sources", "error"),
    [
        (
            "model_list:\n  - model_name: gpt\n    litellm_params: {model: openai/gpt-4o}\n",
            {},
            "read the openai API key as api_key: os.environ/OPENAI_API_KEY",
        ),
        (
            "model_list:\n  - model_name: gpt\n    litellm_params: {model: gpt-4o, api_key: os.environ/K}\n",
            {},
            "name the provider before the model",
        ),
        (
            "model_list:\n"
            "  - model_name: a\n    litellm_params: {model: openai/a, api_key: os.environ/OPENAI_API_KEY}\n"
            "  - model_name: b\n    litellm_params: {model: openai/b, api_key: os.environ/OPENAI_KEY_TWO}\n",
            {},
            "one key per provider",
        ),
        (
            "model_list:\n"
            "  - model_name: a\n    litellm_params: {model: openai/a, api_key: os.environ/SHARED_API_KEY}\n"
            "  - model_name: b\n    litellm_params: {model: anthropic/b, api_key: os.environ/SHARED_API_KEY}\n",
            {},
            "API key of both anthropic and openai",
        ),
        (
            "model_list:\n  - model_name: a\n"
            "    litellm_params: {model: openai/a, api_key: os.environ/OPENAI_API_KEY}\n",
            {"OPENAI_API_KEY": {"secret_arn": CLOUD_KEY_ARN}},
            "keys of other providers come only from the secret infra creates",
        ),
    ],
    ids=["no-key-variable", "no-provider", "two-variables", "shared-variable", "key-in-env-sources"],
)
def test_other_provider_keys_come_only_from_infras_secrets(
    dev_settings: DeploymentSettings, document: str, env_sources: dict[str, Any], error: str
) -> None:
    sources = {name: EnvSource.model_validate(source) for name, source in env_sources.items()}
    settings = chosen(dev_settings, guardrail="none", phoenix="none", multi_provider=True, env_sources=sources)
    with pytest.raises(ConfigMismatchError, match=re.escape(error)):
        derive_wiring(settings, parsed(document))


# --- the property --------------------------------------------------------------------------------

variables = st.from_regex(r"[A-Z][A-Z0-9_]{2,12}", fullmatch=True).filter(
    lambda name: not re.search("KEY|SECRET|PASSWORD|TOKEN|PHOENIX|REDIS|AWS|LITELLM|DATABASE", name)
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A config (what it uses) and settings (what they provision), with the facts to check them by."""
    guardrail_use = draw(st.sampled_from(["none", "env", "literal"]))
    identifier = draw(variables)
    version = draw(variables.filter(lambda name: name != identifier))
    phoenix_use = draw(st.sampled_from(["none", "callbacks", "success_callback", "failure_callback"]))
    providers = draw(st.lists(st.sampled_from(["openai", "anthropic", "mistral", "azure"]), unique=True, max_size=3))
    uses = {
        "guardrail": guardrail_use,
        "identifier": identifier,
        "version": version,
        "phoenix": phoenix_use != "none",
        "providers": providers,
    }
    text = config_text(
        guardrail=guardrail_use,
        phoenix=phoenix_use,
        providers=tuple((provider, f"{provider.upper()}_API_KEY") for provider in providers),
        identifier=identifier,
        version=version,
    )
    provisions = {
        "guardrail": draw(st.sampled_from(["create", "existing", "none"])),
        "phoenix": draw(st.sampled_from(["self-hosted", "cloud", "none"])),
        "multi_provider": draw(st.booleans()),
    }
    return text, uses, provisions


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases())
def test_the_derivation_accepts_exactly_the_agreeing_pairs_and_wires_what_the_settings_choose(
    dev_settings: DeploymentSettings, case: tuple[str, dict[str, Any], dict[str, Any]]
) -> None:
    text, uses, provisions = case
    reads_guardrail = uses["guardrail"] == "env"
    expected = {
        "guardrail": (provisions["guardrail"] != "none") != reads_guardrail,
        "phoenix": (provisions["phoenix"] != "none") != uses["phoenix"],
        "providers": bool(uses["providers"]) and not provisions["multi_provider"],
    }
    settings_ = chosen(
        dev_settings,
        guardrail=provisions["guardrail"],
        phoenix=provisions["phoenix"],
        multi_provider=provisions["multi_provider"],
    )
    config = parsed(text)
    if any(expected.values()):
        with pytest.raises(ConfigMismatchError) as raised:
            derive_wiring(settings_, config)
        # One line per problem, each about one of the three, with its fix.
        problems = assert_names_both_files(raised).split("\n  ")[1:]
        assert sorted(map(_topic, problems)) == sorted(topic for topic, wrong in expected.items() if wrong)
        return
    wiring = derive_wiring(settings_, config)
    assert wiring.guardrail.provisioned == (provisions["guardrail"] == "create")
    if reads_guardrail:
        assert wiring.guardrail.identifier_variables == {uses["identifier"]}
        assert wiring.guardrail.version_variables == {uses["version"]}
        provided = gateway_sources(
            settings_, wiring, cache_host="h", cache_port="1", guardrail_id="made", guardrail_version="9"
        )
        given_id = "made" if provisions["guardrail"] == "create" else "existing0guard"
        source = provided[uses["identifier"]]
        assert isinstance(source, Plain)
        assert source.value == given_id
    else:
        assert not wiring.guardrail.identifier_variables
    assert wiring.phoenix.provisioned == (provisions["phoenix"] == "self-hosted")
    assert uses_phoenix(config) == uses["phoenix"]
    fixed = fixed_environment(settings_, config, wiring)
    assert (PHOENIX_ENDPOINT in fixed) == uses["phoenix"]
    assert (PHOENIX_API_KEY in fixed) == uses["phoenix"]
    assert {secret.provider for secret in wiring.provider_secrets} == set(uses["providers"])
    assert set(wiring.provider_sources) == {f"{provider.upper()}_API_KEY" for provider in uses["providers"]}


def _topic(problem: str) -> str:
    if "multi_provider" in problem:
        return "providers"
    return "phoenix" if "phoenix" in problem.lower() else "guardrail"


# --- build_app refuses a mismatch before any stack exists ----------------------------------------


def _files(tmp_path: Path, lambda_zip: Path, config: str, **settings_update: Any) -> DeploymentSettings:
    """A settings file and a gateway config file, loaded as a synth-only run loads them."""
    config_file = tmp_path / "gateway.yaml"
    config_file.write_text(config, encoding="utf-8")
    data = yaml.safe_load(DEV_SETTINGS.read_text(encoding="utf-8"))
    data.update(gateway_config=str(config_file), **settings_update)
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    return resolve_settings(settings_file, {"chatbot": {"lambda_asset": str(lambda_zip)}}, synth_only=True).settings


@pytest.mark.parametrize(
    ("config", "settings_update", "expected"),
    [
        (config_text(phoenix="callbacks"), {}, "guardrail: {mode: none}"),
        (config_text(guardrail="env"), {}, "phoenix: {mode: none}"),
        (
            config_text(guardrail="env", phoenix="callbacks"),
            {"guardrail": {"mode": "none"}},
            "guardrail: {mode: create}",
        ),
        (
            config_text(guardrail="env", phoenix="callbacks", providers=(("openai", "OPENAI_API_KEY"),)),
            {},
            "multi_provider: true",
        ),
    ],
    ids=["guardrail-unused", "phoenix-unused", "guardrail-not-given", "provider-not-allowed"],
)
def test_build_app_refuses_a_mismatch_naming_both_files(
    tmp_path: Path, lambda_zip: Path, config: str, settings_update: dict[str, Any], expected: str
) -> None:
    settings_ = _files(tmp_path, lambda_zip, config, **settings_update)
    app = cdk.App(outdir=str(tmp_path / "out"))
    with pytest.raises(ConfigMismatchError) as raised:
        build_app(settings_, app=app, checks=False)
    message = str(raised.value)
    assert str(tmp_path / "settings.yaml") in message
    assert str(tmp_path / "gateway.yaml") in message
    assert expected in message
    assert not [child for child in app.node.children if isinstance(child, cdk.Stack)]


def test_switched_off_explicitly_there_is_no_guardrail_and_no_phoenix_stack(tmp_path: Path, lambda_zip: Path) -> None:
    settings_ = _files(tmp_path, lambda_zip, config_text(), guardrail={"mode": "none"}, phoenix={"mode": "none"})
    deployment = build_app(settings_, app=cdk.App(outdir=str(tmp_path / "out")), checks=False)
    assert deployment.guardrail is None
    assert deployment.phoenix is None
    names = {stack.stack_name for stack in deployment.stacks}
    assert not {"bedrockgate-dev-guardrail", "bedrockgate-dev-phoenix"} & names
    assert not [name for name in deployment.plan.names if name.startswith(("PHOENIX_", "BEDROCK_GUARDRAIL"))]
    assert deployment.access.guardrail_arns == frozenset()
