"""What the stacks need from the settings and the gateway config together, derived before any stack exists.

The gateway config says what the gateway uses (a Bedrock guardrail read through ``os.environ/VAR``,
the ``arize_phoenix`` callback, models of other providers); the deployment settings say what infra
provisions (``guardrail.mode``, ``phoenix.mode``, ``multi_provider``). :func:`derive_wiring` checks that
the two agree and returns the wiring: which variables get the guardrail's id and version, where traces
go and with which key, and one API-key secret per other provider. A disagreement is a
:class:`ConfigMismatchError` that names both files and how to fix it:

- a guardrail infra creates (``create``) or is given (``existing``) that no guardrail entry reads;
- a config that reads a guardrail through a variable while ``guardrail.mode`` is ``none``, or whose
  guardrail variable comes from ``env_sources`` (IAM would then grant a guardrail the task never uses);
- Phoenix (``self-hosted`` or ``cloud``) for a config without the ``arize_phoenix`` callback, and the
  callback with ``phoenix.mode: none``;
- a model of another provider while ``multi_provider`` is off (the bedrock-only policy), or one that does
  not read its key as ``api_key: os.environ/VAR``, or whose key variable is given in ``env_sources`` (keys
  of other providers come only from the secrets infra creates).

Pure: the app and the tests call the same function, and nothing here touches CDK.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from bedrockgate.gateway_config import EnvRef, GatewayConfig
from bedrockgate.infra.environment import FromSecret, Plain, Source, guardrail_variables
from bedrockgate.infra.exceptions import ConfigMismatchError
from bedrockgate.infra.settings import DeploymentSettings, GuardrailMode, PhoenixMode
from bedrockgate.infra.stacks.network import PHOENIX_PORT

__all__ = [
    "PHOENIX_API_KEY",
    "PHOENIX_CALLBACK",
    "PHOENIX_ENDPOINT",
    "ConfigMismatchError",
    "GuardrailWiring",
    "PhoenixWiring",
    "ProviderSecret",
    "Wiring",
    "derive_wiring",
    "self_hosted_collector",
    "uses_phoenix",
]

PHOENIX_CALLBACK: Final = "arize_phoenix"
PHOENIX_ENDPOINT: Final = "PHOENIX_COLLECTOR_HTTP_ENDPOINT"
PHOENIX_API_KEY: Final = "PHOENIX_API_KEY"
SELF_HOSTED_KEY: Final = "phoenix_admin_secret"
"""The key of the Phoenix stack's system token among the secrets infra creates."""
BEDROCK_PREFIX: Final = "bedrock/"
_PROVIDER: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,40}")


@dataclass(frozen=True, slots=True)
class GuardrailWiring:
    """The guardrail the config's ``guardrailIdentifier: os.environ/VAR`` entries read, and those variables."""

    mode: GuardrailMode
    identifier_variables: frozenset[str] = frozenset()
    version_variables: frozenset[str] = frozenset()
    existing_id: str | None = None
    existing_version: str | None = None

    @property
    def provisioned(self) -> bool:
        """Whether infra creates the guardrail (the guardrail stack exists)."""
        return self.mode == "create"


@dataclass(frozen=True, slots=True)
class PhoenixWiring:
    """Where the ``arize_phoenix`` callback sends traces: the variables the task always gets."""

    mode: PhoenixMode
    environment: Mapping[str, Source] = field(default_factory=dict)

    @property
    def provisioned(self) -> bool:
        """Whether infra runs Phoenix (the Phoenix stack exists)."""
        return self.mode == "self-hosted"


@dataclass(frozen=True, slots=True)
class ProviderSecret:
    """The API key of one provider other than Bedrock: a secret infra creates, the variable the config reads."""

    provider: str
    variable: str
    model_groups: tuple[str, ...]

    @property
    def key(self) -> str:
        """Its key among the secrets the gateway's environment may read."""
        return f"provider:{self.provider}"

    def secret_name(self, prefix: str) -> str:
        """The secret's name in Secrets Manager: the operator puts the provider's key there."""
        return f"{prefix}/providers/{self.provider}/api-key"


@dataclass(frozen=True, slots=True)
class Wiring:
    """Everything the settings and the config decide together."""

    guardrail: GuardrailWiring
    phoenix: PhoenixWiring
    provider_secrets: tuple[ProviderSecret, ...] = ()

    @property
    def provider_sources(self) -> dict[str, Source]:
        """Each provider's key variable, from the secret infra creates for it."""
        return {secret.variable: FromSecret(secret.key) for secret in self.provider_secrets}


