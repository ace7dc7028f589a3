"""The record's fields, defined once, in record order.

Each field has a name, a role (dimension, metric with its unit, reference, context), where its value
comes from in LiteLLM's ``standard_logging_object``, and whether the fallback record keeps it.

``FIELDS`` is the only list of what a record holds. ``emf`` builds from it the record, the ``_aws``
directive (its dimension sets and metric definitions are the fields of those roles that are present),
the fallback record (the fields marked ``fallback``) and the line; ``METRICS``, ``DIMENSION_KEYS``
and ``REFERENCE_FIELDS`` are views of it. A new field is one entry here, in record order.

``source`` says how the value is read from the payload (``read_facts`` does the reading, once, into
``RequestFacts``); ``value`` turns a request's facts into the field's value.
"""

from __future__ import annotations

import enum
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NamedTuple

from bedrockgate.metrics_callback.facts import RequestFacts
from bedrockgate.metrics_callback.settings import MetricsSettings

__all__ = [
    "DIMENSION_KEYS",
    "FIELDS",
    "METRICS",
    "REFERENCE_FIELDS",
    "FieldRole",
    "MetricDefinition",
    "RecordField",
    "Request",
]


class Request(NamedTuple):
    """What a field's value is made from: the request's facts, the settings, the record's time."""

    facts: RequestFacts
    settings: MetricsSettings
    at: float
    """The metrics' timestamp, in epoch seconds."""


class FieldRole(enum.Enum):
    """What a field is for; the role decides where else in the record the field's name appears."""

    DIMENSION = "dimension"
    """A CloudWatch dimension: a string, listed in the directive's dimension sets when present."""
    METRIC = "metric"
    """A CloudWatch metric: a number, listed in the directive's metric definitions when present."""
    REFERENCE = "reference"
    """A field of the reference design's line, read by its metric filters and queries."""
    CONTEXT = "context"
    """Names and flags for Logs Insights; never a metric."""


@dataclass(frozen=True, slots=True)
class RecordField:
    """One member of the record, in record order."""

    name: str
    role: FieldRole
    value: Callable[[Request], object]
    """The field's value for a request; for an ``optional`` field, ``None`` leaves it out."""
    source: str
    """Where the value comes from: a ``standard_logging_object`` key (dotted when nested), else what."""
    description: str
    unit: str | None = None
    """The CloudWatch unit, for metrics only."""
    optional: bool = False
    """Left out of the record (and of the directive) when its value is ``None``."""
    fallback: bool = False
    """Also in the fallback record, written when a payload cannot be read at all."""

    def __post_init__(self) -> None:
        if (self.role is FieldRole.METRIC) != (self.unit is not None):
            raise ValueError(f"record field {self.name!r}: a metric needs a unit, and only a metric has one")


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """One CloudWatch metric the record publishes."""

    name: str
    unit: str
    description: str


