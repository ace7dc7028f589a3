"""The same figures as OpenTelemetry metrics, named after the GenAI semantic conventions.

Off unless asked for: the host (the proxy's process) owns the SDK, its MeterProvider and its
exporters; this module only uses ``opentelemetry-api``. With no SDK installed, the API's no-op
provider makes every call here free.

Names: ``gen_ai.client.token.usage`` (histogram, ``{token}``, by ``gen_ai.token.type``),
``gen_ai.client.operation.duration`` (histogram, ``s``, with ``error.type`` on failure) and
``gen_ai.client.operation.time_to_first_chunk`` (histogram, ``s``, streamed requests) come from
the conventions, with their recommended bucket boundaries. Names, attribute keys and their well-known
values are the constants of ``opentelemetry-semantic-conventions`` (its ``_incubating`` GenAI
modules: the GenAI conventions are still in development, and in 0.66b2 they are marked as moved to
their own repository; the values are unchanged). The conventions have no name for
requests, cost, guardrail interventions or fallbacks, so those are ``bedrockgate.gateway.*``
counters. Attributes are the conventions' ``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.model`` (the model group) and ``gen_ai.response.model`` (the deployment), plus
``bedrockgate.key_alias`` and ``bedrockgate.team`` when the request has them.
"""

from __future__ import annotations

from typing import Final

from bedrockgate.metrics_callback.facts import RequestFacts
from opentelemetry import metrics
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_TOKEN_TYPE,
    GenAiOperationNameValues,
    GenAiProviderNameValues,
    GenAiTokenTypeValues,
)
from opentelemetry.semconv._incubating.metrics.gen_ai_metrics import (
    GEN_AI_CLIENT_OPERATION_DURATION,
    GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
    GEN_AI_CLIENT_TOKEN_USAGE,
)
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE

__all__ = ["INSTRUMENT_NAMES", "OtelMetrics"]

# Bucket boundaries the GenAI conventions recommend for each histogram.
_TOKEN_BUCKETS: Final = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
_SECONDS_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)

INSTRUMENT_NAMES: Final = (
    GEN_AI_CLIENT_TOKEN_USAGE,
    GEN_AI_CLIENT_OPERATION_DURATION,
    GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
    "bedrockgate.gateway.requests",
    "bedrockgate.gateway.cost",
    "bedrockgate.gateway.guardrail.interventions",
    "bedrockgate.gateway.fallbacks",
)

_CHAT, _TEXT, _EMBEDDINGS = (
    GenAiOperationNameValues.CHAT.value,
    GenAiOperationNameValues.TEXT_COMPLETION.value,
    GenAiOperationNameValues.EMBEDDINGS.value,
)
# LiteLLM's call types, as the conventions' gen_ai.operation.name; others pass through as they are.
_OPERATIONS: Final = {
    "completion": _CHAT,
    "acompletion": _CHAT,
    "responses": _CHAT,
    "aresponses": _CHAT,
    "anthropic_messages": _CHAT,
    "text_completion": _TEXT,
    "atext_completion": _TEXT,
    "embedding": _EMBEDDINGS,
    "aembedding": _EMBEDDINGS,
}
_P = GenAiProviderNameValues
# LiteLLM's provider names, as the conventions' well-known gen_ai.provider.name values.
_PROVIDERS: Final = {
    "bedrock": _P.AWS_BEDROCK.value,
    "bedrock_converse": _P.AWS_BEDROCK.value,
    "sagemaker": "aws.sagemaker",  # not (yet) a well-known value of the conventions: kept as it was
    "openai": _P.OPENAI.value,
    "text-completion-openai": _P.OPENAI.value,
    "azure": _P.AZURE_AI_OPENAI.value,
    "azure_ai": _P.AZURE_AI_INFERENCE.value,
    "anthropic": _P.ANTHROPIC.value,
    "vertex_ai": _P.GCP_VERTEX_AI.value,
    "vertex_ai_beta": _P.GCP_VERTEX_AI.value,
    "gemini": _P.GCP_GEMINI.value,
    "cohere": _P.COHERE.value,
    "cohere_chat": _P.COHERE.value,
    "mistral": _P.MISTRAL_AI.value,
    "groq": _P.GROQ.value,
    "deepseek": _P.DEEPSEEK.value,
    "xai": _P.X_AI.value,
    "perplexity": _P.PERPLEXITY.value,
    "watsonx": _P.IBM_WATSONX_AI.value,
}
_INPUT, _OUTPUT = GenAiTokenTypeValues.INPUT.value, GenAiTokenTypeValues.OUTPUT.value


class OtelMetrics:
    """Records each request's facts on OpenTelemetry instruments from one ``MeterProvider``.

    Args:
        meter_provider: the provider to use; the global one (``metrics.get_meter_provider()``,
            which the host configures) when omitted.
        key_dimensions: add the key alias and team as attributes, like the EMF dimensions.

    """

    def __init__(self, meter_provider: metrics.MeterProvider | None = None, *, key_dimensions: bool = True) -> None:
        provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        meter = provider.get_meter("bedrockgate.metrics_callback")
        self._key_dimensions = key_dimensions
        self._tokens = meter.create_histogram(
            GEN_AI_CLIENT_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self._duration = meter.create_histogram(
            GEN_AI_CLIENT_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self._first_chunk = meter.create_histogram(
            GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self._requests = meter.create_counter(
            "bedrockgate.gateway.requests", unit="{request}", description="Completed requests, by outcome."
        )
        self._cost = meter.create_counter(
            "bedrockgate.gateway.cost", unit="USD", description="LiteLLM's cost of successful requests."
        )
        self._interventions = meter.create_counter(
            "bedrockgate.gateway.guardrail.interventions",
            unit="{intervention}",
            description="Requests a guardrail blocked or changed.",
        )
        self._fallbacks = meter.create_counter(
            "bedrockgate.gateway.fallbacks",
            unit="{fallback}",
            description="Fallback hops taken before a model group served the request.",
        )

    def record(self, facts: RequestFacts) -> None:
        """Record one request on every instrument that applies to it."""
        attributes: dict[str, str] = {
            GEN_AI_OPERATION_NAME: _OPERATIONS.get(facts.call_type or "", facts.call_type or _CHAT),
            GEN_AI_PROVIDER_NAME: _PROVIDERS.get(facts.provider or "", facts.provider or "unknown"),
            GEN_AI_REQUEST_MODEL: facts.model_group,
            GEN_AI_RESPONSE_MODEL: facts.provider_model,
        }
        if self._key_dimensions and facts.key_alias is not None:
            attributes["bedrockgate.key_alias"] = facts.key_alias
        if self._key_dimensions and facts.team is not None:
            attributes["bedrockgate.team"] = facts.team
        if facts.failed:
            attributes[ERROR_TYPE] = facts.error_class or "UnknownError"
        else:
            self._tokens.record(facts.prompt_tokens, {**attributes, GEN_AI_TOKEN_TYPE: _INPUT})
            self._tokens.record(facts.completion_tokens, {**attributes, GEN_AI_TOKEN_TYPE: _OUTPUT})
            if facts.cost_usd > 0:
                self._cost.add(facts.cost_usd, attributes)
        self._duration.record(facts.response_time_ms / 1000.0, attributes)
        if facts.time_to_first_token_ms is not None:
            self._first_chunk.record(facts.time_to_first_token_ms / 1000.0, attributes)
        self._requests.add(1, attributes)
        if facts.guardrail_intervened:
            self._interventions.add(1, attributes)
        if facts.fallbacks:
            self._fallbacks.add(facts.fallbacks, attributes)
