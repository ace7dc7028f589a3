"""``model_list``: the deployments behind each public model name (model group).

LiteLLM drops a deployment whose ``litellm_params`` it cannot parse and starts with fewer models,
so every limit and timeout here is typed and checked before LiteLLM sees it.
"""

from __future__ import annotations

from typing import Literal

from bedrockgate.gateway_config._litellm_keys import DEPLOYMENT_KEYS, LITELLM_PARAMS_KEYS, MODEL_INFO_KEYS
from bedrockgate.gateway_config._section import Section
from bedrockgate.gateway_config._types import (
    EnvOrCount,
    EnvOrPositiveInt,
    EnvOrSeconds,
    EnvOrText,
    Name,
    NonNegativeNumber,
    PositiveInt,
    StringList,
)
from pydantic import Field

__all__ = ["Deployment", "LiteLLMParams", "ModelInfo"]

ModelMode = Literal[
    "chat",
    "completion",
    "embedding",
    "image_generation",
    "image_edit",
    "audio_transcription",
    "audio_speech",
    "moderation",
    "rerank",
    "responses",
    "batch",
    "realtime",
    "search",
    "ocr",
    "video_generation",
    "vector_store",
]


class LiteLLMParams(Section):
    """How LiteLLM reaches one deployment: the provider model id, credentials, limits, timeouts."""

    litellm_keys = LITELLM_PARAMS_KEYS
    secret_keys = frozenset({"api_key", "aws_access_key_id", "aws_secret_access_key", "aws_session_token"})

    model: Name = Field(description="Provider model id, e.g. bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0.")
    aws_region_name: EnvOrText | None = None
    aws_bedrock_runtime_endpoint: EnvOrText | None = None
    aws_role_name: EnvOrText | None = None
    aws_session_name: EnvOrText | None = None
    aws_profile_name: EnvOrText | None = None
    aws_access_key_id: EnvOrText | None = None
    aws_secret_access_key: EnvOrText | None = None
    aws_session_token: EnvOrText | None = None
    api_key: EnvOrText | None = None
    api_base: EnvOrText | None = None
    tpm: EnvOrPositiveInt | None = Field(default=None, description="Tokens per minute this deployment takes.")
    rpm: EnvOrPositiveInt | None = Field(default=None, description="Requests per minute this deployment takes.")
    max_parallel_requests: EnvOrPositiveInt | None = None
    timeout: EnvOrSeconds | None = None
    stream_timeout: EnvOrSeconds | None = None
    max_retries: EnvOrCount | None = None
    order: PositiveInt | None = Field(default=None, description="Priority: 1 is tried first.")
    weight: NonNegativeNumber | None = Field(default=None, description="Share of traffic in simple-shuffle.")
    tags: StringList | None = None
    input_cost_per_token: NonNegativeNumber | None = None
    output_cost_per_token: NonNegativeNumber | None = None


class ModelInfo(Section):
    """What LiteLLM should believe about a deployment: its id, its base model for pricing, its mode."""

    litellm_keys = MODEL_INFO_KEYS

    id: Name | None = Field(default=None, description="Stable deployment id (a hash when omitted).")
    base_model: Name | None = Field(default=None, description="The model whose price and limits apply.")
    mode: ModelMode | None = None
    max_tokens: PositiveInt | None = None
    max_input_tokens: PositiveInt | None = None
    max_output_tokens: PositiveInt | None = None
    input_cost_per_token: NonNegativeNumber | None = None
    output_cost_per_token: NonNegativeNumber | None = None


class Deployment(Section):
    """One entry of ``model_list``. Several entries may share a ``model_name``: LiteLLM balances them."""

    litellm_keys = DEPLOYMENT_KEYS

    model_name: Name = Field(description="The public name clients ask for: the model group.")
    litellm_params: LiteLLMParams
    model_info: ModelInfo | None = None
    tpm: PositiveInt | None = None
    rpm: PositiveInt | None = None
