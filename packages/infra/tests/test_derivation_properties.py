"""For any valid gateway config: the IAM policy allows exactly its model ARNs, the task gets exactly its variables.

Two levels, both over the same generated configs (tests/strategies.py), whose ground truth is
computed from what the generator chose:

- the derivation as pure functions (``bedrock_access``, ``plan_environment``), 300 examples;
- the synthesized task definition and role policy (``GatewayTask`` alone in a stack, with stand-in
  secrets, network and data): jsii makes each synth cost a few hundred milliseconds, so this runs
  100 examples with the smallest scope that still produces the real CloudFormation. Every one of
  them must also run the image as its contract says (user, read-only root, writable paths, port,
  health route: ``bedrockgate.infra.image_contract``).

The generated configs pass gateway-config's strict loader; beside each the generator records the
ground truth, computed from what it chose rather than by parsing the config: the Bedrock ARNs each
chosen model needs (AWS's rules for foundation models and inference profiles), the variables the
config reads, and the env_sources the settings must add.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Final

import aws_cdk as cdk
import yaml
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template
from bedrockgate.gateway_config import GatewayConfig, loads, render, required_env
from bedrockgate.infra.bedrock import BedrockAccess
from bedrockgate.infra.derivation import INFRA_SECRETS, CreatedValues, Derivation, derive_deployment
from bedrockgate.infra.environment import EnvironmentPlan
from bedrockgate.infra.image_contract import (
    CONFIG_DIGEST_VARIABLE,
    GATEWAY_PORT,
    GATEWAY_USER,
    GATEWAY_WRITABLE_PATHS,
    HEALTH_PATH,
)
from bedrockgate.infra.settings import (
    DEFAULT_INFERENCE_PROFILE_REGIONS,
    DeploymentSettings,
    EnvSource,
    GuardrailSettings,
    PhoenixSettings,
)
from bedrockgate.infra.stacks.gateway import GatewayTask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _judging_day() -> datetime.date:
    """gateway-config's clock for these tests: some generated models (Llama 3 8B) retire in 2027,
    and a property test must not start failing on a calendar date."""
    return datetime.date(2026, 12, 1)


ACCOUNT: Final = "111111111111"
REGION: Final = "us-east-1"
GUARDRAIL_ARN: Final = "arn:aws:bedrock:us-east-1:111111111111:guardrail/stubguardrail"

FOUNDATION_IDS: Final = (
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "amazon.nova-pro-v1:0",
    "amazon.nova-lite-v1:0",
    "amazon.titan-embed-text-v2:0",
    "meta.llama3-8b-instruct-v1:0",
)
ROUTES: Final = ("", "converse/", "invoke/")
STANDALONE_REGIONS: Final = ("us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2")
ALWAYS_SET: Final = frozenset(
    {
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "LITELLM_SALT_KEY",
        "LITELLM_MODE",
        "LITELLM_LOG",
        "NO_DOCS",
        "NO_REDOC",
        "NO_OPENAPI",
        "DISABLE_ADMIN_UI",
        "REDIS_SSL",
        "BEDROCKGATE_METRICS_NAMESPACE",
        "BEDROCKGATE_METRICS_SERVICE",
        "BEDROCKGATE_METRICS_KEY_DIMENSIONS",
        CONFIG_DIGEST_VARIABLE,
        "NUM_WORKERS",
    }
)
"""What the gateway container gets whatever its config reads (LiteLLM's production switches, the
metrics callback's settings, TLS to Valkey, the Region, the config digest); Phoenix's two come with it
when the config has the ``arize_phoenix`` callback. Written out here, not taken from infra, so a change
to the derivation shows up as a failing test."""
PHOENIX_VARIABLES: Final = frozenset({"PHOENIX_COLLECTOR_HTTP_ENDPOINT", "PHOENIX_API_KEY"})
# Variables infra provides itself, and those it always sets: generated names avoid them.
RESERVED: Final = (
    ALWAYS_SET
    | PHOENIX_VARIABLES
    | {"LITELLM_MASTER_KEY", "DATABASE_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "DISABLE_SCHEMA_UPDATE"}
)
_SECRET_NAME: Final = re.compile(r"(KEY|SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|DATABASE_URL|REDIS_URL|SALT)", re.I)


@dataclass(frozen=True)
class Generated:
    """A config and what infra must make of it."""

    config: GatewayConfig
    text: str
    arns: frozenset[str]
    variables: frozenset[str]
    env_sources: dict[str, dict[str, str]]
    guardrail: bool
    phoenix: bool
    groups: tuple[str, ...]
    """The model groups, in the order the generator wrote them."""


def expected_arns(foundation: str, geography: str | None, region: str) -> set[str]:
    """AWS's rule: a model needs its foundation-model ARN; a profile, itself and its models wherever it routes."""
    if geography is None:
        return {f"arn:aws:bedrock:{region}::foundation-model/{foundation}"}
    profile = f"arn:aws:bedrock:{region}:{ACCOUNT}:inference-profile/{geography}.{foundation}"
    if geography == "global":
        return {
            profile,
            f"arn:aws:bedrock:{region}::foundation-model/{foundation}",
            f"arn:aws:bedrock:::foundation-model/{foundation}",
        }
    return {
        profile,
        *(f"arn:aws:bedrock:{r}::foundation-model/{foundation}" for r in DEFAULT_INFERENCE_PROFILE_REGIONS[geography]),
    }


names = st.from_regex(r"[A-Z][A-Z0-9_]{2,14}", fullmatch=True).filter(lambda name: name not in RESERVED)
plain_names = names.filter(lambda name: not _SECRET_NAME.search(name))


@st.composite
def deployment(draw: st.DrawFn, group: str) -> tuple[dict[str, Any], set[str], set[str]]:
    """One model_list entry, the ARNs it needs and the variables it reads."""
    foundation = draw(st.sampled_from(FOUNDATION_IDS))
    geography = draw(st.sampled_from([None, None, "us", "eu", "apac", "global"]))
    variables: set[str] = set()
    params: dict[str, Any] = {}
    if geography in (None, "global"):
        region_choice = draw(st.sampled_from(["absent", "env", *STANDALONE_REGIONS]))
    elif geography == "us":
        region_choice = draw(st.sampled_from(["absent", "env", *DEFAULT_INFERENCE_PROFILE_REGIONS["us"]]))
    else:
        region_choice = draw(st.sampled_from(DEFAULT_INFERENCE_PROFILE_REGIONS[geography]))
    if region_choice == "absent":
        region = REGION
    elif region_choice == "env":
        region = REGION
        params["aws_region_name"] = "os.environ/AWS_REGION"
        variables.add("AWS_REGION")
    else:
        region = region_choice
        params["aws_region_name"] = region
    model_id = f"{geography}.{foundation}" if geography else foundation
    params = {"model": f"bedrock/{draw(st.sampled_from(ROUTES))}{model_id}", **params}
    if draw(st.booleans()):
        key = draw(names)
        params["api_key"] = f"os.environ/{key}"
        variables.add(key)
    if draw(st.booleans()):
        session = draw(plain_names)
        params["aws_session_name"] = f"os.environ/{session}"
        variables.add(session)
    if draw(st.booleans()):
        params["timeout"] = draw(st.integers(min_value=1, max_value=300))
    return {"model_name": group, "litellm_params": params}, expected_arns(foundation, geography, region), variables


@st.composite
def gateway_configs(draw: st.DrawFn) -> Generated:
    """A valid config of 1-4 model groups (1-2 deployments each), settings sections and maybe a guardrail."""
    groups = draw(st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True), min_size=1, max_size=4, unique=True))
    model_list: list[dict[str, Any]] = []
    arns: set[str] = set()
    variables: set[str] = set()
    for group in groups:
        for _ in range(draw(st.integers(min_value=1, max_value=2))):
            entry, needed, read = draw(deployment(group))
            model_list.append(entry)
            arns |= needed
            variables |= read
    document: dict[str, Any] = {"model_list": model_list}
    general: dict[str, Any] = {}
    if draw(st.booleans()):
        general["master_key"] = "os.environ/LITELLM_MASTER_KEY"
        variables.add("LITELLM_MASTER_KEY")
    if draw(st.booleans()):
        general["database_url"] = "os.environ/DATABASE_URL"
        variables.add("DATABASE_URL")
    if general:
        document["general_settings"] = general
    if draw(st.booleans()):
        document["router_settings"] = {
            "redis_host": "os.environ/REDIS_HOST",
            "redis_port": "os.environ/REDIS_PORT",
            "redis_password": "os.environ/REDIS_PASSWORD",
        }
        variables |= {"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"}
    guardrail = draw(st.booleans())
    if guardrail:
        unused = plain_names.filter(lambda name: name not in variables)
        identifier = draw(st.one_of(st.just("BEDROCK_GUARDRAIL_ID"), unused))
        version = draw(st.one_of(st.just("BEDROCK_GUARDRAIL_VERSION"), unused).filter(lambda name: name != identifier))
        document["guardrails"] = [
            {
                "guardrail_name": "content-guard",
                "litellm_params": {
                    "guardrail": "bedrock",
                    "mode": draw(st.sampled_from(["pre_call", "during_call", "post_call"])),
                    "guardrailIdentifier": f"os.environ/{identifier}",
                    "guardrailVersion": f"os.environ/{version}",
                    "default_on": True,
                },
            }
        ]
        variables |= {identifier, version}
    phoenix = draw(st.booleans())
    if phoenix:
        document["litellm_settings"] = {draw(st.sampled_from(["callbacks", "success_callback"])): ["arize_phoenix"]}
    text = yaml.safe_dump(document, sort_keys=False)
    config = loads(text, clock=_judging_day)
    guardrail_names = set()
    if guardrail:
        params = document["guardrails"][0]["litellm_params"]
        guardrail_names = {params["guardrailIdentifier"].split("/", 1)[1], params["guardrailVersion"].split("/", 1)[1]}
    env_sources: dict[str, dict[str, str]] = {}
    for name in sorted(variables - RESERVED - guardrail_names):
        if _SECRET_NAME.search(name) or _reads_as_credential(document, name):
            env_sources[name] = {
                "secret_arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:custom/{name.lower()}-AbCdEf"
            }
        else:
            env_sources[name] = {"value": f"value-of-{name.lower()}"}
    return Generated(
        config, text, frozenset(arns), frozenset(variables), env_sources, guardrail, phoenix, tuple(groups)
    )


