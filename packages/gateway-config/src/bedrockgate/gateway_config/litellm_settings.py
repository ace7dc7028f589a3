"""``litellm_settings``: module-level LiteLLM settings, callbacks and the response cache.

LiteLLM turns every unknown key here into an attribute of the ``litellm`` module with only a
debug log, so a typo such as ``drop_paramz`` silently does nothing. Here it is an error.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from bedrockgate.gateway_config._litellm_keys import CACHE_PARAMS_KEYS, LITELLM_SETTINGS_KEYS
from bedrockgate.gateway_config._section import Section
from bedrockgate.gateway_config._types import (
    Count,
    EnvOrPositiveInt,
    EnvOrText,
    Name,
    NonNegativeNumber,
    Seconds,
    StringList,
    either,
)
from pydantic import Field

__all__ = ["CacheParams", "CallbackList", "LitellmSettings"]

CacheType = Literal[
    "local",
    "redis",
    "redis-semantic",
    "valkey-semantic",
    "s3",
    "disk",
    "qdrant-semantic",
    "azure-blob",
    "gcs",
]

CallbackList = Annotated[Name | StringList, either("a callback name or a list of them")]
"""A built-in callback name (``arize_phoenix``) or ``module.instance`` path, or a list of them."""


class CacheParams(Section):
    """The response cache LiteLLM builds when ``cache: true``."""

    litellm_keys = CACHE_PARAMS_KEYS
    secret_keys = frozenset({"password"})

    type: CacheType | None = None
    host: EnvOrText | None = None
    port: EnvOrPositiveInt | None = None
    password: EnvOrText | None = None
    namespace: Name | None = None
    ttl: Seconds | None = None
    supported_call_types: StringList | None = None


class LitellmSettings(Section):
    """LiteLLM's global switches: callbacks, retries, logging, caching and budgets."""

    litellm_keys = LITELLM_SETTINGS_KEYS

    callbacks: CallbackList | None = None
    success_callback: CallbackList | None = None
    failure_callback: CallbackList | None = None
    drop_params: bool | None = None
    num_retries: Count | None = None
    request_timeout: Seconds | None = None
    set_verbose: bool | None = None
    json_logs: bool | None = None
    turn_off_message_logging: bool | None = None
    redact_user_api_key_info: bool | None = None
    cache: bool | None = None
    cache_params: CacheParams | None = None
    max_budget: NonNegativeNumber | None = None
    budget_duration: Name | None = None
    modify_params: bool | None = None
    guardrails: Any = Field(
        default=None,
        description="Not accepted: guardrails belong in the top-level 'guardrails:' section.",
    )
