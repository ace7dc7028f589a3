"""Everything the stacks need, derived from the settings and the gateway config: one pure function.

:func:`derive_deployment` takes the deployment settings and the validated gateway config and returns
a frozen :class:`Derivation`: the wiring of the two (:mod:`.wiring`), the edge timeouts, the
variables the gateway container always gets, the chatbot's model group, the dashboard's model groups
and the warnings a synth prints. It checks every input it can before a stack exists (the gateway
image, the image's database, the wiring, Lex's Regions, the timeouts), so a bad input fails before
CloudFormation sees anything.

What a stack creates (the cache's host, the guardrail's id, version and ARN) is only known as a CDK
token once that stack exists, so the gateway's environment and Bedrock access come from the second
step, :meth:`Derivation.gateway`, given those values as :class:`CreatedValues`: tokens in the app,
stand-ins in a test. ``build_app`` and the property tests call these same two functions, so a change
to the derivation is a change the tests see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import aws_cdk as cdk
from bedrockgate.gateway_config import ALL_POLICIES, GatewayConfig, Policy, load, render, required_env
from bedrockgate.infra.bedrock import BedrockAccess, bedrock_access, guardrail_arn
from bedrockgate.infra.environment import EnvironmentPlan, FromSecret, Plain, Source, plan_environment
from bedrockgate.infra.exceptions import ConfigMismatchError, SettingsError
from bedrockgate.infra.image_contract import CONFIG_DIGEST_VARIABLE, check_image_database
from bedrockgate.infra.migration import SCHEMA_UPDATE_VARIABLE, DatabaseMigration, database_migration
from bedrockgate.infra.settings import DeploymentSettings, parse_gateway_image
from bedrockgate.infra.stacks.chatbot import LEX_V2_REGIONS
from bedrockgate.infra.timeouts import EdgeTimeouts, edge_timeouts
from bedrockgate.infra.wiring import Wiring, derive_wiring
from bedrockgate.infra.workers import WORKERS_VARIABLE, GatewayWorkers, check_workers, gateway_workers

__all__ = [
    "CONFIG_POLICIES",
    "INFRA_SECRETS",
    "METRICS_CALLBACK",
    "CreatedValues",
    "Derivation",
    "GatewayDerivation",
    "chatbot_model_group",
    "config_digest",
    "derive_deployment",
    "fixed_environment",
    "gateway_sources",
    "load_gateway_config",
    "require_gateway_image",
]

INFRA_SECRETS: Final = ("master_key", "salt_key", "database_url", "cache_auth_token", "phoenix_admin_secret")
"""The secrets infra creates that the gateway's environment may read, by key (and one per other provider)."""
CONFIG_POLICIES: Final = ALL_POLICIES - {Policy.BEDROCK_ONLY}
"""The policies infra loads a config with: bedrock-only is the settings' ``multi_provider`` (see wiring)."""
METRICS_CALLBACK: Final = "bedrockgate.metrics_callback"


@dataclass(frozen=True, slots=True)
class CreatedValues:
    """The values of resources the stacks create that the gateway's environment and policy name.

    CDK tokens in the app (the data stack's cache endpoint, the guardrail stack's id, version and
    ARN), stand-ins in a test. The guardrail's are None unless infra creates the guardrail.
    """

    cache_host: str
    cache_port: str
    guardrail_id: str | None = None
    guardrail_version: str | None = None
    guardrail_arn: str | None = None


@dataclass(frozen=True, slots=True)
class GatewayDerivation:
    """The gateway task's environment and what it may call on Bedrock."""

    plan: EnvironmentPlan
    access: BedrockAccess