def _reads_as_credential(document: dict[str, Any], name: str) -> bool:
    return any(entry["litellm_params"].get("api_key") == f"os.environ/{name}" for entry in document["model_list"])


STUB_GUARDRAIL_ID = "stubguardrail"
STUB_GUARDRAIL_VERSION = "7"


def settings_for(generated: Generated, base: DeploymentSettings) -> DeploymentSettings:
    """Settings that provision exactly what the config uses."""
    return base.model_copy(
        update={
            "env_sources": {name: EnvSource(**source) for name, source in generated.env_sources.items()},
            "guardrail": GuardrailSettings(mode="create" if generated.guardrail else "none"),
            "phoenix": PhoenixSettings(mode="self-hosted" if generated.phoenix else "none"),
        }
    )


def created_values(generated: Generated) -> CreatedValues:
    """Stand-ins for what the data and guardrail stacks create (CDK tokens in the app)."""
    if not generated.guardrail:
        return CreatedValues(cache_host="cache.example.internal", cache_port="6379")
    return CreatedValues(
        cache_host="cache.example.internal",
        cache_port="6379",
        guardrail_id=STUB_GUARDRAIL_ID,
        guardrail_version=STUB_GUARDRAIL_VERSION,
        guardrail_arn=GUARDRAIL_ARN,
    )


