"""The record's fields are defined once (``fields.FIELDS``): every record, its directive, the fallback
record and the line follow that definition, and a field added to it appears in all of them.
"""

from __future__ import annotations

import json
import time

import pytest
from bedrockgate.metrics_callback import FIELDS, METRICS, FieldRole, MetricsSettings, RecordField, read_facts
from bedrockgate.metrics_callback.emf import RecordLayout, build_record, encode_record, fallback_record, render_line
from hypothesis import given
from hypothesis import strategies as st
from payloads import success_payload
from strategies import PROPERTY, payloads

SETTINGS = MetricsSettings()
NOW = 1767225600.5


def _members(record: dict[str, object]) -> list[str]:
    return [name for name in record if name != "_aws"]


def _directive(record: dict[str, object]) -> dict[str, object]:
    aws = record["_aws"]
    assert isinstance(aws, dict)
    (directive,) = aws["CloudWatchMetrics"]
    assert isinstance(directive, dict)
    return directive


def _with(field: RecordField, after: str) -> RecordLayout:
    index = [f.name for f in FIELDS].index(after) + 1
    return RecordLayout((*FIELDS[:index], field, *FIELDS[index:]))


@PROPERTY
@given(payload=payloads, failed=st.booleans(), key_dimensions=st.booleans())
def test_a_record_holds_the_defined_fields_in_order_and_its_directive_lists_those_present(
    payload: object, failed: bool, key_dimensions: bool
) -> None:
    settings = MetricsSettings(key_dimensions=key_dimensions)
    facts = read_facts(payload, failed=failed, now=NOW)
    record = build_record(facts, settings, now=NOW)
    members = _members(record)
    # Every field in definition order; only an optional one may be missing.
    assert members == [f.name for f in FIELDS if f.name in members]
    assert {f.name for f in FIELDS if not f.optional} <= set(members)
    directive = _directive(record)
    present = [f for f in FIELDS if f.name in members]
    assert directive["Metrics"] == tuple({"Name": f.name, "Unit": f.unit} for f in present if f.unit is not None)
    dimensions = [f.name for f in present if f.role is FieldRole.DIMENSION]
    assert [list(s) for s in directive["Dimensions"]] == [dimensions[:1]] + [[dimensions[0], d] for d in dimensions[1:]]  # type: ignore[attr-defined]
    # The line is that record, encoded.
    line = render_line(facts, settings, now=NOW)
    assert json.loads(line) == json.loads(json.dumps(record))
    assert list(json.loads(line)) == ["_aws", *members]


@pytest.mark.parametrize("failed", [False, True])
def test_the_fallback_record_holds_exactly_the_fields_marked_fallback(failed: bool) -> None:
    record = fallback_record(failed=failed, settings=SETTINGS, now=NOW)
    expected = [f.name for f in FIELDS if f.fallback and (failed or f.name != "error")]
    assert _members(record) == expected
    assert [m["Name"] for m in _directive(record)["Metrics"]] == ["RequestCount", "RequestErrors"]  # type: ignore[attr-defined]


def test_a_metric_added_to_the_definition_is_in_the_record_the_directive_the_fallback_and_the_line() -> None:
    added = RecordField(
        "CachedTokens", FieldRole.METRIC, lambda r: r.facts.prompt_tokens * 2, "prompt_tokens_details.cached_tokens",
        "tokens read from the prompt cache", unit="Count", fallback=True,
    )  # fmt: skip
    layout = _with(added, after="TotalTokens")
    facts = read_facts(success_payload(), failed=False, now=NOW)
    record = layout.build(facts, SETTINGS, now=NOW)
    members = _members(record)
    assert members[members.index("TotalTokens") + 1] == "CachedTokens"
    assert record["CachedTokens"] == 20
    assert {"Name": "CachedTokens", "Unit": "Count"} in _directive(record)["Metrics"]  # type: ignore[operator]
    assert '"TotalTokens":30,"CachedTokens":20,"ResponseCostUSD"' in encode_record(record)
    fallback = layout.fallback(failed=True, settings=SETTINGS, now=NOW)
    assert fallback["CachedTokens"] == 0
    assert {"Name": "CachedTokens", "Unit": "Count"} in _directive(fallback)["Metrics"]  # type: ignore[operator]
    # Everything else is as before.
    assert {k: v for k, v in record.items() if k not in ("_aws", "CachedTokens")} == {
        k: v for k, v in build_record(facts, SETTINGS, now=NOW).items() if k != "_aws"
    }


def test_a_dimension_added_to_the_definition_gets_its_dimension_set_and_stays_out_of_the_fallback() -> None:
    added = RecordField("Region", FieldRole.DIMENSION, lambda r: "us-east-1", "the gateway's region", "AWS region")
    layout = _with(added, after="Team")
    facts = read_facts(success_payload(), failed=False, now=NOW)
    record = layout.build(facts, SETTINGS, now=NOW)
    assert record["Region"] == "us-east-1"
    assert [list(s) for s in _directive(record)["Dimensions"]][-1] == ["Service", "Region"]  # type: ignore[attr-defined]
    assert "Region" not in layout.fallback(failed=False, settings=SETTINGS, now=NOW)


def test_an_optional_field_without_a_value_is_left_out_with_its_metric_definition() -> None:
    added = RecordField("CacheReadMs", FieldRole.METRIC, lambda r: None, "nowhere yet", "-", unit="Milliseconds",
                        optional=True)  # fmt: skip
    record = _with(added, after="FallbackCount").build(read_facts({}, failed=False, now=NOW), SETTINGS, now=NOW)
    assert "CacheReadMs" not in record
    assert "CacheReadMs" not in json.dumps(_directive(record))


def test_the_public_views_follow_the_definition() -> None:
    assert [m.name for m in METRICS] == [f.name for f in FIELDS if f.role is FieldRole.METRIC]
    assert all(f.source and f.description for f in FIELDS)
    assert len({f.name for f in FIELDS}) == len(FIELDS)


@pytest.mark.parametrize(("role", "unit"), [(FieldRole.METRIC, None), (FieldRole.CONTEXT, "Count")])
def test_a_field_whose_unit_does_not_fit_its_role_is_refused_by_name(role: FieldRole, unit: str | None) -> None:
    with pytest.raises(ValueError, match="record field 'Odd': a metric needs a unit"):
        RecordField("Odd", role, lambda r: 1, "-", "-", unit=unit)


def test_the_record_time_is_the_end_time_and_the_fallback_time_is_now() -> None:
    end = NOW - 5
    facts = read_facts(success_payload(startTime=end - 1, endTime=end), failed=False, now=NOW)
    record = build_record(facts, SETTINGS, now=NOW)
    assert record["timestamp"] == time.strftime("%Y-%m-%dT%H:%M:%S.500+00:00", time.gmtime(end))
    assert record["_aws"]["Timestamp"] == int(end * 1000)  # type: ignore[index]
    fallback = fallback_record(failed=False, settings=SETTINGS, now=NOW)
    assert fallback["timestamp"] == time.strftime("%Y-%m-%dT%H:%M:%S.500+00:00", time.gmtime(NOW))
    assert fallback["_aws"]["Timestamp"] == int(NOW * 1000)  # type: ignore[index]


def test_a_layout_whose_records_could_be_empty_is_refused() -> None:
    optional = RecordField("Maybe", FieldRole.CONTEXT, lambda r: None, "-", "-", optional=True)
    with pytest.raises(ValueError, match="needs a field that is always present"):
        RecordLayout((optional,))