@dataclass(frozen=True, slots=True)
class Derivation:
    """What the settings and the config decide together, before any stack exists."""

    settings: DeploymentSettings
    config: GatewayConfig
    wiring: Wiring
    timeouts: EdgeTimeouts
    workers: GatewayWorkers
    """The LiteLLM worker processes of each gateway task (:mod:`.workers`)."""
    migration: DatabaseMigration | None
    """The database migration run once per deployment; None without a database (:mod:`.migration`)."""
    fixed_environment: Mapping[str, Source]
    """The variables the gateway container always gets (:func:`fixed_environment`)."""
    model_groups: tuple[str, ...]
    """The config's model groups: the dashboard's per-model widgets and alarms."""
    chatbot_model_group: str | None
    """The model group the chatbot asks; None without a chatbot."""
    metrics_warning: str | None
    """Set when the config does not enable the metrics callback the dashboard reads."""
    repository_warning: str | None
    """Set when the gateway image is in this account's ECR but not in the registry stack's repository."""

    def gateway(self, created: CreatedValues) -> GatewayDerivation:
        """The gateway task's environment and Bedrock access, given what the stacks created."""
        settings = self.settings
        provided = gateway_sources(
            settings,
            self.wiring,
            cache_host=created.cache_host,
            cache_port=created.cache_port,
            guardrail_id=created.guardrail_id,
            guardrail_version=created.guardrail_version,
        )
        plan = plan_environment(
            required_env(self.config),
            provided=provided,
            settings_sources=settings.env_sources,
            fixed=self.fixed_environment,
        )
        access = bedrock_access(
            self.config,
            region=settings.region,
            account=settings.account,
            known_values={name: value for name, value in plan.plain.items() if not cdk.Token.is_unresolved(value)},
            profile_regions=settings.profile_regions,
            created_guardrail_arn=self._guardrail_arn(created),
        )
        return GatewayDerivation(plan=plan, access=access)

    def _guardrail_arn(self, created: CreatedValues) -> str | None:
        """The ARN of the guardrail the config's ``os.environ/VAR`` identifiers get: created, given, or none."""
        if created.guardrail_arn is not None:
            return created.guardrail_arn
        existing = self.wiring.guardrail.existing_id
        if existing is not None:
            return guardrail_arn(existing, region=self.settings.region, account=self.settings.account)
        return None


def load_gateway_config(settings: DeploymentSettings) -> GatewayConfig:
    """The settings' gateway config, validated by gateway-config with every policy but bedrock-only.

    Bedrock-only is a deployment decision (``multi_provider``), enforced by :func:`derive_wiring`
    with an error naming the settings file as well as the config.
    """
    return load(settings.gateway_config, policies=CONFIG_POLICIES)


def require_gateway_image(settings: DeploymentSettings) -> str:
    """The gateway image the whole app runs, or a SettingsError saying how to give it (or to deploy the registry)."""
    if settings.gateway_image is None:
        raise SettingsError(
            "gateway_image is not given: the whole app needs the pushed gateway image, "
            "-c gateway_image=<registry>/<repository>@sha256:<digest> (before the first push, deploy the registry "
            f"stack alone: bedrockgate-infra cdk deploy {settings.prefix}-registry)"
        )
    return settings.gateway_image


def derive_deployment(settings: DeploymentSettings, config: GatewayConfig) -> Derivation:
    """Check the settings and the config together and derive what the stacks need (see the module docstring).

    Raises SettingsError without a gateway image or with a chatbot outside Lex V2's Regions,
    GatewayImageError for a config that uses a database the image lacks, ConfigMismatchError when
    the settings and the config disagree (:mod:`.wiring`, the chatbot's model group, more than one
    worker without Redis in router_settings, a config that makes every task migrate the database),
    SettingsError when the task's memory cannot hold its workers, and InconsistentTimeoutError when
    the edge cannot wait as long as the gateway.
    """
    image = require_gateway_image(settings)
    check_image_database(settings.gateway_image_database, config, config_path=settings.gateway_config)
    wiring = derive_wiring(settings, config)  # a mismatch of settings and config fails here, before any stack
    _check_chatbot_region(settings)
    workers = gateway_workers(settings)
    check_workers(settings, config, workers)
    migration = database_migration(settings, config)
    timeouts = edge_timeouts(
        config, cloudfront_read=settings.edge_read_timeout_seconds, has_cloudfront=settings.domain is not None
    )
    return Derivation(
        settings=settings,
        config=config,
        wiring=wiring,
        timeouts=timeouts,
        workers=workers,
        migration=migration,
        fixed_environment=fixed_environment(settings, config, wiring),
        model_groups=tuple(config.model_groups()),
        chatbot_model_group=chatbot_model_group(settings, config) if settings.chatbot.enabled else None,
        metrics_warning=_metrics_warning(config),
        repository_warning=_repository_warning(settings, image),
    )


