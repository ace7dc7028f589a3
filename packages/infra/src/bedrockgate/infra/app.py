"""The whole deployment as one CDK app: the stacks, wired together and derived from the config.

:func:`build_app` reads the gateway config named in the settings (validated strictly by
gateway-config: a config with a problem never reaches CloudFormation), derives what the stacks
need from the settings and the config with :func:`~bedrockgate.infra.derivation.derive_deployment`
(pure: the property tests call it too), and creates every stack, each by a function named for it.
:func:`gateway_sources` is the list of variables infra itself can provide; everything else a config
reads must come from the settings' ``env_sources``.

:func:`build_registry_app` creates the registry stack alone: what a first deploy needs before any
gateway image exists. A ``source_commit`` in the settings is recorded on every stack (the tag
``bedrockgate:source-commit``) and as the gateway stack's ``SourceCommit`` output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_secretsmanager as secretsmanager
from bedrockgate.gateway_config import GatewayConfig
from bedrockgate.infra.bedrock import BedrockAccess
from bedrockgate.infra.constructs.database_migration import DatabaseMigrationRun
from bedrockgate.infra.derivation import (
    CONFIG_POLICIES,
    INFRA_SECRETS,
    CreatedValues,
    Derivation,
    GatewayDerivation,
    chatbot_model_group,
    derive_deployment,
    fixed_environment,
    gateway_sources,
    load_gateway_config,
    require_gateway_image,
)
from bedrockgate.infra.environment import EnvironmentPlan
from bedrockgate.infra.migration import migration_summary
from bedrockgate.infra.nag import enable_checks
from bedrockgate.infra.settings import DeploymentSettings, chatbot_lambda_zip
from bedrockgate.infra.stacks.chatbot import ChatbotStack
from bedrockgate.infra.stacks.cloudfront import CLOUDFRONT_REGION, CloudFrontStack
from bedrockgate.infra.stacks.data import DataStack
from bedrockgate.infra.stacks.edge import EdgeStack
from bedrockgate.infra.stacks.gateway import GatewayStack
from bedrockgate.infra.stacks.guardrail import GuardrailStack
from bedrockgate.infra.stacks.network import NetworkStack
from bedrockgate.infra.stacks.observability import ObservabilityStack
from bedrockgate.infra.stacks.phoenix import PhoenixStack
from bedrockgate.infra.stacks.registry import RegistryStack
from bedrockgate.infra.timeouts import EdgeTimeouts
from bedrockgate.infra.wiring import Wiring
from bedrockgate.infra.workers import sizing_summary

__all__ = [
    "CONFIG_POLICIES",
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
    gateway_summary: tuple[str, ...] = field(default=())
    """The gateway's workers and memory, and how its database is migrated: lines of the synth report."""

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
    gateway. Every input is checked by :func:`derive_deployment` before any stack exists.
    """
    require_gateway_image(settings)
    app = app if app is not None else cdk.App()
    derivation = derive_deployment(settings, config if config is not None else load_gateway_config(settings))
    if settings.chatbot.enabled:
        chatbot_lambda_zip(settings)  # a missing zip fails here, before any stack exists
    env = _prepare(app, settings)
    base = _base_stacks(app, derivation, env)
    cloudfront, edge = _edge_stacks(app, derivation, env, network=base.network)
    phoenix = _phoenix_stack(app, derivation, env, network=base.network, listener=edge.listener)
    gateway, derived = _gateway_stack(app, derivation, env, base=base, edge=edge, phoenix=phoenix)
    chatbot = _chatbot_stack(app, derivation, env, network=base.network)
    observability = _observability_stack(app, derivation, env, edge=edge, gateway=gateway)
    # Behind CloudFront, every route also requires the secret origin header (edge: guard_route).
    for route in (gateway.route, *([phoenix.route] if phoenix is not None else [])):
        edge.guard_route(route)
    _record_source_commit(settings, gateway)
    warnings = _annotate_warnings(derivation, edge=edge, gateway=gateway, observability=observability)
    if checks:
        enable_checks(app)
    return Deployment(
        app=app,
        settings=settings,
        config=derivation.config,
        timeouts=derivation.timeouts,
        access=derived.access,
        plan=derived.plan,
        registry=base.registry,
        network=base.network,
        data=base.data,
        guardrail=base.guardrail,
        edge=edge,
        phoenix=phoenix,
        gateway=gateway,
        chatbot=chatbot,
        observability=observability,
        wiring=derivation.wiring,
        cloudfront=cloudfront,
        warnings=warnings,
        gateway_summary=(
            sizing_summary(settings, derivation.workers),
            migration_summary(settings, derivation.migration),
        ),
    )


@dataclass(frozen=True, slots=True)
class _BaseStacks:
    """The stacks everything else stands on: the registry, the network, the data stores, the guardrail."""

    registry: RegistryStack
    network: NetworkStack
    data: DataStack
    guardrail: GuardrailStack | None


def _base_stacks(app: cdk.App, derivation: Derivation, env: cdk.Environment) -> _BaseStacks:
    settings = derivation.settings
    prefix = settings.prefix
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
        provider_secrets=derivation.wiring.provider_secrets,
        description="bedrockgate: LiteLLM's Aurora PostgreSQL, Valkey and keys",
    )
    guardrail = None
    if derivation.wiring.guardrail.provisioned:
        guardrail = GuardrailStack(
            app, f"{prefix}-guardrail", env=env, settings=settings, description="bedrockgate: Bedrock guardrail"
        )
    return _BaseStacks(registry=registry, network=network, data=data, guardrail=guardrail)


def _edge_stacks(
    app: cdk.App, derivation: Derivation, env: cdk.Environment, *, network: NetworkStack
) -> tuple[CloudFrontStack | None, EdgeStack]:
    """CloudFront's us-east-1 stack (with a domain, issue 15), then the edge stack: ALB, WAF, DNS."""
    settings = derivation.settings
    cloudfront: CloudFrontStack | None = None
    cross_region = False
    if settings.cloudfront_stack:
        cross_region = settings.region != CLOUDFRONT_REGION
        cloudfront = CloudFrontStack(
            app,
            f"{settings.prefix}-cloudfront",
            env=cdk.Environment(account=settings.account, region=CLOUDFRONT_REGION),
            settings=settings,
            cross_region_references=cross_region,
            description="bedrockgate: CloudFront's web ACL and certificate (us-east-1)",
        )
    edge = EdgeStack(
        app,
        f"{settings.prefix}-edge",
        env=env,
        settings=settings,
        network=network,
        timeouts=derivation.timeouts,
        cloudfront_stack=cloudfront,
        cross_region_references=cross_region,
        description="bedrockgate: ALB, WAF, CloudFront and DNS",
    )
    return cloudfront, edge


