"""The optional OpenTelemetry metrics, read back with the SDK's in-memory reader."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import litellm
import pytest
from bedrockgate.metrics_callback import MetricsSettings
from bedrockgate.metrics_callback.logger import MetricsLogger
from bedrockgate.metrics_callback.otel import INSTRUMENT_NAMES
from litellm.exceptions import InternalServerError
from litellm.integrations.custom_logger import CustomLogger
from metrics_helpers import CANARIES, CANARY_API_KEY, CANARY_KEY_HASH, CANARY_PROMPT, LineCapture, Runner, settle
from opentelemetry import metrics as otel_metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from payloads import success_payload

MESSAGES = [{"role": "user", "content": f"hello {CANARY_PROMPT}"}]
METADATA = {"user_api_key_alias": "agent-a", "user_api_key_team_alias": "team-a", "user_api_key_hash": CANARY_KEY_HASH}
TOKEN_BOUNDS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
SECONDS_BOUNDS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)

Point = HistogramDataPoint | NumberDataPoint


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "bedrockgate.metrics_callback"
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def test_requests_become_genai_metrics(registered: Callable[[CustomLogger], None], run: Runner) -> None:
    reader = InMemoryMetricReader()
    capture = LineCapture()
    metrics = MetricsLogger(
        MetricsSettings(), meter_provider=MeterProvider(metric_readers=[reader]), stream=lambda: capture
    )
    registered(metrics)

    async def traffic() -> None:
        await litellm.acompletion(
            model="openai/gpt-4o-mini",
            messages=MESSAGES,
            mock_response="hi there",
            metadata=METADATA,
            api_key=CANARY_API_KEY,
        )
        with pytest.raises(InternalServerError):
            await litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response=Exception("down"))
        chunks = await litellm.acompletion(
            model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="a b c", stream=True
        )
        async for _ in chunks:
            pass

    try:
        run(traffic())
        run(settle(metrics, 3))
        points = _points(reader)
    finally:
        metrics.close(timeout=5)
    assert set(points) <= set(INSTRUMENT_NAMES)
    assert {"gen_ai.client.token.usage", "gen_ai.client.operation.duration", "bedrockgate.gateway.requests"} <= set(
        points
    )

    usage = points["gen_ai.client.token.usage"]
    assert {point.attributes["gen_ai.token.type"] for point in usage} == {"input", "output"}
    assert all(tuple(point.explicit_bounds) == TOKEN_BOUNDS for point in usage)
    for token_type in ("input", "output"):  # the two successful requests, not the failure
        assert sum(point.count for point in usage if point.attributes["gen_ai.token.type"] == token_type) == 2
    [keyed_record] = [record for record in capture.records() if record.get("KeyAlias") == "agent-a"]
    keyed = {
        point.attributes["gen_ai.token.type"]: point.sum
        for point in usage
        if point.attributes.get("bedrockgate.key_alias") == "agent-a"
        and point.attributes.get("bedrockgate.team") == "team-a"
    }
    assert keyed == {"input": keyed_record["InputTokens"], "output": keyed_record["OutputTokens"]}

    durations = points["gen_ai.client.operation.duration"]
    assert sum(point.count for point in durations) == 3
    assert all(tuple(point.explicit_bounds) == SECONDS_BOUNDS for point in durations)
    failed = [point for point in durations if "error.type" in point.attributes]
    assert [point.attributes["error.type"] for point in failed] == ["InternalServerError"]
    for point in durations:
        assert point.attributes["gen_ai.operation.name"] == "chat"
        assert point.attributes["gen_ai.provider.name"] == "openai"
        assert point.attributes["gen_ai.request.model"] == "gpt-4o-mini"
        assert point.attributes["gen_ai.response.model"] == "gpt-4o-mini"

    [first_chunk] = points["gen_ai.client.operation.time_to_first_chunk"]
    assert first_chunk.count == 1
    assert sum(point.value for point in points["bedrockgate.gateway.requests"]) == 3
    assert sum(point.value for point in points["bedrockgate.gateway.cost"]) > 0

    every_value = repr([dict(point.attributes) for series in points.values() for point in series])
    for canary in CANARIES:
        assert canary not in every_value


def test_guardrail_interventions_and_fallbacks_are_counted(run: Runner) -> None:
    reader = InMemoryMetricReader()
    capture = LineCapture()
    metrics = MetricsLogger(
        MetricsSettings(), meter_provider=MeterProvider(metric_readers=[reader]), stream=lambda: capture
    )
    payload = success_payload(
        status_fields={"guardrail_status": "guardrail_intervened"},
        hidden_params={"additional_headers": {"x-litellm-attempted-fallbacks": 2}},
    )
    try:
        run(
            metrics.async_log_success_event(
                kwargs={"standard_logging_object": payload}, response_obj=None, start_time=None, end_time=None
            )
        )
        points = _points(reader)
    finally:
        metrics.close(timeout=5)
    [intervention] = points["bedrockgate.gateway.guardrail.interventions"]
    [fallbacks] = points["bedrockgate.gateway.fallbacks"]
    assert (intervention.value, fallbacks.value) == (1, 2)
    assert intervention.attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert intervention.attributes["bedrockgate.team"] == "team-support"


def test_key_attributes_follow_the_key_dimensions_setting(run: Runner) -> None:
    reader = InMemoryMetricReader()
    metrics = MetricsLogger(
        MetricsSettings(key_dimensions=False, emf=False), meter_provider=MeterProvider(metric_readers=[reader])
    )
    run(
        metrics.async_log_success_event(
            kwargs={"standard_logging_object": success_payload()}, response_obj=None, start_time=None, end_time=None
        )
    )
    [requests] = _points(reader)["bedrockgate.gateway.requests"]
    assert "bedrockgate.key_alias" not in requests.attributes
    assert "bedrockgate.team" not in requests.attributes
    assert metrics.stats().sink is None  # EMF off: OpenTelemetry only


def test_opentelemetry_is_off_unless_configured_and_then_uses_the_global_provider(run: Runner) -> None:
    assert MetricsLogger(MetricsSettings(emf=False))._otel is None
    reader = InMemoryMetricReader()
    otel_metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))  # the host's provider
    metrics = MetricsLogger(
        MetricsSettings.from_env({"BEDROCKGATE_METRICS_OTEL": "true", "BEDROCKGATE_METRICS_EMF": "false"})
    )
    run(
        metrics.async_log_success_event(
            kwargs={"standard_logging_object": success_payload()}, response_obj=None, start_time=None, end_time=None
        )
    )
    assert sum(point.value for point in _points(reader)["bedrockgate.gateway.requests"]) == 1
