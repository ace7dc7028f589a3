"""The record's bytes, pinned: lines captured from the renderer of commit 86ec05d, before issue 17.

``golden/records.json`` holds 130 cases (generated payloads, well-formed and malformed, and the
recorded LiteLLM payloads of ``payloads.py``: success, streamed, failure, an end time CloudWatch
would reject, none at all) with the settings, the clock and the exact line written for each, and
the fallback record's line for both outcomes. Any change to key order, separators, float or
string formatting fails here, whatever the record is built with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bedrockgate.metrics_callback import MetricsSettings, read_facts
from bedrockgate.metrics_callback.emf import encode_record, fallback_record, render_line

GOLDEN: dict[str, list[dict[str, Any]]] = json.loads((Path(__file__).parent / "golden" / "records.json").read_text())


def test_the_golden_file_covers_every_kind_of_record() -> None:
    lines = [json.loads(case["line"]) for case in GOLDEN["records"]]
    assert len(lines) == 130
    assert any("TimeToFirstTokenMs" in line for line in lines)
    assert any("KeyAlias" in line and "Team" in line for line in lines)
    assert any(line["status"] == "failure" for line in lines)
    assert any(line["ModelGroup"] == "unknown" for line in lines)
    assert any("trace_id" in line for line in lines)
    assert {case["failed"] for case in GOLDEN["fallbacks"]} == {True, False}


@pytest.mark.parametrize("case", GOLDEN["records"], ids=[f"case{i}" for i in range(len(GOLDEN["records"]))])
def test_a_line_is_byte_for_byte_the_golden_one(case: dict[str, Any]) -> None:
    settings = MetricsSettings(key_dimensions=case["key_dimensions"], service=case["service"])
    facts = read_facts(case["payload"], failed=case["failed"], now=case["now"])
    assert render_line(facts, settings, now=case["now"]) == case["line"]


@pytest.mark.parametrize("case", GOLDEN["fallbacks"], ids=[f"fallback{i}" for i in range(len(GOLDEN["fallbacks"]))])
def test_the_fallback_line_is_byte_for_byte_the_golden_one(case: dict[str, Any]) -> None:
    settings = MetricsSettings(namespace=case["namespace"], service=case["service"])
    assert encode_record(fallback_record(failed=case["failed"], settings=settings, now=case["now"])) == case["line"]