def _phoenix_stack(
    app: cdk.App,
    derivation: Derivation,
    env: cdk.Environment,
    *,
    network: NetworkStack,
    listener: elbv2.IApplicationListener,
) -> PhoenixStack | None:
    """The Phoenix stack, when the wiring says Phoenix is self-hosted."""
    if not derivation.wiring.phoenix.provisioned:
        return None
    settings = derivation.settings
    return PhoenixStack(
        app,
        f"{settings.prefix}-phoenix",
        env=env,
        settings=settings,
        network=network,
        listener=listener,
        description="bedrockgate: Arize Phoenix and its database",
    )


def _gateway_stack(
    app: cdk.App,
    derivation: Derivation,
    env: cdk.Environment,
    *,
    base: _BaseStacks,
    edge: EdgeStack,
    phoenix: PhoenixStack | None,
) -> tuple[GatewayStack, GatewayDerivation]:
    """The gateway stack, with the environment and Bedrock access derived from what the other stacks created."""
    guardrail = base.guardrail
    created = CreatedValues(
        cache_host=base.data.cache_host,
        cache_port=base.data.cache_port,
        guardrail_id=guardrail.guardrail_id if guardrail is not None else None,
        guardrail_version=guardrail.version_number if guardrail is not None else None,
        guardrail_arn=guardrail.guardrail_arn if guardrail is not None else None,
    )
    derived = derivation.gateway(created)
    secrets = _created_secrets(base.data, phoenix)
    settings = derivation.settings
    gateway = GatewayStack(
        app,
        f"{settings.prefix}-gateway",
        env=env,
        settings=settings,
        network=base.network,
        listener=edge.listener,
        access=derived.access,
        plan=derived.plan,
        secrets={key: secret for key, secret in secrets.items() if key in derived.plan.secret_keys},
        timeouts=derivation.timeouts,
        description="bedrockgate: LiteLLM on ECS Fargate",
    )
    if derivation.migration is not None:
        _migration(gateway, derivation, derived, base.network)
    return gateway, derived


