"""Top-level ``guardrails``: the checks LiteLLM runs around calls, here Bedrock Guardrails.

LiteLLM skips an invalid guardrail with an error log and starts *without* it, which turns a typo
into a gateway with no content filtering. Every guardrail here is checked in full.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from bedrockgate.gateway_config._litellm_keys import GUARDRAIL_ENTRY_KEYS, GUARDRAIL_PARAMS_KEYS
from bedrockgate.gateway_config._section import Section
from bedrockgate.gateway_config._types import EnvOrText, Name, Seconds, either
from bedrockgate.gateway_config.env_ref import EnvRef
from pydantic import Field

__all__ = ["Guardrail", "GuardrailMode", "GuardrailParams"]

GuardrailMode = Literal[
    "pre_call",
    "post_call",
    "during_call",
    "logging_only",
    "pre_mcp_call",
    "during_mcp_call",
    "post_mcp_call",
    "realtime_input_transcription",
]


class TaggedMode(Section):
    """A mode chosen per request tag, with a default: ``{tags: {tag: mode}, default: mode}``."""

    litellm_keys = frozenset({"tags", "default"})

    tags: dict[Name, GuardrailMode]
    default: GuardrailMode | None = None


GuardrailVersion = Annotated[
    EnvRef | str,
    Field(union_mode="left_to_right"),
    # LiteLLM types the version as a string: an unquoted 1 fails its check and the guardrail is skipped.
    either("a version in quotes such as '1', or 'DRAFT', or os.environ/VAR"),
]

Modes = Annotated[
    GuardrailMode | list[GuardrailMode] | TaggedMode,
    either("a guardrail mode (pre_call, during_call, post_call, logging_only, ...) or a list of them"),
]


class GuardrailParams(Section):
    """What the guardrail is and when it runs. For ``guardrail: bedrock``, which guardrail version."""

    litellm_keys = GUARDRAIL_PARAMS_KEYS
    secret_keys = frozenset({"api_key", "aws_access_key_id", "aws_secret_access_key", "aws_session_token"})

    guardrail: Name = Field(description="The guardrail integration, e.g. 'bedrock'.")
    mode: Modes
    default_on: bool | None = Field(default=None, description="Run on every request, not only when asked.")
    guardrailIdentifier: EnvOrText | None = Field(default=None, description="Bedrock guardrail id or ARN.")  # noqa: N815  # LiteLLM's spelling
    guardrailVersion: GuardrailVersion | None = Field(  # noqa: N815  # LiteLLM's spelling
        default=None, description="A published version such as '1' (quoted), or 'DRAFT'."
    )
    aws_region_name: EnvOrText | None = None
    aws_role_name: EnvOrText | None = None
    aws_bedrock_runtime_endpoint: EnvOrText | None = None
    api_key: EnvOrText | None = None
    api_base: EnvOrText | None = None
    aws_access_key_id: EnvOrText | None = None
    aws_secret_access_key: EnvOrText | None = None
    aws_session_token: EnvOrText | None = None
    mask_request_content: bool | None = None
    mask_response_content: bool | None = None
    disable_exception_on_block: bool | None = None
    guardrail_timeout: Seconds | None = None


class Guardrail(Section):
    """One entry of the top-level ``guardrails`` list."""

    litellm_keys = GUARDRAIL_ENTRY_KEYS

    guardrail_name: Name
    litellm_params: GuardrailParams
    guardrail_info: dict[str, Any] | None = None
