"""The record: one JSON line that is a CloudWatch EMF document and the reference design's line.

CloudWatch Logs turns the ``_aws`` directive into metrics by itself, with no metric filter. The
same line also carries the reference design's fields (``litellm_metric``, ``model``,
``status_code``...), so metric filters and Logs Insights queries written for that design keep
working unchanged.

Dimensions are chosen for cost as much as insight: every distinct combination of dimension values
is a custom metric CloudWatch bills for. So each metric is published by ``Service``, by
``Service`` + ``ModelGroup``, and, when the request carries them, by ``Service`` + ``KeyAlias``
and ``Service`` + ``Team`` (per-agent usage) — never by request, user or key hash. A dimension
set is only listed when each of its keys is present, as the specification requires.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from bedrockgate.metrics_callback.facts import RequestFacts, read_facts
from bedrockgate.metrics_callback.settings import MetricsSettings

__all__ = [
    "DIMENSION_KEYS",
    "METRICS",
    "REFERENCE_FIELDS",
    "MetricDefinition",
    "build_record",
    "encode_record",
    "fallback_record",
    "format_record",
    "render_line",
]


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """One CloudWatch metric the record publishes."""

    name: str
    unit: str
    description: str


METRICS: Final = (
    MetricDefinition("RequestCount", "Count", "1 per completed request, success or failure"),
    MetricDefinition("RequestErrors", "Count", "1 when the request failed, else 0"),
    MetricDefinition("InputTokens", "Count", "prompt tokens"),
    MetricDefinition("OutputTokens", "Count", "completion tokens"),
    MetricDefinition("TotalTokens", "Count", "prompt + completion tokens"),
    MetricDefinition("ResponseCostUSD", "None", "LiteLLM's cost of the request in US dollars (0 on failure)"),
    MetricDefinition("ResponseTimeMs", "Milliseconds", "from the request's start to its end"),
    MetricDefinition("TimeToFirstTokenMs", "Milliseconds", "streamed requests only: start to first chunk"),
    MetricDefinition("GuardrailInterventions", "Count", "1 when a guardrail blocked or changed the request"),
    MetricDefinition("FallbackCount", "Count", "fallback hops before a model group served the request"),
)
"""Every metric, in record order. ``TimeToFirstTokenMs`` appears only on streamed requests."""

DIMENSION_KEYS: Final = ("Service", "ModelGroup", "KeyAlias", "Team")

REFERENCE_FIELDS: Final = (
    "litellm_metric",
    "model",
    "provider_model",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "response_cost",
    "response_time_ms",
    "status_code",
    "timestamp",
)
"""The reference design's fields, all always present; ``error`` is added on failure."""

_TTFT: Final = "TimeToFirstTokenMs"
# One encoder for every record: json.dumps with options would build a new one per call.
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=True)
# The encoder's own string quoting (the C implementation), for the hand-written line.
_quote: Final[Callable[[str], str]] = json.encoder.encode_basestring_ascii
# CloudWatch accepts metric timestamps from two weeks ago to two hours ahead.
_MAX_AGE_S: Final = 14 * 24 * 3600 - 3600
_MAX_AHEAD_S: Final = 2 * 3600 - 60


# The directive's parts are the same for every record of a kind: built once, shared (read-only).
@functools.cache
def _metric_definitions(streamed: bool) -> tuple[dict[str, str], ...]:
    return tuple({"Name": m.name, "Unit": m.unit} for m in METRICS if streamed or m.name != _TTFT)


@functools.cache
def _dimension_sets(by_key: bool, by_team: bool) -> tuple[tuple[str, ...], ...]:
    sets: list[tuple[str, ...]] = [("Service",), ("Service", "ModelGroup")]
    if by_key:
        sets.append(("Service", "KeyAlias"))
    if by_team:
        sets.append(("Service", "Team"))
    return tuple(sets)


def _metric_time(end_time: float, now: float) -> float:
    """The request's end time, or now when CloudWatch would reject the end time as too old or new."""
    return end_time if now - _MAX_AGE_S <= end_time <= now + _MAX_AHEAD_S else now


