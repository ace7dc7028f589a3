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

Everything here is built from ``fields.FIELDS``: the record, its directive, the fallback record
and the line. The line is the standard library's JSON encoding of the record (compact, ASCII).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from bedrockgate.metrics_callback.facts import UNKNOWN, RequestFacts, read_facts
from bedrockgate.metrics_callback.fields import (
    DIMENSION_KEYS,
    FIELDS,
    METRICS,
    REFERENCE_FIELDS,
    FieldRole,
    MetricDefinition,
    RecordField,
    Request,
)
from bedrockgate.metrics_callback.settings import MetricsSettings

__all__ = [
    "DIMENSION_KEYS",
    "METRICS",
    "REFERENCE_FIELDS",
    "MetricDefinition",
    "RecordLayout",
    "build_record",
    "encode_record",
    "fallback_record",
    "format_record",
    "render_line",
]

# One encoder for every record: json.dumps with options would build a new one per call.
#
# The line used to be written by hand (an f-string with the encoder's string quoting and repr for
# numbers): a second copy of the record's layout. Measured on 2 shared, loaded cores (issue 17): the
# hand-written line took 7-11 us, this encoding (with the directive's JSON cached) 17-24 us, best of
# interleaved rounds; the whole callback 40.6 us CPU per event before and 42.9 us after
# (./dev nox -s bench_metrics), 0.16% and 0.12% of a core at the proxy's measured throughput, whose
# end-to-end ratios moved by more than that between runs (0.92-1.05). It does not matter, so there is
# one layout. orjson (locked, through LiteLLM's proxy extra) encodes in 2-5 us but is not
# byte-identical: it writes 1.35e-05 as 0.0000135 (metric filters read both; the golden lines differ).
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=True)
# CloudWatch accepts metric timestamps from two weeks ago to two hours ahead.
_MAX_AGE_S: Final = 14 * 24 * 3600 - 3600
_MAX_AHEAD_S: Final = 2 * 3600 - 60


_Plan = tuple[tuple[str, Callable[[Request], object], bool], ...]
_DirectiveParts = tuple[tuple[tuple[str, ...], ...], tuple[dict[str, str], ...]]


def _metric_time(end_time: float, now: float) -> float:
    """The request's end time, or now when CloudWatch would reject the end time as too old or new."""
    return end_time if now - _MAX_AGE_S <= end_time <= now + _MAX_AHEAD_S else now


def _fallback_facts(failed: bool, at: float) -> RequestFacts:
    """A request of an unknown model with no figures: what the fallback record reports."""
    return RequestFacts(
        failed=failed, model_group=UNKNOWN, provider_model=UNKNOWN, model_id=None, provider=None, call_type=None,
        key_alias=None, team=None, prompt_tokens=0, completion_tokens=0, total_tokens=0, cost_usd=0.0,
        response_time_ms=0.0, time_to_first_token_ms=None, end_time=at, stream=False, cache_hit=False, fallbacks=0,
        retries=0, guardrail_status=None, guardrail_intervened=False, status_code=500 if failed else 200,
        error_class="UnknownError" if failed else None, error_category=None, trace_id=None, call_id=None,
        event_key=None,
    )  # fmt: skip