def uses_phoenix(config: GatewayConfig) -> bool:
    """Whether any of the config's callback lists names ``arize_phoenix``."""
    settings = config.litellm_settings
    if settings is None:
        return False
    for value in (settings.callbacks, settings.success_callback, settings.failure_callback):
        names = [value] if isinstance(value, str) else list(value or ())
        if PHOENIX_CALLBACK in names:
            return True
    return False


def self_hosted_collector(settings: DeploymentSettings) -> str:
    """The self-hosted Phoenix's OTLP/HTTP traces endpoint inside the VPC (its Cloud Map name)."""
    return f"http://phoenix.{settings.prefix}.internal:{PHOENIX_PORT}/v1/traces"


def derive_wiring(settings: DeploymentSettings, config: GatewayConfig) -> Wiring:
    """The wiring of this deployment, or ConfigMismatchError listing every disagreement with its fix."""
    problems: list[str] = []
    guardrail = _guardrail(settings, config, problems)
    phoenix = _phoenix(settings, config, problems)
    providers = _providers(settings, config, problems)
    if problems:
        raise ConfigMismatchError(
            f"the deployment settings {_settings_name(settings)} and the gateway config {settings.gateway_config} "
            f"disagree:\n  " + "\n  ".join(problems)
        )
    return Wiring(guardrail=guardrail, phoenix=phoenix, provider_secrets=providers)


def _settings_name(settings: DeploymentSettings) -> str:
    if settings.settings_file is None:
        return "(given without a file, as CDK context)"
    return str(settings.settings_file)


def _guardrail(settings: DeploymentSettings, config: GatewayConfig, problems: list[str]) -> GuardrailWiring:
    chosen = settings.guardrail
    variables = guardrail_variables(config)
    read = sorted(variables.identifier)
    literal = [
        guardrail.guardrail_name
        for guardrail in config.guardrails or ()
        if guardrail.litellm_params.guardrail == "bedrock"
        and guardrail.litellm_params.guardrailIdentifier is not None
        and not isinstance(guardrail.litellm_params.guardrailIdentifier, EnvRef)
    ]
    in_config = (
        f"its Bedrock guardrails name theirs literally ({', '.join(literal)})"
        if literal
        else "it has no guardrails entry with guardrail: bedrock"
    )
    reference = (
        "guardrails: [{guardrail_name: ..., litellm_params: {guardrail: bedrock, mode: pre_call, guardrailIdentifier: "
        "os.environ/BEDROCK_GUARDRAIL_ID, guardrailVersion: os.environ/BEDROCK_GUARDRAIL_VERSION}}]"
    )
    if chosen.mode == "create" and not read:
        problems.append(
            "the settings provision a Bedrock guardrail (guardrail.mode: create, the default) that the config does not "
            f"use: {in_config}. Read it in the config ({reference}), or set guardrail: {{mode: none}} in the settings"
        )
    elif chosen.mode == "existing" and not read:
        problems.append(
            f"the settings give the existing guardrail {chosen.id} (guardrail.mode: existing) that the config does not "
            f"use: {in_config}. Read it in the config ({reference}), or set guardrail: {{mode: none}} in the settings"
        )
    elif chosen.mode == "none" and read:
        problems.append(
            f"the config reads a Bedrock guardrail through {', '.join(read)}, which infra neither provisions nor is "
            "given (guardrail.mode: none): set guardrail: {mode: create} in the settings to create one, or "
            "guardrail: {mode: existing, id: <guardrail id>, version: <number>} to use one that exists"
        )
    overridden = sorted((variables.identifier | variables.version) & set(settings.env_sources))
    if overridden:
        problems.append(
            f"env_sources gives {', '.join(overridden)}, which the config's guardrails read: the task's IAM grant "
            "follows guardrail.mode, so a guardrail given this way could not be applied. Remove them from env_sources "
            "and set guardrail: {mode: existing, id: <guardrail id>, version: <number>} in the settings"
        )
    return GuardrailWiring(
        mode=chosen.mode,
        identifier_variables=variables.identifier if chosen.mode != "none" else frozenset(),
        version_variables=variables.version if chosen.mode != "none" else frozenset(),
        existing_id=chosen.id,
        existing_version=chosen.version,
    )


