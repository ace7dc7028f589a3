"""The environment a config needs: every ``os.environ/VAR`` it references, and where.

LiteLLM turns an unset variable into ``None`` without a word. infra reads this report to inject
each variable into the gateway's task (secrets from Secrets Manager), and fails its synth when a
variable has no source.
"""

from __future__ import annotations

from dataclasses import dataclass

from bedrockgate.gateway_config._walk import iter_sections, iter_values
from bedrockgate.gateway_config.config import GatewayConfig
from bedrockgate.gateway_config.env_ref import EnvRef
from bedrockgate.gateway_config.exceptions import Location
from bedrockgate.gateway_config.policies import looks_secret

__all__ = ["RequiredVariable", "required_env"]


@dataclass(frozen=True, slots=True)
class RequiredVariable:
    """One environment variable the config reads."""

    name: str
    paths: tuple[Location, ...]
    secret: bool
    """True when a credential field reads it, or its name says it is one (``*_KEY``, ``*PASSWORD*``)."""

    @property
    def dotted_paths(self) -> tuple[str, ...]:
        """The places that read it, as ``router_settings.redis_password``."""
        return tuple(".".join(str(part) for part in path) for path in self.paths)


def required_env(config: GatewayConfig) -> list[RequiredVariable]:
    """Each variable once, sorted by name."""
    paths: dict[str, list[Location]] = {}
    for path, value in iter_values(config):
        if isinstance(value, EnvRef):
            paths.setdefault(value.name, []).append(path)
    secret_paths = _secret_field_paths(config)
    return [
        RequiredVariable(
            name=name,
            paths=tuple(found),
            secret=looks_secret(name) or any(path in secret_paths for path in found),
        )
        for name, found in sorted(paths.items())
    ]


def _secret_field_paths(config: GatewayConfig) -> set[Location]:
    return {(*path, key) for path, section in iter_sections(config) for key in section.secret_keys}