class RecordLayout:
    """Builds records from a tuple of field definitions (``FIELDS`` for every record written).

    Args:
        fields: the record's fields in record order; the fallback record takes those marked
            ``fallback``.

    Raises:
        ValueError: every field is optional, so a record could be empty.

    """

    def __init__(self, fields: Iterable[RecordField]) -> None:
        self.fields: Final = tuple(fields)
        if all(field.optional for field in self.fields):
            raise ValueError("a record layout needs a field that is always present (a record is never empty)")
        # (name, value, optional) of each field: what building a record reads, without attribute lookups.
        self._plan: Final = tuple((field.name, field.value, field.optional) for field in self.fields)
        self._fallback_plan: Final = tuple((f.name, f.value, f.optional) for f in self.fields if f.fallback)
        self._units: Final = {field.name: field.unit for field in self.fields if field.unit is not None}
        self._dimensions: Final = frozenset(f.name for f in self.fields if f.role is FieldRole.DIMENSION)
        # The directive's parts are the same for every record with the same members: built once,
        # shared (read-only).
        self._directive_parts: dict[tuple[str, ...], _DirectiveParts] = {}
        self._encoded_directives: dict[tuple[str, tuple[str, ...]], str] = {}

    def build(self, facts: RequestFacts, settings: MetricsSettings, *, now: float | None = None) -> dict[str, object]:
        """The record of one request, as a JSON-ready dict.

        The ``_aws`` directive's inner parts are shared between records: treat the result as read-only.
        """
        at = _metric_time(facts.end_time, time.time() if now is None else now)
        return self._record(self._plan, Request(facts, settings, at))

    def fallback(self, *, failed: bool, settings: MetricsSettings, now: float | None = None) -> dict[str, object]:
        """The fallback record: the ``fallback`` fields of a request of an unknown model with no figures."""
        at = time.time() if now is None else now
        return self._record(self._fallback_plan, Request(_fallback_facts(failed, at), settings, at))

    def line(self, facts: RequestFacts, settings: MetricsSettings, *, now: float | None = None) -> str:
        """``encode_record(self.build(...))``, with the directive's JSON encoded once per kind of record."""
        at = _metric_time(facts.end_time, time.time() if now is None else now)
        body = self._body(self._plan, Request(facts, settings, at))
        directive = self._directive_json(settings.namespace, tuple(body))
        # The encoding of {"_aws": ..., **body}, spliced: what json writes for a dict is its members
        # in order, so this is that encoding character for character (a property test holds them equal).
        return f'{{"_aws":{{"Timestamp":{int(at * 1000)},"CloudWatchMetrics":{directive}}},{_ENCODER.encode(body)[1:]}'

    def _record(self, plan: _Plan, request: Request) -> dict[str, object]:
        body = self._body(plan, request)
        directive = self._directive(request.settings.namespace, tuple(body))
        return {"_aws": {"Timestamp": int(request.at * 1000), "CloudWatchMetrics": directive}, **body}

    @staticmethod
    def _body(plan: _Plan, request: Request) -> dict[str, object]:
        body: dict[str, object] = {}
        for name, value_of, optional in plan:
            value = value_of(request)
            if value is not None or not optional:
                body[name] = value
        return body

    def _directive(self, namespace: str, names: tuple[str, ...]) -> list[dict[str, object]]:
        parts = self._directive_parts.get(names)
        if parts is None:  # the members vary only with the optional fields: few combinations
            parts = self._directive_parts.setdefault(names, self._parts_of(names))
        return [{"Namespace": namespace, "Dimensions": parts[0], "Metrics": parts[1]}]

    def _directive_json(self, namespace: str, names: tuple[str, ...]) -> str:
        key = (namespace, names)
        encoded = self._encoded_directives.get(key)
        if encoded is None:  # encoding the metric definitions is half a line's encoding time: once
            encoded = self._encoded_directives.setdefault(key, _ENCODER.encode(self._directive(namespace, names)))
        return encoded

    def _parts_of(self, names: tuple[str, ...]) -> _DirectiveParts:
        """Each present dimension with the first (``Service``) as a set of its own, and the present metrics."""
        keys = [name for name in names if name in self._dimensions]
        sets = ((keys[0],), *((keys[0], key) for key in keys[1:])) if keys else ()
        metrics = tuple({"Name": name, "Unit": self._units[name]} for name in names if name in self._units)
        return sets, metrics


_LAYOUT: Final = RecordLayout(FIELDS)


def build_record(facts: RequestFacts, settings: MetricsSettings, *, now: float | None = None) -> dict[str, object]:
    """The record of one request, as a JSON-ready dict; ``render_line`` is its line.

    The ``_aws`` directive's inner parts are shared between records: treat the result as read-only.
    """
    return _LAYOUT.build(facts, settings, now=now)


def render_line(facts: RequestFacts, settings: MetricsSettings, *, now: float | None = None) -> str:
    """The line the callback writes: ``encode_record(build_record(facts, settings))``, character for character.

    ``facts`` must come from ``read_facts`` (whose figures are finite and correctly typed).
    """
    return _LAYOUT.line(facts, settings, now=now)


def encode_record(record: Mapping[str, object]) -> str:
    """One compact ASCII JSON line, without its newline.

    Raises:
        ValueError: the record holds a value JSON cannot carry (NaN, infinity, a non-JSON type).

    """
    return _ENCODER.encode(record)


def fallback_record(*, failed: bool, settings: MetricsSettings, now: float | None = None) -> dict[str, object]:
    """The least record there is: a request of an unknown model, counted, with no other figure.

    Written when a record cannot be built from the payload, so that the request is still counted
    (and the failure to build is counted in ``DeliveryStats.build_errors``). Its fields are those
    ``FIELDS`` marks ``fallback``.
    """
    return _LAYOUT.fallback(failed=failed, settings=settings, now=now)


def format_record(payload: object, *, failed: bool = False, settings: MetricsSettings | None = None) -> str:
    """The line the callback writes for a ``standard_logging_object``: for tools and tests.

    >>> line = format_record({"model_group": "claude-fast", "prompt_tokens": 12})
    >>> '"ModelGroup":"claude-fast"' in line and '"InputTokens":12' in line
    True
    """
    return render_line(read_facts(payload, failed=failed), settings or MetricsSettings())
