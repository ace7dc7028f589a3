"""House rules on top of LiteLLM's: on by default, each one switchable by name.

- ``bedrock-only``: every deployment calls Amazon Bedrock (``bedrock/...``), the only provider
  the gateway's IAM role, VPC endpoints and cost tracking are built for.
- ``secrets-by-reference``: credentials appear only as ``os.environ/VAR``, so that they live in
  Secrets Manager and never in a file, an image layer or a log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum

from bedrockgate.gateway_config._walk import iter_sections
from bedrockgate.gateway_config.config import GatewayConfig
from bedrockgate.gateway_config.deployments import LiteLLMParams
from bedrockgate.gateway_config.env_ref import ENV_PREFIX, EnvRef
from bedrockgate.gateway_config.exceptions import Location

__all__ = ["ALL_POLICIES", "Policy", "check_policies", "looks_secret"]

PathMessage = tuple[Location, str]

BEDROCK_PREFIX = "bedrock/"
_SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|DATABASE_URL|REDIS_URL|SALT)", re.I)


class Policy(StrEnum):
    """A named house rule."""

    BEDROCK_ONLY = "bedrock-only"
    SECRETS_BY_REFERENCE = "secrets-by-reference"


ALL_POLICIES: frozenset[Policy] = frozenset(Policy)


def looks_secret(name: str) -> bool:
    """Whether an environment variable's name says it holds a credential."""
    return bool(_SECRET_NAME.search(name))


def check_policies(config: GatewayConfig, policies: Iterable[Policy] = ALL_POLICIES) -> list[PathMessage]:
    """Every violation of the chosen policies, in document order."""
    checks: dict[Policy, Callable[[GatewayConfig], Iterator[PathMessage]]] = {
        Policy.BEDROCK_ONLY: _bedrock_only,
        Policy.SECRETS_BY_REFERENCE: _secrets_by_reference,
    }
    chosen = set(policies)
    return [problem for policy in Policy if policy in chosen for problem in checks[policy](config)]


def _bedrock_only(config: GatewayConfig) -> Iterator[PathMessage]:
    for path, section in iter_sections(config):
        if isinstance(section, LiteLLMParams) and not section.model.startswith(BEDROCK_PREFIX):
            yield (
                (*path, "model"),
                f"{section.model!r} is not a Bedrock model: policy {Policy.BEDROCK_ONLY} wants "
                f"'{BEDROCK_PREFIX}<model id>' (turn the policy off to allow other providers)",
            )


def _secrets_by_reference(config: GatewayConfig) -> Iterator[PathMessage]:
    for path, section in iter_sections(config):
        for key in sorted(section.secret_keys):
            value = _field_or_passthrough(section, key)
            if isinstance(value, str) and not isinstance(value, EnvRef):
                yield ((*path, key), _plaintext_message(key))
    for name, value in (config.environment_variables or {}).items():
        if looks_secret(name) and isinstance(value, str) and not isinstance(value, EnvRef):
            yield (("environment_variables", name), _plaintext_message(name))


def _field_or_passthrough(section: object, key: str) -> object:
    passthrough = getattr(section, "passthrough", {})
    return passthrough[key] if key in passthrough else getattr(section, key, None)


def _plaintext_message(key: str) -> str:
    return (
        f"{key} is written in plain text: policy {Policy.SECRETS_BY_REFERENCE} wants a reference such as "
        f"{ENV_PREFIX}{key.upper()}, with the value in Secrets Manager or the environment"
    )