@functools.lru_cache(maxsize=4)
def _utc_second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def iso_time(epoch: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. ``2026-05-01T12:00:00.123+00:00``."""
    whole = int(epoch)
    return f"{_utc_second(whole)}.{int((epoch - whole) * 1000):03d}+00:00"


_D, _M, _R, _C = FieldRole.DIMENSION, FieldRole.METRIC, FieldRole.REFERENCE, FieldRole.CONTEXT


def _per_key(value: str | None, settings: MetricsSettings) -> str | None:
    return value if settings.key_dimensions else None


FIELDS: Final[tuple[RecordField, ...]] = (
    # Dimensions. Each set is Service alone or Service and one other, never by request, user or key hash.
    RecordField("Service", _D, lambda r: r.settings.service, "BEDROCKGATE_METRICS_SERVICE", "which gateway",
                fallback=True),
    RecordField("ModelGroup", _D, lambda r: r.facts.model_group, "model_group, else model",
                "the public model name the client asked for", fallback=True),
    RecordField("KeyAlias", _D, lambda r: _per_key(r.facts.key_alias, r.settings), "metadata.user_api_key_alias",
                "the virtual key's alias (with key dimensions on)", optional=True),
    RecordField("Team", _D, lambda r: _per_key(r.facts.team, r.settings),
                "metadata.user_api_key_team_alias, team_alias, user_api_key_team_id or team_id",
                "the key's team (with key dimensions on)", optional=True),
    # Metrics, in the order of the directive's metric definitions.
    RecordField("RequestCount", _M, lambda r: 1, "the handler LiteLLM called",
                "1 per completed request, success or failure", unit="Count", fallback=True),
    RecordField("RequestErrors", _M, lambda r: 1 if r.facts.failed else 0, "the handler LiteLLM called",
                "1 when the request failed, else 0", unit="Count", fallback=True),
    RecordField("InputTokens", _M, lambda r: r.facts.prompt_tokens, "prompt_tokens", "prompt tokens", unit="Count"),
    RecordField("OutputTokens", _M, lambda r: r.facts.completion_tokens, "completion_tokens", "completion tokens",
                unit="Count"),
    RecordField("TotalTokens", _M, lambda r: r.facts.total_tokens, "total_tokens, at least the sum of both",
                "prompt + completion tokens", unit="Count"),
    RecordField("ResponseCostUSD", _M, lambda r: r.facts.cost_usd, "response_cost",
                "LiteLLM's cost of the request in US dollars (0 on failure)", unit="None"),
    RecordField("ResponseTimeMs", _M, lambda r: r.facts.response_time_ms, "endTime - startTime, else response_time",
                "from the request's start to its end", unit="Milliseconds"),
    RecordField("TimeToFirstTokenMs", _M, lambda r: r.facts.time_to_first_token_ms,
                "completionStartTime - startTime, when stream", "streamed requests only: start to first chunk",
                unit="Milliseconds", optional=True),
    RecordField("GuardrailInterventions", _M, lambda r: 1 if r.facts.guardrail_intervened else 0,
                "status_fields.guardrail_status, guardrail_information[].guardrail_status",
                "1 when a guardrail blocked or changed the request", unit="Count"),
    RecordField("FallbackCount", _M, lambda r: r.facts.fallbacks,
                "hidden_params.additional_headers.x-litellm-attempted-fallbacks, or the router's depth",
                "fallback hops before a model group served the request", unit="Count"),
    # The reference design's line, field for field.
    RecordField("litellm_metric", _R, lambda r: True, "always true", "marks the line for metric filters",
                fallback=True),
    RecordField("model", _R, lambda r: r.facts.model_group, "model_group, else model", "the model group",
                fallback=True),
    RecordField("provider_model", _R, lambda r: r.facts.provider_model, "model, else hidden_params.litellm_model_name",
                "the deployment that served (or failed) the request", fallback=True),
    RecordField("prompt_tokens", _R, lambda r: r.facts.prompt_tokens, "prompt_tokens", "prompt tokens",
                fallback=True),
    RecordField("completion_tokens", _R, lambda r: r.facts.completion_tokens, "completion_tokens",
                "completion tokens", fallback=True),
    RecordField("total_tokens", _R, lambda r: r.facts.total_tokens, "total_tokens, at least the sum of both",
                "prompt + completion tokens", fallback=True),
    RecordField("response_cost", _R, lambda r: r.facts.cost_usd, "response_cost", "US dollars (0 on failure)",
                fallback=True),
    RecordField("response_time_ms", _R, lambda r: round(r.facts.response_time_ms),
                "endTime - startTime, else response_time", "whole milliseconds", fallback=True),
    RecordField("status_code", _R, lambda r: r.facts.status_code, "error_information.error_code (failures)",
                "200, or the failure's HTTP status (500 when unknown)", fallback=True),
    RecordField("timestamp", _R, lambda r: iso_time(r.at), "endTime", "the metrics' time, ISO 8601 UTC",
                fallback=True),
    RecordField("error", _R, lambda r: (r.facts.error_class or "UnknownError") if r.facts.failed else None,
                "error_information.error_class", "the exception's class name, on failure only", optional=True,
                fallback=True),
    # Context for Logs Insights: names and flags only, and only when known.
    RecordField("status", _C, lambda r: "failure" if r.facts.failed else "success", "the handler LiteLLM called",
                "success or failure", fallback=True),
    RecordField("provider", _C, lambda r: r.facts.provider, "custom_llm_provider", "LiteLLM's provider name",
                optional=True),
    RecordField("model_id", _C, lambda r: r.facts.model_id, "model_id, else hidden_params.model_id",
                "the deployment's id", optional=True),
    RecordField("call_type", _C, lambda r: r.facts.call_type, "call_type", "acompletion, aembedding...",
                optional=True),
    RecordField("guardrail_status", _C, lambda r: r.facts.guardrail_status, "status_fields.guardrail_status",
                "LiteLLM's guardrail outcome", optional=True),
    RecordField("error_category", _C, lambda r: r.facts.error_category, "error_information.normalized_error",
                "LiteLLM's normalised error kind, on failure", optional=True),
    RecordField("trace_id", _C, lambda r: r.facts.trace_id, "trace_id", "shared by every attempt of one request",
                optional=True),
    RecordField("litellm_call_id", _C, lambda r: r.facts.call_id, "litellm_call_id", "LiteLLM's call id",
                optional=True),
    RecordField("stream", _C, lambda r: r.facts.stream, "stream", "a streamed response"),
    RecordField("cache_hit", _C, lambda r: r.facts.cache_hit, "cache_hit", "answered from LiteLLM's cache"),
    RecordField("retries", _C, lambda r: r.facts.retries,
                "hidden_params.additional_headers.x-litellm-attempted-retries", "retries before this outcome"),
)  # fmt: skip
"""Every field a record can hold, in record order."""

METRICS: Final = tuple(
    MetricDefinition(field.name, field.unit, field.description) for field in FIELDS if field.unit is not None
)
"""Every metric, in record order. ``TimeToFirstTokenMs`` appears only on streamed requests."""

DIMENSION_KEYS: Final = tuple(field.name for field in FIELDS if field.role is FieldRole.DIMENSION)

REFERENCE_FIELDS: Final = tuple(
    field.name for field in FIELDS if field.role is FieldRole.REFERENCE and not field.optional
)
"""The reference design's fields, all always present; ``error`` is added on failure."""
