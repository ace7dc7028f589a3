"""The whole deployment as one CDK app: the stacks, wired together and derived from the config.

:func:`build_app` reads the gateway config named in the settings (validated strictly by
gateway-config: a config with a problem never reaches CloudFormation), derives what the gateway
needs from it, and creates every stack. :func:`gateway_sources` is the list of variables infra
itself can provide; everything else a config reads must come from the settings' ``env_sources``.

:func:`build_registry_app` creates the registry stack alone: what a first deploy needs before any
gateway image exists. A ``source_commit`` in the settings is recorded on every stack (the tag
``bedrockgate:source-commit``) and as the gateway stack's ``SourceCommit`` output.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_secretsmanager as secretsmanager
from bedrockgate.gateway_config import ALL_POLICIES, GatewayConfig, Policy, load, render, required_env
from bedrockgate.infra.bedrock import BedrockAccess, bedrock_access, guardrail_arn
from bedrockgate.infra.environment import (
    EnvironmentPlan,
    FromSecret,
    Plain,
    Source,
    plan_environment,
)
from bedrockgate.infra.exceptions import SettingsError
from bedrockgate.infra.image_contract import CONFIG_DIGEST_VARIABLE, check_image_database
from bedrockgate.infra.nag import enable_checks
from bedrockgate.infra.settings import DeploymentSettings, chatbot_lambda_zip, parse_gateway_image
from bedrockgate.infra.stacks.chatbot import LEX_V2_REGIONS, ChatbotStack
from bedrockgate.infra.stacks.cloudfront import CLOUDFRONT_REGION, CloudFrontStack
from bedrockgate.infra.stacks.data import DataStack
from bedrockgate.infra.stacks.edge import EdgeStack
from bedrockgate.infra.stacks.gateway import GatewayStack
from bedrockgate.infra.stacks.guardrail import GuardrailStack
from bedrockgate.infra.stacks.network import NetworkStack
from bedrockgate.infra.stacks.observability import ObservabilityStack
from bedrockgate.infra.stacks.phoenix import PhoenixStack
from bedrockgate.infra.stacks.registry import RegistryStack
from bedrockgate.infra.timeouts import EdgeTimeouts, edge_timeouts
from bedrockgate.infra.wiring import Wiring, derive_wiring

__all__ = [
    "INFRA_SECRETS",
    "SOURCE_COMMIT_OUTPUT",
    "SOURCE_COMMIT_TAG",
    "Deployment",
    "build_app",
    "build_registry_app",
    "chatbot_model_group",
    "fixed_environment",
    "gateway_sources",
    "load_gateway_config",
]

INFRA_SECRETS: Final = ("master_key", "salt_key", "database_url", "cache_auth_token", "phoenix_admin_secret")
"""The secrets infra creates that the gateway's environment may read, by key (and one per other provider)."""
CONFIG_POLICIES: Final = ALL_POLICIES - {Policy.BEDROCK_ONLY}
"""The policies infra loads a config with: bedrock-only is the settings' ``multi_provider`` (see wiring)."""

METRICS_CALLBACK: Final = "bedrockgate.metrics_callback"
SOURCE_COMMIT_TAG: Final = "bedrockgate:source-commit"
"""The tag on every stack (and so on its resources) naming the git commit deployed."""
SOURCE_COMMIT_OUTPUT: Final = "SourceCommit"
"""The gateway stack's output naming the git commit deployed."""


@dataclass(frozen=True, slots=True)
class Deployment:
    """The app, its inputs, what was derived from them, and every stack."""

    app: cdk.App
    settings: DeploymentSettings
    config: GatewayConfig
    timeouts: EdgeTimeouts
    access: BedrockAccess
    plan: EnvironmentPlan
    registry: RegistryStack
    network: NetworkStack
    data: DataStack
    guardrail: GuardrailStack | None
    edge: EdgeStack
    phoenix: PhoenixStack | None
    gateway: GatewayStack
    chatbot: ChatbotStack | None
    observability: ObservabilityStack
    wiring: Wiring
    cloudfront: CloudFrontStack | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def stacks(self) -> list[cdk.Stack]:
        """Every stack, in deployment order."""
        ordered: list[cdk.Stack | None] = [
            self.registry,
            self.network,
            self.data,
            self.guardrail,
            self.cloudfront,
            self.edge,
            self.phoenix,
            self.gateway,
            self.chatbot,
            self.observability,
        ]
        return [stack for stack in ordered if stack is not None]


