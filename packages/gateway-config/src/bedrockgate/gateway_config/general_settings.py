"""``general_settings``: the proxy server itself: its master key, database, limits and health checks.

LiteLLM reads most of these with ``dict.get`` and never checks them; a misspelt ``master_keyy``
leaves the proxy without its key.
"""

from __future__ import annotations

from bedrockgate.gateway_config._litellm_keys import GENERAL_SETTINGS_KEYS
from bedrockgate.gateway_config._section import Section
from bedrockgate.gateway_config._types import EnvOrText, Name, PositiveInt, Seconds, StringList
from pydantic import Field

__all__ = ["GeneralSettings"]


class GeneralSettings(Section):
    """The proxy server's own settings."""

    litellm_keys = GENERAL_SETTINGS_KEYS
    secret_keys = frozenset({"master_key", "database_url"})

    master_key: EnvOrText | None = Field(default=None, description="Admin key; starts with 'sk-'.")
    database_url: EnvOrText | None = None
    database_connection_pool_limit: PositiveInt | None = None
    database_connection_timeout: Seconds | None = None
    store_model_in_db: bool | None = None
    max_parallel_requests: PositiveInt | None = None
    global_max_parallel_requests: PositiveInt | None = None
    max_request_size_mb: Seconds | None = Field(default=None, description="Megabytes; > 0.")
    max_response_size_mb: Seconds | None = Field(default=None, description="Megabytes; > 0.")
    background_health_checks: bool | None = None
    health_check_interval: PositiveInt | None = None
    disable_spend_logs: bool | None = None
    proxy_batch_write_at: PositiveInt | None = None
    alerting: StringList | None = None
    allowed_routes: StringList | None = None
    user_header_name: Name | None = None