@functools.lru_cache(maxsize=4)
def _utc_second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def _iso(epoch: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. ``2026-05-01T12:00:00.123+00:00``."""
    whole = int(epoch)
    return f"{_utc_second(whole)}.{int((epoch - whole) * 1000):03d}+00:00"


def _directive(settings: MetricsSettings, by_key: bool, by_team: bool, streamed: bool) -> list[dict[str, object]]:
    return [
        {
            "Namespace": settings.namespace,
            "Dimensions": _dimension_sets(by_key, by_team),
            "Metrics": _metric_definitions(streamed),
        }
    ]


@functools.lru_cache(maxsize=64)
def _directive_json(settings: MetricsSettings, by_key: bool, by_team: bool, streamed: bool) -> str:
    # Encoding the ten metric definitions is most of a record's encoding time, and they are the
    # same for every record of a kind: encode them once.
    return _ENCODER.encode(_directive(settings, by_key, by_team, streamed))


def _body(facts: RequestFacts, settings: MetricsSettings, at: float, by_key: bool, by_team: bool) -> dict[str, object]:
    """Every member of the record but ``_aws``, in record order."""
    record: dict[str, object] = {"Service": settings.service, "ModelGroup": facts.model_group}
    if by_key:
        record["KeyAlias"] = facts.key_alias
    if by_team:
        record["Team"] = facts.team
    record["RequestCount"] = 1
    record["RequestErrors"] = 1 if facts.failed else 0
    record["InputTokens"] = facts.prompt_tokens
    record["OutputTokens"] = facts.completion_tokens
    record["TotalTokens"] = facts.total_tokens
    record["ResponseCostUSD"] = facts.cost_usd
    record["ResponseTimeMs"] = facts.response_time_ms
    if facts.time_to_first_token_ms is not None:
        record[_TTFT] = facts.time_to_first_token_ms
    record["GuardrailInterventions"] = 1 if facts.guardrail_intervened else 0
    record["FallbackCount"] = facts.fallbacks
    # The reference design's line, field for field.
    record["litellm_metric"] = True
    record["model"] = facts.model_group
    record["provider_model"] = facts.provider_model
    record["prompt_tokens"] = facts.prompt_tokens
    record["completion_tokens"] = facts.completion_tokens
    record["total_tokens"] = facts.total_tokens
    record["response_cost"] = facts.cost_usd
    record["response_time_ms"] = round(facts.response_time_ms)
    record["status_code"] = facts.status_code
    record["timestamp"] = _iso(at)
    if facts.failed:
        record["error"] = facts.error_class or "UnknownError"
    # Context for Logs Insights: names and flags only, and only when known.
    record["status"] = "failure" if facts.failed else "success"
    optional: Mapping[str, object] = {
        "provider": facts.provider,
        "model_id": facts.model_id,
        "call_type": facts.call_type,
        "guardrail_status": facts.guardrail_status,
        "error_category": facts.error_category,
        "trace_id": facts.trace_id,
        "litellm_call_id": facts.call_id,
    }
    record.update((name, value) for name, value in optional.items() if value is not None)
    record["stream"] = facts.stream
    record["cache_hit"] = facts.cache_hit
    record["retries"] = facts.retries
    return record


def build_record(facts: RequestFacts, settings: MetricsSettings, *, now: float | None = None) -> dict[str, object]:
    """The record of one request, as a JSON-ready dict (``render_line`` writes the same, faster).

    The ``_aws`` directive's inner parts are shared between records: treat the result as read-only.
    """
    at = _metric_time(facts.end_time, time.time() if now is None else now)
    by_key = settings.key_dimensions and facts.key_alias is not None
    by_team = settings.key_dimensions and facts.team is not None
    streamed = facts.time_to_first_token_ms is not None
    return {
        "_aws": {"Timestamp": int(at * 1000), "CloudWatchMetrics": _directive(settings, by_key, by_team, streamed)},
        **_body(facts, settings, at, by_key, by_team),
    }


def render_line(facts: RequestFacts, settings: MetricsSettings, *, now: float | None = None) -> str:
    """``encode_record(build_record(facts, settings))``, character for character, in a third of the time.

    It writes the JSON itself, with the encoder's own string quoting and ``repr`` for numbers, as
    ``json`` does; a property test holds the two equal. ``facts`` must come from ``read_facts``
    (whose figures are finite and correctly typed).
    """
    at = _metric_time(facts.end_time, time.time() if now is None else now)
    by_key = settings.key_dimensions and facts.key_alias is not None
    by_team = settings.key_dimensions and facts.team is not None
    ttft = facts.time_to_first_token_ms
    failed = facts.failed
    model_group = _quote(facts.model_group)
    directive = _directive_json(settings, by_key, by_team, ttft is not None)
    optional = "".join(
        f',"{name}":{_quote(value)}'
        for name, value in (
            ("provider", facts.provider),
            ("model_id", facts.model_id),
            ("call_type", facts.call_type),
            ("guardrail_status", facts.guardrail_status),
            ("error_category", facts.error_category),
            ("trace_id", facts.trace_id),
            ("litellm_call_id", facts.call_id),
        )
        if value is not None
    )
    key_alias = f',"KeyAlias":{_quote(facts.key_alias)}' if by_key and facts.key_alias is not None else ""
    team = f',"Team":{_quote(facts.team)}' if by_team and facts.team is not None else ""
    first_token = f',"TimeToFirstTokenMs":{ttft!r}' if ttft is not None else ""
    error = f',"error":{_quote(facts.error_class or "UnknownError")}' if failed else ""
    status = "failure" if failed else "success"
    stream = "true" if facts.stream else "false"
    cache_hit = "true" if facts.cache_hit else "false"
    return (
        f'{{"_aws":{{"Timestamp":{int(at * 1000)},"CloudWatchMetrics":{directive}}}'
        f',"Service":{_quote(settings.service)},"ModelGroup":{model_group}{key_alias}{team}'
        f',"RequestCount":1,"RequestErrors":{1 if failed else 0}'
        f',"InputTokens":{facts.prompt_tokens},"OutputTokens":{facts.completion_tokens}'
        f',"TotalTokens":{facts.total_tokens},"ResponseCostUSD":{facts.cost_usd!r}'
        f',"ResponseTimeMs":{facts.response_time_ms!r}{first_token}'
        f',"GuardrailInterventions":{1 if facts.guardrail_intervened else 0},"FallbackCount":{facts.fallbacks}'
        f',"litellm_metric":true,"model":{model_group},"provider_model":{_quote(facts.provider_model)}'
        f',"prompt_tokens":{facts.prompt_tokens},"completion_tokens":{facts.completion_tokens}'
        f',"total_tokens":{facts.total_tokens},"response_cost":{facts.cost_usd!r}'
        f',"response_time_ms":{round(facts.response_time_ms)},"status_code":{facts.status_code}'
        f',"timestamp":"{_iso(at)}"{error},"status":"{status}"{optional}'
        f',"stream":{stream},"cache_hit":{cache_hit},"retries":{facts.retries}}}'
    )


def encode_record(record: Mapping[str, object]) -> str:
    """One compact ASCII JSON line, without its newline.

    Raises:
        ValueError: the record holds a value JSON cannot carry (NaN, infinity, a non-JSON type).

    """
    return _ENCODER.encode(record)


def fallback_record(*, failed: bool, settings: MetricsSettings, now: float | None = None) -> dict[str, object]:
    """The least record there is: a request of an unknown model, counted, with no other figure.

    Written when a record cannot be built from the payload, so that the request is still counted
    (and the failure to build is counted in ``DeliveryStats.build_errors``).
    """
    at = time.time() if now is None else now
    return {
        "_aws": {
            "Timestamp": int(at * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": settings.namespace,
                    "Dimensions": [["Service"], ["Service", "ModelGroup"]],
                    "Metrics": [{"Name": "RequestCount", "Unit": "Count"}, {"Name": "RequestErrors", "Unit": "Count"}],
                }
            ],
        },
        "Service": settings.service,
        "ModelGroup": "unknown",
        "RequestCount": 1,
        "RequestErrors": 1 if failed else 0,
        "litellm_metric": True,
        "model": "unknown",
        "provider_model": "unknown",
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
        "response_cost": 0.0,
        "response_time_ms": 0,
        "status_code": 500 if failed else 200,
        "timestamp": _iso(at),
        **({"error": "UnknownError"} if failed else {}),
        "status": "failure" if failed else "success",
    }


def format_record(payload: object, *, failed: bool = False, settings: MetricsSettings | None = None) -> str:
    """The line the callback writes for a ``standard_logging_object``: for tools and tests.

    >>> line = format_record({"model_group": "claude-fast", "prompt_tokens": 12})
    >>> '"ModelGroup":"claude-fast"' in line and '"InputTokens":12' in line
    True
    """
    return render_line(read_facts(payload, failed=failed), settings or MetricsSettings())