def load_gateway_config(settings: DeploymentSettings) -> GatewayConfig:
    """The settings' gateway config, validated by gateway-config with every policy but bedrock-only.

    Bedrock-only is a deployment decision (``multi_provider``), enforced by :func:`derive_wiring`
    with an error naming the settings file as well as the config.
    """
    return load(settings.gateway_config, policies=CONFIG_POLICIES)


def fixed_environment(settings: DeploymentSettings, config: GatewayConfig, wiring: Wiring) -> dict[str, Source]:
    """Variables the gateway container always gets, whatever its config reads.

    LiteLLM's production switches (no docs or admin UI, quiet logs), its salt key, the metrics
    callback's namespace and service (so the dashboard reads what the callback writes), TLS to
    Valkey, the Region, the ``arize_phoenix`` callback's collector and key (which it reads from the
    environment, not through the config), and the sha256 of the rendered config: the image's
    entrypoint refuses to start when it differs from the sha256 of the file passed with ``--config``,
    so a task never runs an image whose baked-in config is not the one this synth derived everything from.
    """
    region = Plain(settings.region)
    return {
        **wiring.phoenix.environment,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LITELLM_SALT_KEY": FromSecret("salt_key"),
        "LITELLM_MODE": Plain("PRODUCTION"),
        "LITELLM_LOG": Plain("ERROR"),
        "NO_DOCS": Plain("True"),
        "NO_REDOC": Plain("True"),
        "NO_OPENAPI": Plain("True"),
        "DISABLE_ADMIN_UI": Plain("True"),
        "REDIS_SSL": Plain("true"),
        "BEDROCKGATE_METRICS_NAMESPACE": Plain(settings.metrics.namespace),
        "BEDROCKGATE_METRICS_SERVICE": Plain(settings.metrics_service),
        "BEDROCKGATE_METRICS_KEY_DIMENSIONS": Plain("true" if settings.metrics.key_dimensions else "false"),
        CONFIG_DIGEST_VARIABLE: Plain(hashlib.sha256(render(config).encode()).hexdigest()),
    }


def gateway_sources(
    settings: DeploymentSettings,
    wiring: Wiring,
    *,
    cache_host: str,
    cache_port: str,
    guardrail_id: str | None = None,
    guardrail_version: str | None = None,
) -> dict[str, Source]:
    """Every variable infra can provide, by name: what a config may read without env_sources.

    ``guardrail_id`` and ``guardrail_version`` are those of the guardrail infra creates
    (``guardrail.mode: create``); with ``existing`` the settings give them, with ``none`` there is none.
    Phoenix's variables and the other providers' keys come from the wiring.
    """
    region = Plain(settings.region)
    provided: dict[str, Source] = {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LITELLM_MASTER_KEY": FromSecret("master_key"),
        "LITELLM_SALT_KEY": FromSecret("salt_key"),
        "DATABASE_URL": FromSecret("database_url"),
        "REDIS_HOST": Plain(cache_host),
        "REDIS_PORT": Plain(cache_port),
        "REDIS_PASSWORD": FromSecret("cache_auth_token"),
        "REDIS_SSL": Plain("true"),
        **wiring.phoenix.environment,
        **wiring.provider_sources,
    }
    guardrail = wiring.guardrail
    if guardrail.mode == "existing":
        guardrail_id, guardrail_version = guardrail.existing_id, guardrail.existing_version
    if guardrail.identifier_variables and (guardrail_id is None or guardrail_version is None):
        raise ValueError(f"guardrail.mode {guardrail.mode}: the created guardrail's id and version are needed")
    origin = "settings" if guardrail.mode == "existing" else "infra"
    if guardrail_id is not None:
        provided.update({name: Plain(guardrail_id, origin) for name in guardrail.identifier_variables})
    if guardrail_version is not None:
        provided.update({name: Plain(guardrail_version, origin) for name in guardrail.version_variables})
    return provided