def derive(generated: Generated, base: DeploymentSettings) -> tuple[Derivation, EnvironmentPlan, BedrockAccess]:
    """The derivation the app runs (``derive_deployment``, then its gateway step), on the generated config."""
    derivation = derive_deployment(settings_for(generated, base), generated.config)
    gateway = derivation.gateway(created_values(generated))
    return derivation, gateway.plan, gateway.access


def check_environment(generated: Generated, plain: set[str], secret: set[str]) -> None:
    always = ALWAYS_SET | (PHOENIX_VARIABLES if generated.phoenix else frozenset())
    # A config with a database: no gateway task migrates it, the migration task does (once per deployment).
    always |= {"DISABLE_SCHEMA_UPDATE"} if "DATABASE_URL" in generated.variables else frozenset()
    assert plain | secret == set(generated.variables) | always
    assert not plain & secret
    assert {variable.name for variable in required_env(generated.config) if variable.secret} <= secret
    # The arize_phoenix callback reads its collector and key from the environment, not through the config.
    assert ("PHOENIX_COLLECTOR_HTTP_ENDPOINT" in plain) == generated.phoenix
    assert ("PHOENIX_API_KEY" in secret) == generated.phoenix


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gateway_configs())
def test_derivation_grants_exactly_the_configured_models_and_variables(
    dev_settings: DeploymentSettings, generated: Generated
) -> None:
    derivation, plan, access = derive(generated, dev_settings)
    assert access.model_arns == generated.arns
    assert access.guardrail_arns == (frozenset({GUARDRAIL_ARN}) if generated.guardrail else frozenset())
    check_environment(generated, set(plan.plain), set(plan.secrets))
    # The rest of what the stacks get: the fixed variables are in the plan, the dashboard's groups are
    # the config's, the chatbot asks one of them, and the wiring provisions exactly what the config uses.
    assert set(derivation.fixed_environment) <= plan.names
    assert derivation.model_groups == generated.groups
    assert derivation.chatbot_model_group == derivation.model_groups[0]
    assert derivation.wiring.guardrail.provisioned == generated.guardrail
    assert derivation.wiring.phoenix.provisioned == generated.phoenix
    assert derivation.timeouts.alb_idle >= 1
    # Pure: the same inputs give the same derivation.
    assert derive(generated, dev_settings)[1:] == (plan, access)
    # The image's entrypoint compares this digest with its --config file's; no separate health app.
    assert plan.plain[CONFIG_DIGEST_VARIABLE] == hashlib.sha256(render(generated.config).encode()).hexdigest()
    assert not [name for name in plan.names if name.startswith("SEPARATE_HEALTH")]
    if generated.guardrail:
        assert STUB_GUARDRAIL_ID in plan.plain.values()
        assert STUB_GUARDRAIL_VERSION in plan.plain.values()