def fixed_environment(settings: DeploymentSettings, config: GatewayConfig, wiring: Wiring) -> dict[str, Source]:
    """Variables the gateway container always gets, whatever its config reads.

    LiteLLM's production switches (no docs or admin UI, quiet logs), its salt key, the metrics
    callback's namespace and service (so the dashboard reads what the callback writes), TLS to
    Valkey, the Region, the ``arize_phoenix`` callback's collector and key (which it reads from the
    environment, not through the config), and the sha256 of the rendered config: the image's
    entrypoint refuses to start when it differs from the sha256 of the file passed with ``--config``,
    so a task never runs an image whose baked-in config is not the one this synth derived everything from.
    Then the worker count (``NUM_WORKERS``: one per vCPU unless the settings say otherwise) and, when
    the config uses a database, ``DISABLE_SCHEMA_UPDATE=true``: the migration task migrates once per
    deployment, no gateway task does (:mod:`.migration`).
    """
    region = Plain(settings.region)
    workers = gateway_workers(settings)
    schema = {SCHEMA_UPDATE_VARIABLE: Plain("true")} if database_migration(settings, config) is not None else {}
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
        CONFIG_DIGEST_VARIABLE: Plain(config_digest(config)),
        WORKERS_VARIABLE: Plain(str(workers.count)),
        **schema,
    }


def config_digest(config: GatewayConfig) -> str:
    """The sha256 (hex) of the rendered config: what the image's entrypoint checks its ``--config`` file against."""
    return hashlib.sha256(render(config).encode()).hexdigest()


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
        raise SettingsError(f"guardrail.mode {guardrail.mode}: the created guardrail's id and version are needed")
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
            raise ConfigMismatchError(
                f"chatbot.model {chosen!r} is not a model group of the gateway config; "
                f"choose one of {', '.join(groups)}"
            )
        return chosen
    for deployment in config.model_list:
        mode = deployment.model_info.mode if deployment.model_info is not None else None
        if mode in (None, "chat", "completion", "responses"):
            return deployment.model_name
    raise ConfigMismatchError("the gateway config has no chat model group for the chatbot: set chatbot.model")


def _check_chatbot_region(settings: DeploymentSettings) -> None:
    if settings.chatbot.enabled and settings.region not in LEX_V2_REGIONS:
        raise SettingsError(
            f"Amazon Lex V2 is not offered in {settings.region}: deploy in one of {', '.join(sorted(LEX_V2_REGIONS))}, "
            "or set chatbot.enabled: false in the deployment settings"
        )


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


def _metrics_warning(config: GatewayConfig) -> str | None:
    if _uses_metrics_callback(config):
        return None
    return (
        f"the gateway config does not enable {METRICS_CALLBACK} in litellm_settings.callbacks: the dashboard's "
        "per-model widgets and alarms will have no data"
    )


def _uses_metrics_callback(config: GatewayConfig) -> bool:
    settings = config.litellm_settings
    if settings is None or settings.callbacks is None:
        return False
    callbacks = [settings.callbacks] if isinstance(settings.callbacks, str) else list(settings.callbacks)
    return any(callback.startswith(METRICS_CALLBACK) for callback in callbacks)
