"""``router_settings``: how LiteLLM's router picks, retries and falls back between model groups.

LiteLLM warns and ignores a misspelt key here, and accepts ``num_retries: "three"``; both are
errors in this model.
"""

from __future__ import annotations

from typing import Any, Literal

from bedrockgate.gateway_config._litellm_keys import ROUTER_SETTINGS_KEYS
from bedrockgate.gateway_config._section import Section
from bedrockgate.gateway_config._types import (
    Count,
    EnvOrCount,
    EnvOrPositiveInt,
    EnvOrText,
    Name,
    NonNegativeNumber,
    PositiveInt,
    Seconds,
    StringList,
)
from pydantic import Field

__all__ = ["FallbackRule", "RouterSettings", "RoutingStrategy"]

RoutingStrategy = Literal[
    "simple-shuffle",
    "lar1",
    "least-busy",
    "latency-based-routing",
    "cost-based-routing",
    "usage-based-routing-v2",
    "usage-based-routing",
    "provider-budget-routing",
]

FallbackRule = dict[Name, StringList]
"""``{source_group: [target_group, ...]}``: one entry of a fallbacks list, as LiteLLM writes it."""


class RouterSettings(Section):
    """The router's strategy, retries, cooldowns, fallbacks and shared Redis state."""

    litellm_keys = ROUTER_SETTINGS_KEYS
    secret_keys = frozenset({"redis_password", "redis_url"})

    routing_strategy: RoutingStrategy | None = None
    routing_strategy_args: dict[str, Any] | None = None
    num_retries: Count | None = None
    retry_after: Count | None = Field(default=None, description="Seconds to wait before a retry.")
    timeout: Seconds | None = None
    stream_timeout: Seconds | None = None
    max_fallbacks: PositiveInt | None = None
    fallbacks: list[FallbackRule] | None = None
    context_window_fallbacks: list[FallbackRule] | None = None
    content_policy_fallbacks: list[FallbackRule] | None = None
    default_fallbacks: StringList | None = None
    allowed_fails: Count | None = None
    cooldown_time: NonNegativeNumber | None = None
    disable_cooldowns: bool | None = None
    enable_pre_call_checks: bool | None = None
    model_group_alias: dict[Name, Any] | None = None
    default_max_parallel_requests: PositiveInt | None = None
    redis_host: EnvOrText | None = None
    redis_port: EnvOrPositiveInt | None = None
    redis_password: EnvOrText | None = None
    redis_url: EnvOrText | None = None
    redis_db: EnvOrCount | None = None
