"""What one completed request was, read defensively from LiteLLM's ``standard_logging_object``.

``read_facts`` is the only place that looks at LiteLLM's payload. It reads figures and names and
nothing else: never ``messages``, ``response``, ``error_str``, ``error_message``, the traceback,
guardrail requests or responses, ``api_key``, or the key hash (which LiteLLM fills with the raw
presented key when authentication fails). What it does not read, it cannot leak.

It never raises on anything JSON-like (dicts, lists, strings, numbers, ``None``, in any shape): a
payload that is missing, of the wrong type or full of wrong types yields facts with defaults
("unknown" model, zero figures), so the request is still counted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Final, NamedTuple

from bedrockgate.metrics_callback._coerce import (
    amount,
    count,
    epoch_seconds,
    identifier,
    label,
    ratio_ms,
)

__all__ = ["UNKNOWN", "RequestFacts", "read_facts"]

UNKNOWN: Final = "unknown"
"""The model group or model of a request whose payload does not say."""

_EMPTY: Final[Mapping[str, object]] = {}
_INTERVENED: Final = frozenset({"guardrail_intervened", "blocked"})  # "blocked" is LiteLLM's legacy spelling
_SERVER_ERROR: Final = 500


class RequestFacts(NamedTuple):
    """The figures and names of one completed request; everything a record or a metric needs.

    Every field is already safe to publish: labels are bounded printable ASCII, figures are
    finite and non-negative. (A named tuple: immutable, and the cheapest record to build on the
    request path.)
    """

    failed: bool
    model_group: str
    """The public model name the client asked for (``model_name`` in the proxy config)."""
    provider_model: str
    """The deployment that served (or failed) the request, e.g. ``bedrock/anthropic.claude-...``."""
    model_id: str | None
    provider: str | None
    call_type: str | None
    key_alias: str | None
    team: str | None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    response_time_ms: float
    time_to_first_token_ms: float | None
    """Only for streamed responses: from the request's start to its first chunk."""
    end_time: float
    """When the request completed, in epoch seconds: the metrics' timestamp."""
    stream: bool
    cache_hit: bool
    fallbacks: int
    """How many fallback hops it took before a model group served the request."""
    retries: int
    guardrail_status: str | None
    guardrail_intervened: bool
    status_code: int
    error_class: str | None
    """The exception's class name on failure (``RateLimitError``): never its message."""
    error_category: str | None
    """LiteLLM's normalised error kind on failure, e.g. ``429_RATE_LIMIT_EXCEEDED``."""
    trace_id: str | None
    """Shared by every attempt (retries, fallbacks) of one client request."""
    call_id: str | None
    event_key: tuple[str, str, float] | None
    """Identifies the logging event, to recognise LiteLLM delivering the same one twice."""


def _mapping(value: object) -> Mapping[str, object]:
    if type(value) is dict or isinstance(value, Mapping):  # the exact-type test is the fast path
        return value
    return _EMPTY


def _first_label(*values: object) -> str | None:
    for value in values:
        text = label(value)
        if text is not None:
            return text
    return None


def read_facts(
    payload: object,
    *,
    failed: bool,
    start_time: object = None,
    end_time: object = None,
    now: float | None = None,
    attempted_fallbacks: object = None,
) -> RequestFacts:
    """Read one request's facts from a ``standard_logging_object``; never raises on JSON-like input.

    Args:
        payload: ``kwargs["standard_logging_object"]`` as LiteLLM passed it (anything at all).
        failed: whether LiteLLM reported a failure (which handler it called); this, not the
            payload's own ``status``, decides success or failure.
        start_time: the handler's ``start_time`` (a ``datetime``), used if the payload has none.
        end_time: the handler's ``end_time``, likewise.
        now: the current epoch time, for tests; the clock otherwise.
        attempted_fallbacks: the router's fallback depth from the call's metadata, when known
            (the response header that also carries it is set after the callbacks run).

    """
    slo = _mapping(payload)
    metadata = _mapping(slo.get("metadata"))
    hidden = _mapping(slo.get("hidden_params"))
    headers = _mapping(hidden.get("additional_headers"))
    error = _mapping(slo.get("error_information"))
    status_fields = _mapping(slo.get("status_fields"))

    started = epoch_seconds(slo.get("startTime")) or epoch_seconds(start_time)
    ended = epoch_seconds(slo.get("endTime")) or epoch_seconds(end_time)
    first_chunk = epoch_seconds(slo.get("completionStartTime"))
    stream = slo.get("stream") is True
    response_time_ms = ratio_ms(started, ended)
    if response_time_ms is None:
        response_time_ms = round(amount(slo.get("response_time")) * 1000.0, 3)
    time_to_first_token_ms = ratio_ms(started, first_chunk) if stream else None
    if time_to_first_token_ms is not None and ended is not None and first_chunk is not None and first_chunk > ended:
        time_to_first_token_ms = None

    model = label(slo.get("model")) or label(hidden.get("litellm_model_name"))
    prompt_tokens = count(slo.get("prompt_tokens"))
    completion_tokens = count(slo.get("completion_tokens"))
    guardrail_status = identifier(status_fields.get("guardrail_status"))
    call_id = identifier(slo.get("litellm_call_id"))
    event_id = call_id or identifier(slo.get("id"))

    return RequestFacts(
        failed=failed,
        model_group=label(slo.get("model_group")) or model or UNKNOWN,
        provider_model=model or UNKNOWN,
        model_id=identifier(slo.get("model_id")) or identifier(hidden.get("model_id")),
        provider=identifier(slo.get("custom_llm_provider")),
        call_type=identifier(slo.get("call_type")),
        key_alias=label(metadata.get("user_api_key_alias")),
        team=_first_label(
            metadata.get("user_api_key_team_alias"),
            metadata.get("team_alias"),
            metadata.get("user_api_key_team_id"),
            metadata.get("team_id"),
        ),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=max(count(slo.get("total_tokens")), prompt_tokens + completion_tokens),
        cost_usd=0.0 if failed else amount(slo.get("response_cost")),
        response_time_ms=response_time_ms,
        time_to_first_token_ms=time_to_first_token_ms,
        end_time=ended if ended is not None else (time.time() if now is None else now),
        stream=stream,
        cache_hit=slo.get("cache_hit") is True,
        fallbacks=max(count(headers.get("x-litellm-attempted-fallbacks")), count(attempted_fallbacks)),
        retries=count(headers.get("x-litellm-attempted-retries")),
        guardrail_status=guardrail_status,
        guardrail_intervened=guardrail_status in _INTERVENED or _any_intervention(slo.get("guardrail_information")),
        status_code=_status_code(error.get("error_code")) if failed else 200,
        error_class=(identifier(error.get("error_class")) or "UnknownError") if failed else None,
        error_category=identifier(error.get("normalized_error")) if failed else None,
        trace_id=identifier(slo.get("trace_id")),
        call_id=call_id,
        event_key=(event_id, "failure" if failed else "success", started) if event_id and started else None,
    )


def _any_intervention(entries: object) -> bool:
    if not isinstance(entries, list | tuple):
        return False
    return any(
        isinstance(entry, Mapping)
        and isinstance(status := entry.get("guardrail_status"), str)
        and status in _INTERVENED
        for entry in entries
    )


def _status_code(value: object) -> int:
    """The HTTP status of a failure: LiteLLM's ``error_code`` when it is a 4xx/5xx, else 500."""
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 3:
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
        return value
    return _SERVER_ERROR
