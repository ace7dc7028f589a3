"""The config's JSON Schema, for editors (YAML language servers) and other tools."""

from __future__ import annotations

from typing import Any

from bedrockgate.gateway_config.config import GatewayConfig

__all__ = ["json_schema"]

SCHEMA_ID = "https://bedrockgate.dev/schemas/gateway-config.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a gateway config, as the loader reads it (by YAML key)."""
    schema = GatewayConfig.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