def _migration(
    gateway: GatewayStack, derivation: Derivation, derived: GatewayDerivation, network: NetworkStack
) -> None:
    """The database migration, run once per image and config before the service's new tasks start."""
    if derivation.migration is None:  # pragma: no cover - the caller checks
        return
    run = DatabaseMigrationRun(
        gateway,
        "Migration",
        settings=derivation.settings,
        migration=derivation.migration,
        plan=derived.plan,
        secrets=gateway.task_secrets,
        log_group=gateway.log_group,
        cluster=network.cluster,
        subnets=network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids,
        security_group=network.gateway_sg,
    )
    gateway.service.node.add_dependency(run.resource)
    gateway.migration = run


def _chatbot_stack(
    app: cdk.App, derivation: Derivation, env: cdk.Environment, *, network: NetworkStack
) -> ChatbotStack | None:
    """The chatbot stack, when the settings enable it (the derivation then chose its model group)."""
    if derivation.chatbot_model_group is None:
        return None
    settings = derivation.settings
    return ChatbotStack(
        app,
        f"{settings.prefix}-chatbot",
        env=env,
        settings=settings,
        network=network,
        model_group=derivation.chatbot_model_group,
        description="bedrockgate: Lex V2 chatbot and its fulfillment Lambda",
    )


def _observability_stack(
    app: cdk.App, derivation: Derivation, env: cdk.Environment, *, edge: EdgeStack, gateway: GatewayStack
) -> ObservabilityStack:
    settings = derivation.settings
    return ObservabilityStack(
        app,
        f"{settings.prefix}-observability",
        env=env,
        settings=settings,
        model_groups=list(derivation.model_groups),
        service=gateway.service,
        load_balancer=edge.alb,
        target_group=gateway.target_group,
        log_group=gateway.log_group,
        description="bedrockgate: dashboard, alarms, the ApplicationErrors metric and Logs Insights queries",
    )


def _record_source_commit(settings: DeploymentSettings, gateway: GatewayStack) -> None:
    """The gateway stack's ``SourceCommit`` output, when the settings name the commit deployed."""
    if settings.source_commit is not None:
        cdk.CfnOutput(
            gateway,
            SOURCE_COMMIT_OUTPUT,
            value=settings.source_commit,
            description="The git commit this deploy was built from",
        )


def _annotate_warnings(
    derivation: Derivation, *, edge: EdgeStack, gateway: GatewayStack, observability: ObservabilityStack
) -> tuple[str, ...]:
    """Every warning of this synth, each also a CDK annotation on the stack it concerns."""
    warnings = [*derivation.timeouts.warnings, *edge.warnings]
    for message in derivation.timeouts.warnings:
        cdk.Annotations.of(edge).add_warning_v2("bedrockgate:timeouts", message)
    if derivation.metrics_warning is not None:
        warnings.append(derivation.metrics_warning)
        cdk.Annotations.of(observability).add_warning_v2("bedrockgate:metrics", derivation.metrics_warning)
    if derivation.repository_warning is not None:
        warnings.append(derivation.repository_warning)
        cdk.Annotations.of(gateway).add_warning_v2("bedrockgate:registry", derivation.repository_warning)
    return tuple(warnings)


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