def chatbot_model_group(settings: DeploymentSettings, config: GatewayConfig) -> str:
    """The model group the chatbot asks: the settings' choice, else the config's first chat group."""
    groups = config.model_groups()
    chosen = settings.chatbot.model
    if chosen is not None:
        if chosen not in groups:
            raise ValueError(
                f"chatbot.model {chosen!r} is not a model group of the gateway config; "
                f"choose one of {', '.join(groups)}"
            )
        return chosen
    for deployment in config.model_list:
        mode = deployment.model_info.mode if deployment.model_info is not None else None
        if mode in (None, "chat", "completion", "responses"):
            return deployment.model_name
    raise ValueError("the gateway config has no chat model group for the chatbot: set chatbot.model")


def _prepare(app: cdk.App, settings: DeploymentSettings) -> cdk.Environment:
    """What every app shape shares: its environment, CDK context answered up front, and its tags."""
    # The VPC checks its zones against the stack's, which CDK would look up with credentials: give
    # the answer as context, as a cdk.context.json would, so synth never calls AWS.
    app.node.set_context(
        f"availability-zones:account={settings.account}:region={settings.region}", list(settings.zones)
    )
    # Cross-stack references stay CloudFormation exports (CDK's current default, stated so it stays put).
    app.node.set_context("@aws-cdk/core:defaultCrossStackReferences", "strong")
    cdk.Tags.of(app).add("project", "bedrockgate")
    cdk.Tags.of(app).add("environment", settings.environment)
    for key, value in settings.tags.items():
        cdk.Tags.of(app).add(key, value)
    if settings.source_commit is not None:
        cdk.Tags.of(app).add(SOURCE_COMMIT_TAG, settings.source_commit)
    return cdk.Environment(account=settings.account, region=settings.region)


def _registry(app: cdk.App, settings: DeploymentSettings, env: cdk.Environment) -> RegistryStack:
    return RegistryStack(
        app,
        f"{settings.prefix}-registry",
        env=env,
        settings=settings,
        description="bedrockgate: the gateway image's ECR repository",
    )


def build_registry_app(
    settings: DeploymentSettings, *, app: cdk.App | None = None, checks: bool = True
) -> RegistryStack:
    """Create only the registry stack in ``app``: the first deploy, before any gateway image exists.

    Needs neither the gateway config nor the images; the stack is the same one :func:`build_app` creates.
    """
    app = app if app is not None else cdk.App()
    registry = _registry(app, settings, _prepare(app, settings))
    if checks:
        enable_checks(app)
    return registry


