"""Properties over generated logging payloads, well-formed and malformed (>= 100 examples each).

1. Whatever LiteLLM hands over, the handler neither raises nor stays silent: exactly one line,
   a valid EMF document that the reference metric filters read.
2. The fast line writer and the plain JSON encoding agree, character for character.
3. No value from a private field (prompt, completion, keys, key hash, error text) reaches a line.
4. Every line fits in one atomic pipe write (4096 bytes).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from bedrockgate.metrics_callback import MetricsSettings, build_record, encode_record, read_facts
from bedrockgate.metrics_callback.emf import render_line
from bedrockgate.metrics_callback.logger import MetricsLogger
from emf_spec import emf_problems
from hypothesis import given
from hypothesis import strategies as st
from metric_filters import matches, metric_value
from metrics_helpers import CANARIES, LineCapture
from strategies import PROPERTY, handler_kwargs, payloads, start_times


def _numbers_are_numbers(record: dict[str, Any]) -> bool:
    return all(
        isinstance(record[name], int | float) and not isinstance(record[name], bool) and math.isfinite(record[name])
        for name in (
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "response_cost",
            "response_time_ms",
            "status_code",
        )
    )


@PROPERTY
@given(kwargs=handler_kwargs, failed=st.booleans(), start=start_times, end=start_times)
def test_any_payload_gives_exactly_one_valid_line_and_nothing_escapes(
    kwargs: object, failed: bool, start: object, end: object
) -> None:
    capture = LineCapture()
    logger = MetricsLogger(MetricsSettings(), stream=lambda: capture)
    try:
        if failed:
            logger.log_failure_event(kwargs, None, start, end)
        else:
            logger.log_success_event(kwargs, None, start, end)
        assert logger.flush(timeout=5)
    finally:
        logger.close(timeout=5)
    lines = capture.lines()
    assert len(lines) == 1
    line = lines[0]
    assert emf_problems(line) == []
    assert len(line.encode()) + 1 <= 4096
    assert matches("{ $.litellm_metric IS TRUE }", line)
    assert matches("{ $.status_code >= 400 }", line) == failed
    assert matches("{ $.status_code = 200 }", line) == (not failed)
    assert metric_value("$.total_tokens", line) is not None
    record = json.loads(line)
    assert _numbers_are_numbers(record)
    assert record["RequestErrors"] == int(failed)
    for canary in CANARIES:
        assert canary not in line
    stats = logger.stats()
    assert stats.events == 1
    assert stats.build_errors == 0


@PROPERTY
@given(payload=payloads, failed=st.booleans())
def test_the_fast_line_is_the_encoded_record(payload: object, failed: bool) -> None:
    facts = read_facts(payload, failed=failed)
    for key_dimensions in (True, False):
        settings_ = MetricsSettings(key_dimensions=key_dimensions, service="svc-\x7e!")
        at = time.time()
        assert render_line(facts, settings_, now=at) == encode_record(build_record(facts, settings_, now=at))
