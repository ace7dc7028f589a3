"""The gateway container's environment, derived from the variables its config reads.

gateway-config reports every ``os.environ/VAR`` the config references (``required_env``). Each one
needs a source at deploy time, or LiteLLM silently reads ``None``. Sources come from three places,
in this order of precedence:

1. the deployment settings' ``env_sources`` (a plain value, or a Secrets Manager secret);
2. what infra itself creates (the master key, the database URL, the cache endpoint, the guardrail
   id and version the config's guardrail section references, Phoenix's collector endpoint...);
3. nothing: then synth fails, naming each variable, where the config reads it, and how to give it.

A variable the config treats as secret (a credential field reads it, or its name says so) is only
ever injected from Secrets Manager, never as a plain value. Pure functions: the stacks turn the
plan into ECS ``environment`` and ``secrets``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bedrockgate.gateway_config import EnvRef, GatewayConfig, RequiredVariable
from bedrockgate.infra.exceptions import EnvironmentSourceError
from bedrockgate.infra.settings import EnvSource

__all__ = [
    "EnvironmentPlan",
    "EnvironmentSourceError",
    "FromSecret",
    "Plain",
    "Source",
    "guardrail_variables",
    "plan_environment",
]


@dataclass(frozen=True, slots=True)
class Plain:
    """A plain value (possibly a CDK token such as the cache's endpoint address)."""

    value: str
    origin: str = "infra"


@dataclass(frozen=True, slots=True)
class FromSecret:
    """A Secrets Manager secret: ``key`` names one infra creates, or is an existing secret's ARN."""

    key: str
    field: str | None = None
    origin: str = "infra"


Source = Plain | FromSecret


@dataclass(frozen=True, slots=True)
class EnvironmentPlan:
    """What the gateway container gets: plain variables and variables injected from secrets."""

    plain: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, FromSecret] = field(default_factory=dict)

    @property
    def names(self) -> frozenset[str]:
        """Every variable the container gets."""
        return frozenset(self.plain) | frozenset(self.secrets)

    @property
    def secret_keys(self) -> frozenset[str]:
        """The secrets the task's execution role must read, each once."""
        return frozenset(source.key for source in self.secrets.values())


@dataclass(frozen=True, slots=True)
class GuardrailVariables:
    """The variables through which the config's Bedrock guardrails read infra's guardrail."""

    identifier: frozenset[str]
    version: frozenset[str]


def guardrail_variables(config: GatewayConfig) -> GuardrailVariables:
    """Variables the config's ``guardrail: bedrock`` entries read for the guardrail id and version.

    A version variable is wired to infra's guardrail only when the same entry's identifier is too;
    an entry that names an existing guardrail by literal id keeps its own version.
    """
    identifiers: set[str] = set()
    versions: set[str] = set()
    for guardrail in config.guardrails or ():
        params = guardrail.litellm_params
        if params.guardrail != "bedrock" or not isinstance(params.guardrailIdentifier, EnvRef):
            continue
        identifiers.add(params.guardrailIdentifier.name)
        if isinstance(params.guardrailVersion, EnvRef):
            versions.add(params.guardrailVersion.name)
    return GuardrailVariables(frozenset(identifiers), frozenset(versions))


def user_source(source: EnvSource) -> Source:
    """A source from the deployment settings."""
    if source.secret_arn is not None:
        return FromSecret(source.secret_arn, source.secret_field, origin="settings")
    assert source.value is not None  # noqa: S101  # EnvSource's validator guarantees one of the two
    return Plain(source.value, origin="settings")


def plan_environment(
    required: Iterable[RequiredVariable],
    *,
    provided: Mapping[str, Source],
    settings_sources: Mapping[str, EnvSource],
    fixed: Mapping[str, Source],
) -> EnvironmentPlan:
    """Give every required variable its source; raise EnvironmentSourceError listing every problem.

    ``fixed`` are variables the container always gets (the log level, the metrics
    callback's namespace); a required variable of the same name takes its own source.
    """
    chosen: dict[str, Source] = dict(fixed)
    missing: list[RequiredVariable] = []
    exposed: list[str] = []
    for variable in required:
        source: Source | None
        if variable.name in settings_sources:
            source = user_source(settings_sources[variable.name])
        else:
            source = provided.get(variable.name)
        if source is None:
            missing.append(variable)
            continue
        if variable.secret and isinstance(source, Plain):
            exposed.append(
                f"  {variable.name} (read by {', '.join(variable.dotted_paths)}) is a secret, "
                "but its source is a plain "
                f"value from {source.origin}: give it as env_sources.{variable.name}.secret_arn, or read a "
                "non-secret value through a variable whose name does not say KEY, SECRET, PASSWORD or TOKEN"
            )
            continue
        chosen[variable.name] = source
    if missing or exposed:
        raise EnvironmentSourceError(_explain(missing, exposed, sorted(provided)))
    return EnvironmentPlan(
        plain={name: source.value for name, source in sorted(chosen.items()) if isinstance(source, Plain)},
        secrets={name: source for name, source in sorted(chosen.items()) if isinstance(source, FromSecret)},
    )


def _explain(missing: list[RequiredVariable], exposed: list[str], provided: list[str]) -> str:
    lines: list[str] = []
    if missing:
        lines.append(
            f"the gateway config reads {len(missing)} environment variable(s) that nothing provides, so LiteLLM "
            "would read None:"
        )
        lines.extend(
            f"  {variable.name} ({'secret' if variable.secret else 'plain'}), "
            f"read by {', '.join(variable.dotted_paths)}"
            for variable in missing
        )
        lines.append("give each a source under env_sources in the deployment settings, for example:")
        lines.append("  env_sources:")
        for variable in missing:
            if variable.secret:
                lines.append(
                    f"    {variable.name}: {{secret_arn: arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME, "
                    "secret_field: FIELD}  # secret_field only for a JSON secret"
                )
            else:
                lines.append(f'    {variable.name}: {{value: "..."}}')
        lines.append(f"infra provides these itself: {', '.join(provided) or 'none'}")
    if exposed:
        lines.append("secrets must come from Secrets Manager:")
        lines.extend(exposed)
    return "\n".join(lines)