def build_app(
    settings: DeploymentSettings,
    *,
    app: cdk.App | None = None,
    config: GatewayConfig | None = None,
    checks: bool = True,
) -> Deployment:
    """Create every stack of one deployment in ``app`` (a new App when None).

    Raises SettingsError without a gateway image, LambdaAssetError when the chatbot's zip is missing,
    ConfigValidationError for an invalid gateway config, GatewayImageError for a config that
    uses a database when the gateway image has none (``gateway_image_database: unavailable``),
    ConfigMismatchError when the settings and the config disagree (a guardrail or Phoenix one provisions
    and the other does not use, another provider without ``multi_provider``: see :mod:`.wiring`),
    EnvironmentSourceError for a config variable with no source, BedrockModelError for a model whose
    ARNs cannot be derived, and InconsistentTimeoutError when the edge cannot wait as long as the
    gateway.
    """
    if settings.gateway_image is None:
        raise SettingsError(
            "gateway_image is not given: the whole app needs the pushed gateway image, "
            "-c gateway_image=<registry>/<repository>@sha256:<digest> (before the first push, deploy the registry "
            f"stack alone: bedrockgate-infra cdk deploy {settings.prefix}-registry)"
        )
    app = app if app is not None else cdk.App()
    config = config if config is not None else load_gateway_config(settings)
    check_image_database(settings.gateway_image_database, config, config_path=settings.gateway_config)
    wiring = derive_wiring(settings, config)  # a mismatch of settings and config fails here, before any stack
    if settings.chatbot.enabled:
        chatbot_lambda_zip(settings)  # a missing zip fails here, before any stack exists
    if settings.chatbot.enabled and settings.region not in LEX_V2_REGIONS:
        raise ValueError(
            f"Amazon Lex V2 is not offered in {settings.region}: deploy in one of {', '.join(sorted(LEX_V2_REGIONS))}, "
            "or set chatbot.enabled: false in the deployment settings"
        )
    prefix = settings.prefix
    env = _prepare(app, settings)
    domain = settings.domain
    timeouts = edge_timeouts(
        config, cloudfront_read=settings.edge_read_timeout_seconds, has_cloudfront=domain is not None
    )

    registry = _registry(app, settings, env)
    network = NetworkStack(
        app, f"{prefix}-network", env=env, settings=settings, description="bedrockgate: VPC, endpoints, security groups"
    )
    data = DataStack(
        app,
        f"{prefix}-data",
        env=env,
        settings=settings,
        network=network,
        provider_secrets=wiring.provider_secrets,
        description="bedrockgate: LiteLLM's Aurora PostgreSQL, Valkey and keys",
    )
    guardrail = _guardrail_stack(app, settings, wiring, env)
    # --- edge (issue 15): CloudFront's us-east-1 stack with a domain, then the edge stack ---
    cloudfront: CloudFrontStack | None = None
    cross_region = False
    if settings.cloudfront_stack:
        cross_region = settings.region != CLOUDFRONT_REGION
        cloudfront = CloudFrontStack(
            app,
            f"{prefix}-cloudfront",
            env=cdk.Environment(account=settings.account, region=CLOUDFRONT_REGION),
            settings=settings,
            cross_region_references=cross_region,
            description="bedrockgate: CloudFront's web ACL and certificate (us-east-1)",
        )
    edge = EdgeStack(
        app,
        f"{prefix}-edge",
        env=env,
        settings=settings,
        network=network,
        timeouts=timeouts,
        cloudfront_stack=cloudfront,
        cross_region_references=cross_region,
        description="bedrockgate: ALB, WAF, CloudFront and DNS",
    )
    phoenix = _phoenix_stack(app, settings, wiring, env, network=network, listener=edge.listener)

    plan, access = _gateway_plan(settings, config, wiring, data=data, guardrail=guardrail)
    secrets = _created_secrets(data, phoenix)
    gateway = GatewayStack(
        app,
        f"{prefix}-gateway",
        env=env,
        settings=settings,
        network=network,
        listener=edge.listener,
        access=access,
        plan=plan,
        secrets={key: secret for key, secret in secrets.items() if key in plan.secret_keys},
        timeouts=timeouts,
        description="bedrockgate: LiteLLM on ECS Fargate",
    )
    chatbot: ChatbotStack | None = None
    if settings.chatbot.enabled:
        chatbot = ChatbotStack(
            app,
            f"{prefix}-chatbot",
            env=env,
            settings=settings,
            network=network,
            model_group=chatbot_model_group(settings, config),
            description="bedrockgate: Lex V2 chatbot and its fulfillment Lambda",
        )
    observability = ObservabilityStack(
        app,
        f"{prefix}-observability",
        env=env,
        settings=settings,
        model_groups=config.model_groups(),
        service=gateway.service,
        load_balancer=edge.alb,
        target_group=gateway.target_group,
        log_group=gateway.log_group,
        description="bedrockgate: dashboard, alarms, the ApplicationErrors metric and Logs Insights queries",
    )

    # Behind CloudFront, every route also requires the secret origin header (edge: guard_route).
    for route in (gateway.route, *([phoenix.route] if phoenix is not None else [])):
        edge.guard_route(route)

    if settings.source_commit is not None:
        cdk.CfnOutput(
            gateway,
            SOURCE_COMMIT_OUTPUT,
            value=settings.source_commit,
            description="The git commit this deploy was built from",
        )

    warnings = [*timeouts.warnings, *edge.warnings]
    for message in timeouts.warnings:
        cdk.Annotations.of(edge).add_warning_v2("bedrockgate:timeouts", message)
    if not _uses_metrics_callback(config):
        message = (
            f"the gateway config does not enable {METRICS_CALLBACK} in litellm_settings.callbacks: the dashboard's "
            "per-model widgets and alarms will have no data"
        )
        warnings.append(message)
        cdk.Annotations.of(observability).add_warning_v2("bedrockgate:metrics", message)
    repository_warning = _repository_warning(settings, settings.gateway_image)
    if repository_warning is not None:
        warnings.append(repository_warning)
        cdk.Annotations.of(gateway).add_warning_v2("bedrockgate:registry", repository_warning)

    if checks:
        enable_checks(app)
    return Deployment(
        app=app,
        settings=settings,
        config=config,
        timeouts=timeouts,
        access=access,
        plan=plan,
        registry=registry,
        network=network,
        data=data,
        guardrail=guardrail,
        edge=edge,
        phoenix=phoenix,
        gateway=gateway,
        chatbot=chatbot,
        observability=observability,
        wiring=wiring,
        cloudfront=cloudfront,
        warnings=tuple(warnings),
    )