def synthesize_task(deployment: DeploymentSettings, plan: EnvironmentPlan, access: BedrockAccess) -> dict[str, Any]:
    app = cdk.App()
    stack = cdk.Stack(app, "GatewayTaskOnly", env=cdk.Environment(account=ACCOUNT, region=REGION))
    secrets: dict[str, secretsmanager.ISecret] = {
        key: secretsmanager.Secret.from_secret_complete_arn(
            stack, f"Stub{key}", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:stub/{key}-AbCdEf"
        )
        for key in INFRA_SECRETS
    }
    for index, key in enumerate(sorted(plan.secret_keys - set(secrets))):
        secrets[key] = secretsmanager.Secret.from_secret_complete_arn(stack, f"Settings{index}", key)
    log_group = logs.LogGroup.from_log_group_name(stack, "Logs", "/stub/gateway")
    GatewayTask(stack, "Task", settings=deployment, access=access, plan=plan, secrets=secrets, log_group=log_group)
    return dict(Template.from_stack(stack).to_json())


def check_image_contract(task: dict[str, Any], container: dict[str, Any]) -> None:
    """Whatever the config, the task runs the image as its contract says (image_contract)."""
    assert container["User"] == GATEWAY_USER
    assert container["ReadonlyRootFilesystem"] is True
    mounts = {mount["ContainerPath"]: mount for mount in container["MountPoints"]}
    assert set(mounts) == set(GATEWAY_WRITABLE_PATHS)
    assert all(mount["ReadOnly"] is False for mount in mounts.values())
    # Each writable path is a bare task volume (Fargate ephemeral storage), used by that mount alone.
    volumes = {volume["Name"]: volume for volume in task["Volumes"]}
    assert sorted(volumes) == sorted(mount["SourceVolume"] for mount in mounts.values())
    assert all(volume == {"Name": name} for name, volume in volumes.items())
    assert [mapping["ContainerPort"] for mapping in container["PortMappings"]] == [GATEWAY_PORT]
    assert f"http://127.0.0.1:{GATEWAY_PORT}{HEALTH_PATH}" in container["HealthCheck"]["Command"][-1]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gateway_configs())
def test_synthesized_task_role_and_environment_match_the_config(
    dev_settings: DeploymentSettings, generated: Generated
) -> None:
    derivation, plan, access = derive(generated, dev_settings)
    template = synthesize_task(derivation.settings, plan, access)
    resources = template["Resources"].values()
    policies = [r["Properties"] for r in resources if r["Type"] == "AWS::IAM::Policy"]
    task_statements = [
        statement
        for policy in policies
        if "TaskRole" in json.dumps(policy["Roles"])
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    invoked: set[str] = set()
    applied: set[str] = set()
    for statement in task_statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if actions == ["bedrock:ApplyGuardrail"]:
            applied |= set(targets)
        else:
            assert sorted(actions) == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
            invoked |= set(targets)
    assert invoked == generated.arns
    assert applied == ({GUARDRAIL_ARN} if generated.guardrail else set())

    (task,) = [r["Properties"] for r in resources if r["Type"] == "AWS::ECS::TaskDefinition"]
    (container,) = task["ContainerDefinitions"]
    plain = {item["Name"] for item in container.get("Environment", [])}
    secret = {item["Name"] for item in container.get("Secrets", [])}
    check_environment(generated, plain, secret)
    check_image_contract(task, container)
    # The execution role reads exactly the secrets injected, nothing else.
    execution = [
        statement
        for policy in policies
        if "ExecutionRole" in json.dumps(policy["Roles"])
        for statement in policy["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in statement["Action"]
    ]
    read = {statement["Resource"] for statement in execution}
    # ValueFrom is the secret's ARN, followed by ":<json field>::" when a field is picked.
    injected = {":".join(item["ValueFrom"].split(":")[:7]) for item in container.get("Secrets", [])}
    assert read == injected