def _phoenix(settings: DeploymentSettings, config: GatewayConfig, problems: list[str]) -> PhoenixWiring:
    chosen = settings.phoenix
    traced = uses_phoenix(config)
    callbacks = "litellm_settings.callbacks"
    if chosen.mode == "self-hosted" and not traced:
        problems.append(
            f"the settings provision Phoenix (phoenix.mode: self-hosted, the default) but the config has no "
            f"{PHOENIX_CALLBACK} callback, so no trace would reach it: add {PHOENIX_CALLBACK} to {callbacks} in the "
            "config, or set phoenix: {mode: none} in the settings"
        )
    elif chosen.mode == "cloud" and not traced:
        problems.append(
            f"the settings send traces to Phoenix Cloud ({chosen.collector_endpoint}) but the config has no "
            f"{PHOENIX_CALLBACK} callback: add {PHOENIX_CALLBACK} to {callbacks} in the config, or set "
            "phoenix: {mode: none} in the settings"
        )
    elif chosen.mode == "none" and traced:
        problems.append(
            f"the config enables the {PHOENIX_CALLBACK} callback ({callbacks}) but the settings provide no Phoenix "
            "(phoenix.mode: none), so LiteLLM would send traces to localhost: set phoenix: {mode: self-hosted} or "
            "phoenix: {mode: cloud, collector_endpoint: https://..., api_key_secret_arn: arn:...} in the settings, "
            "or remove the callback from the config"
        )
    environment: dict[str, Source] = {}
    if chosen.mode == "self-hosted":
        environment = {
            PHOENIX_ENDPOINT: Plain(self_hosted_collector(settings)),
            PHOENIX_API_KEY: FromSecret(SELF_HOSTED_KEY),
        }
    elif chosen.mode == "cloud" and chosen.collector_endpoint is not None and chosen.api_key_secret_arn is not None:
        environment = {
            PHOENIX_ENDPOINT: Plain(chosen.collector_endpoint, origin="settings"),
            PHOENIX_API_KEY: FromSecret(chosen.api_key_secret_arn, origin="settings"),
        }
    return PhoenixWiring(mode=chosen.mode, environment=environment)


def _providers(settings: DeploymentSettings, config: GatewayConfig, problems: list[str]) -> tuple[ProviderSecret, ...]:
    others: dict[str, list[tuple[str, str, object]]] = {}
    for index, deployment in enumerate(config.model_list):
        model = deployment.litellm_params.model
        if model.startswith(BEDROCK_PREFIX):
            continue
        where = f"model_list.{index} ({deployment.model_name}, {model})"
        provider, slash, _ = model.partition("/")
        if not slash or not _PROVIDER.fullmatch(provider):
            problems.append(f"{where}: name the provider before the model, e.g. openai/gpt-4o")
            continue
        others.setdefault(provider, []).append((where, deployment.model_name, deployment.litellm_params.api_key))
    if not others:
        return ()
    if not settings.multi_provider:
        listed = "; ".join(where for uses in others.values() for where, _, _ in uses)
        problems.append(
            f"the config calls providers other than Bedrock ({listed}), which the bedrock-only policy refuses: set "
            "multi_provider: true in the settings (infra then creates one API-key secret per provider), or use "
            "bedrock/ models"
        )
        return ()
    secrets: list[ProviderSecret] = []
    owners: dict[str, str] = {}
    for provider, uses in sorted(others.items()):
        variables = {key.name for _, _, key in uses if isinstance(key, EnvRef)}
        unread = [where for where, _, key in uses if not isinstance(key, EnvRef)]
        if unread:
            problems.append(
                f"{'; '.join(unread)}: read the {provider} API key as api_key: os.environ/{provider.upper()}_API_KEY "
                f"in the config; infra injects it from the secret {settings.prefix}/providers/{provider}/api-key"
            )
            continue
        if len(variables) > 1:
            problems.append(
                f"the config's {provider} deployments read their key from {', '.join(sorted(variables))}: infra holds "
                f"one key per provider, so read it from one variable everywhere"
            )
            continue
        (variable,) = variables
        if variable in settings.env_sources:
            problems.append(
                f"env_sources gives {variable}, the {provider} API key: keys of other providers come only from the "
                f"secret infra creates ({settings.prefix}/providers/{provider}/api-key); remove it from env_sources "
                "and put the key in that secret after the first deploy"
            )
            continue
        if variable in owners:
            problems.append(
                f"the config reads {variable} as the API key of both {owners[variable]} and {provider}: give each "
                "provider its own variable (each gets its own secret)"
            )
            continue
        owners[variable] = provider
        groups = tuple(dict.fromkeys(group for _, group, _ in uses))
        secrets.append(ProviderSecret(provider=provider, variable=variable, model_groups=groups))
    return tuple(secrets)