def _guardrail_stack(
    app: cdk.App, settings: DeploymentSettings, wiring: Wiring, env: cdk.Environment
) -> GuardrailStack | None:
    """The guardrail stack, when the wiring says infra creates the guardrail."""
    if not wiring.guardrail.provisioned:
        return None
    return GuardrailStack(
        app, f"{settings.prefix}-guardrail", env=env, settings=settings, description="bedrockgate: Bedrock guardrail"
    )


def _phoenix_stack(
    app: cdk.App,
    settings: DeploymentSettings,
    wiring: Wiring,
    env: cdk.Environment,
    *,
    network: NetworkStack,
    listener: elbv2.IApplicationListener,
) -> PhoenixStack | None:
    """The Phoenix stack, when the wiring says Phoenix is self-hosted."""
    if not wiring.phoenix.provisioned:
        return None
    return PhoenixStack(
        app,
        f"{settings.prefix}-phoenix",
        env=env,
        settings=settings,
        network=network,
        listener=listener,
        description="bedrockgate: Arize Phoenix and its database",
    )


def _gateway_plan(
    settings: DeploymentSettings,
    config: GatewayConfig,
    wiring: Wiring,
    *,
    data: DataStack,
    guardrail: GuardrailStack | None,
) -> tuple[EnvironmentPlan, BedrockAccess]:
    """The gateway task's environment and what it may call on Bedrock."""
    provided = gateway_sources(
        settings,
        wiring,
        cache_host=data.cache_host,
        cache_port=data.cache_port,
        guardrail_id=guardrail.guardrail_id if guardrail is not None else None,
        guardrail_version=guardrail.version_number if guardrail is not None else None,
    )
    plan = plan_environment(
        required_env(config),
        provided=provided,
        settings_sources=settings.env_sources,
        fixed=fixed_environment(settings, config, wiring),
    )
    access = bedrock_access(
        config,
        region=settings.region,
        account=settings.account,
        known_values={name: value for name, value in plan.plain.items() if not cdk.Token.is_unresolved(value)},
        profile_regions=settings.profile_regions,
        created_guardrail_arn=_wired_guardrail_arn(settings, wiring, guardrail),
    )
    return plan, access


def _created_secrets(data: DataStack, phoenix: PhoenixStack | None) -> dict[str, secretsmanager.ISecret]:
    """Every secret infra creates that the gateway's environment may read, by key (see INFRA_SECRETS)."""
    secrets: dict[str, secretsmanager.ISecret] = {
        "master_key": data.master_key,
        "salt_key": data.salt_key,
        "database_url": data.database_url,
        "cache_auth_token": data.cache_auth_token,
        **data.provider_secrets,
    }
    if phoenix is not None:
        secrets["phoenix_admin_secret"] = phoenix.admin_secret
    return secrets


def _wired_guardrail_arn(settings: DeploymentSettings, wiring: Wiring, created: GuardrailStack | None) -> str | None:
    """The ARN of the guardrail the config's ``os.environ/VAR`` identifiers get: created, given, or none."""
    if created is not None:
        return created.guardrail_arn
    if wiring.guardrail.existing_id is not None:
        return guardrail_arn(wiring.guardrail.existing_id, region=settings.region, account=settings.account)
    return None


def _repository_warning(settings: DeploymentSettings, image: str) -> str | None:
    """A gateway image in this account's and Region's ECR, but not in the registry stack's repository."""
    parsed = parse_gateway_image(image)
    registry = f"{settings.account}.dkr.ecr.{settings.region}.amazonaws.com"
    if parsed.registry != registry or parsed.repository == settings.registry.repository_name:
        return None
    return (
        f"gateway_image is in the repository {parsed.repository}, but the registry stack creates "
        f"{settings.registry.repository_name}: push to {settings.repository_uri}, or set registry.repository_name"
    )


def _uses_metrics_callback(config: GatewayConfig) -> bool:
    settings = config.litellm_settings
    if settings is None or settings.callbacks is None:
        return False
    callbacks = [settings.callbacks] if isinstance(settings.callbacks, str) else list(settings.callbacks)
    return any(callback.startswith(METRICS_CALLBACK) for callback in callbacks)
