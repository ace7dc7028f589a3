"""House rules on top of LiteLLM's: on by default, each one switchable by name.

- ``bedrock-only``: every deployment calls Amazon Bedrock (``bedrock/...``), the only provider
  the gateway's IAM role, VPC endpoints and cost tracking are built for.
- ``secrets-by-reference``: credentials appear only as ``os.environ/VAR``, so that they live in
  Secrets Manager and never in a file, an image layer or a log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from typing import Any

from bedrockgate.gateway_config._document import as_mapping
from bedrockgate.gateway_config._locate import section_at
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


def check_policies(document: Mapping[str, Any], policies: Iterable[Policy] = ALL_POLICIES) -> list[PathMessage]:
    """Every violation of the chosen policies in the config document, in document order.

    Like the rules, policies read the document, so they still run when a field elsewhere is
    mistyped.
    """
    chosen = set(policies)
    problems: list[PathMessage] = []
    for path, mapping in _mappings(document, ()):
        section = section_at(GatewayConfig, path)
        if section is None:
            continue
        if Policy.BEDROCK_ONLY in chosen and section is LiteLLMParams:
            problems.extend(_bedrock_only(mapping, path))
        if Policy.SECRETS_BY_REFERENCE in chosen:
            problems.extend(_plaintext_secrets(mapping, path, section.secret_keys))
    if Policy.SECRETS_BY_REFERENCE in chosen:
        variables = as_mapping(document.get("environment_variables"))
        secret_names = frozenset(name for name in variables if isinstance(name, str) and looks_secret(name))
        problems.extend(_plaintext_secrets(variables, ("environment_variables",), secret_names))
    return problems


def _mappings(value: Any, path: Location) -> Iterator[tuple[Location, Mapping[Any, Any]]]:
    if isinstance(value, Mapping):
        yield path, value
        for key, item in value.items():
            yield from _mappings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _mappings(item, (*path, index))


def _bedrock_only(params: Mapping[Any, Any], path: Location) -> Iterator[PathMessage]:
    model = params.get("model")
    if isinstance(model, str) and model and not model.startswith(BEDROCK_PREFIX):
        yield (
            (*path, "model"),
            f"{model!r} is not a Bedrock model: policy {Policy.BEDROCK_ONLY} wants "
            f"'{BEDROCK_PREFIX}<model id>' (turn the policy off to allow other providers)",
        )


def _plaintext_secrets(mapping: Mapping[Any, Any], path: Location, keys: frozenset[str]) -> Iterator[PathMessage]:
    for key in sorted(keys):
        value = mapping.get(key)
        if isinstance(value, str) and not isinstance(value, EnvRef):
            yield (
                (*path, key),
                f"{key} is written in plain text: policy {Policy.SECRETS_BY_REFERENCE} wants a reference such "
                f"as {ENV_PREFIX}{key.upper()}, with the value in Secrets Manager or the environment",
            )
