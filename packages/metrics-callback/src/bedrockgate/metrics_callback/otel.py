"""The same figures as OpenTelemetry metrics, named after the GenAI semantic conventions.

Off unless asked for: the host (the proxy's process) owns the SDK, its MeterProvider and its
exporters; this module only uses ``opentelemetry-api``. With no SDK installed, the API's no-op
provider makes every call here free.

Names: ``gen_ai.client.token.usage`` (histogram, ``{token}``, by ``gen_ai.token.type``),
``gen_ai.client.operation.duration`` (histogram, ``s``, with ``error.type`` on failure) and
``gen_ai.client.operation.time_to_first_chunk`` (histogram, ``s``, streamed requests) come from
the conventions, with their recommended bucket boundaries. The conventions have no name for
requests, cost, guardrail interventions or fallbacks, so those are ``bedrockgate.gateway.*``
counters. Attributes are the conventions' ``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.model`` (the model group) and ``gen_ai.response.model`` (the deployment), plus
``bedrockgate.key_alias`` and ``bedrockgate.team`` when the request has them.
"""

from __future__ import annotations

from typing import Final

from bedrockgate.metrics_callback.facts import RequestFacts
from opentelemetry import metrics

__all__ = ["INSTRUMENT_NAMES", "OtelMetrics"]

# Bucket boundaries the GenAI conventions recommend for each histogram.
_TOKEN_BUCKETS: Final = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
_SECONDS_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)

INSTRUMENT_NAMES: Final = (
    "gen_ai.client.token.usage",
    "gen_ai.client.operation.duration",
    "gen_ai.client.operation.time_to_first_chunk",
    "bedrockgate.gateway.requests",
    "bedrockgate.gateway.cost",
    "bedrockgate.gateway.guardrail.interventions",
    "bedrockgate.gateway.fallbacks",
)

# LiteLLM's call types, as the conventions' gen_ai.operation.name; others pass through as they are.
_OPERATIONS: Final = {
    "completion": "chat",
    "acompletion": "chat",
    "responses": "chat",
    "aresponses": "chat",
    "anthropic_messages": "chat",
    "text_completion": "text_completion",
    "atext_completion": "text_completion",
    "embedding": "embeddings",
    "aembedding": "embeddings",
}
# LiteLLM's provider names, as the conventions' well-known gen_ai.provider.name values.
_PROVIDERS: Final = {
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "sagemaker": "aws.sagemaker",
    "openai": "openai",
    "text-completion-openai": "openai",
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "anthropic": "anthropic",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "mistral": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "watsonx": "ibm.watsonx.ai",
}


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
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self._first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
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
            "gen_ai.operation.name": _OPERATIONS.get(facts.call_type or "", facts.call_type or "chat"),
            "gen_ai.provider.name": _PROVIDERS.get(facts.provider or "", facts.provider or "unknown"),
            "gen_ai.request.model": facts.model_group,
            "gen_ai.response.model": facts.provider_model,
        }
        if self._key_dimensions and facts.key_alias is not None:
            attributes["bedrockgate.key_alias"] = facts.key_alias
        if self._key_dimensions and facts.team is not None:
            attributes["bedrockgate.team"] = facts.team
        if facts.failed:
            attributes["error.type"] = facts.error_class or "UnknownError"
        else:
            self._tokens.record(facts.prompt_tokens, {**attributes, "gen_ai.token.type": "input"})
            self._tokens.record(facts.completion_tokens, {**attributes, "gen_ai.token.type": "output"})
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
