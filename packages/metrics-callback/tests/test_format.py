"""The record's format: the EMF specification, the reference design's fields and metric filters."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
import time

import bedrockgate.metrics_callback
import bedrockgate.metrics_callback.emf
import pytest
from bedrockgate.metrics_callback import (
    METRICS,
    REFERENCE_FIELDS,
    MetricsSettings,
    SettingsError,
    build_record,
    encode_record,
    format_record,
    read_facts,
)
from bedrockgate.metrics_callback.emf import render_line
from emf_spec import emf_problems
from metric_filters import compile_filter, matches, metric_value
from metrics_helpers import CANARIES
from payloads import failure_payload, success_payload

SETTINGS = MetricsSettings()

# The reference design's metric filters (one per CloudWatch metric it publishes) and the fields
# its numeric metrics read with metricValue "$.field".
REFERENCE_FILTERS = {
    "RequestCount": "{ $.litellm_metric IS TRUE }",
    "SuccessfulRequests": "{ $.litellm_metric IS TRUE && $.status_code = 200 }",
    "RequestErrors": "{ $.litellm_metric IS TRUE && $.status_code >= 400 }",
}
REFERENCE_VALUES = (
    "$.prompt_tokens",
    "$.completion_tokens",
    "$.total_tokens",
    "$.response_cost",
    "$.response_time_ms",
)


def line_for(payload: object, *, failed: bool = False, settings: MetricsSettings = SETTINGS) -> str:
    return format_record(payload, failed=failed, settings=settings)


def test_a_success_is_one_valid_emf_document_with_every_metric() -> None:
    line = line_for(success_payload())
    assert emf_problems(line) == []
    record = json.loads(line)
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "BedrockGate"
    assert directive["Dimensions"] == [
        ["Service"],
        ["Service", "ModelGroup"],
        ["Service", "KeyAlias"],
        ["Service", "Team"],
    ]
    names = [metric["Name"] for metric in directive["Metrics"]]
    assert names == [m.name for m in METRICS if m.name != "TimeToFirstTokenMs"]
    assert {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}["ResponseTimeMs"] == "Milliseconds"
    assert record["Service"] == "bedrockgate-gateway"
    assert record["ModelGroup"] == "claude-fast"
    assert record["KeyAlias"] == "agent-support"
    assert record["Team"] == "team-support"
    assert (record["RequestCount"], record["RequestErrors"]) == (1, 0)
    assert (record["InputTokens"], record["OutputTokens"], record["TotalTokens"]) == (10, 20, 30)
    assert record["ResponseCostUSD"] == pytest.approx(1.35e-05)
    assert record["ResponseTimeMs"] == pytest.approx(250, abs=1)
    assert (record["GuardrailInterventions"], record["FallbackCount"]) == (0, 0)
    assert abs(record["_aws"]["Timestamp"] / 1000 - time.time()) < 60


def test_the_reference_fields_are_all_there_with_their_types() -> None:
    record = json.loads(line_for(success_payload()))
    assert set(REFERENCE_FIELDS) <= set(record)
    assert record["litellm_metric"] is True
    assert record["model"] == "claude-fast"
    assert record["provider_model"] == "bedrock/anthropic.claude-3-haiku-20240307-v1:0"
    assert (record["prompt_tokens"], record["completion_tokens"], record["total_tokens"]) == (10, 20, 30)
    assert record["response_cost"] == pytest.approx(1.35e-05)
    assert isinstance(record["response_time_ms"], int)
    assert record["status_code"] == 200
    assert record["timestamp"].endswith("+00:00")
    assert "error" not in record
    assert record["status"] == "success"


def test_a_failure_carries_its_status_code_and_error_class_never_its_message() -> None:
    line = line_for(failure_payload(), failed=True)
    assert emf_problems(line) == []
    record = json.loads(line)
    assert (record["RequestCount"], record["RequestErrors"]) == (1, 1)
    assert record["status_code"] == 429
    assert record["error"] == "RateLimitError"
    assert record["error_category"] == "429_RATE_LIMIT_EXCEEDED"
    assert record["status"] == "failure"
    assert record["ResponseCostUSD"] == 0.0
    for canary in CANARIES:
        assert canary not in line


def test_no_private_field_reaches_a_record_on_success() -> None:
    line = line_for(success_payload())
    for canary in CANARIES:
        assert canary not in line
    assert "someone@example.com" not in line


@pytest.mark.parametrize(
    ("error_code", "status"),
    [("429", 429), ("400", 400), (503, 503), ("", 500), (None, 500), ("200", 500), ("abc", 500), ("99999", 500)],
)
def test_the_status_code_of_a_failure_is_the_error_code_when_it_is_an_http_error(
    error_code: object, status: int
) -> None:
    payload = failure_payload(error_information={"error_code": error_code, "error_class": "APIError"})
    assert json.loads(line_for(payload, failed=True))["status_code"] == status


def test_a_streamed_request_adds_time_to_first_token() -> None:
    now = time.time()
    payload = success_payload(stream=True, startTime=now - 2.0, completionStartTime=now - 1.5, endTime=now)
    line = line_for(payload)
    assert emf_problems(line) == []
    record = json.loads(line)
    assert record["TimeToFirstTokenMs"] == pytest.approx(500, abs=1)
    assert record["ResponseTimeMs"] == pytest.approx(2000, abs=1)
    assert {"Name": "TimeToFirstTokenMs", "Unit": "Milliseconds"} in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    assert record["stream"] is True


@pytest.mark.parametrize("first_chunk_offset", [-3.0, 1.0])  # before the start, after the end
def test_an_impossible_first_chunk_time_gives_no_time_to_first_token(first_chunk_offset: float) -> None:
    now = time.time()
    payload = success_payload(
        stream=True, startTime=now - 2.0, completionStartTime=now + first_chunk_offset, endTime=now
    )
    record = json.loads(line_for(payload))
    assert "TimeToFirstTokenMs" not in record
    assert "TimeToFirstTokenMs" not in [m["Name"] for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]]


@pytest.mark.parametrize(
    ("metadata", "key_dimensions", "expected"),
    [
        ({"user_api_key_alias": "a", "user_api_key_team_alias": "t"}, True, ["KeyAlias", "Team"]),
        ({"user_api_key_alias": "a"}, True, ["KeyAlias"]),
        ({"user_api_key_team_id": "team-uuid"}, True, ["Team"]),
        ({"team_alias": "t2"}, True, ["Team"]),
        ({"user_api_key_alias": None, "user_api_key_team_alias": "  "}, True, []),
        ({}, True, []),
        ({"user_api_key_alias": "a", "user_api_key_team_alias": "t"}, False, []),
    ],
)
def test_key_and_team_dimension_sets_appear_only_with_their_values(
    metadata: dict[str, object], key_dimensions: bool, expected: list[str]
) -> None:
    settings = MetricsSettings(key_dimensions=key_dimensions)
    line = line_for(success_payload(metadata=metadata), settings=settings)
    assert emf_problems(line) == []
    record = json.loads(line)
    sets = record["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert sets == [["Service"], ["Service", "ModelGroup"]] + [["Service", key] for key in expected]
    for key in ("KeyAlias", "Team"):
        assert (key in record) == (key in expected)


def test_the_model_that_served_a_fallback_is_recorded_with_the_hops() -> None:
    payload = success_payload(
        model_group="claude-backup",
        model="bedrock/anthropic.claude-3-sonnet-20240229-v1:0",
        hidden_params={"additional_headers": {"x-litellm-attempted-fallbacks": 1, "x-litellm-attempted-retries": 2}},
    )
    record = json.loads(line_for(payload))
    assert (record["ModelGroup"], record["model"]) == ("claude-backup", "claude-backup")
    assert record["provider_model"] == "bedrock/anthropic.claude-3-sonnet-20240229-v1:0"
    assert record["FallbackCount"] == 1
    assert record["retries"] == 2


@pytest.mark.parametrize(
    ("status_fields", "information", "intervened"),
    [
        ({"guardrail_status": "guardrail_intervened"}, None, 1),
        ({"guardrail_status": "success"}, [{"guardrail_status": "success"}], 0),
        (None, [{"guardrail_name": "legacy", "guardrail_status": "blocked"}], 1),
        ({"guardrail_status": "not_run"}, [{"guardrail_status": ["not", "a", "string"]}], 0),
        ({"guardrail_status": "guardrail_flagged"}, None, 0),
    ],
)
def test_guardrail_interventions_are_counted(status_fields: object, information: object, intervened: int) -> None:
    payload = success_payload(status_fields=status_fields, guardrail_information=information)
    assert json.loads(line_for(payload))["GuardrailInterventions"] == intervened


def test_a_cache_hit_is_flagged() -> None:
    record = json.loads(line_for(success_payload(cache_hit=True, response_cost=0.0)))
    assert record["cache_hit"] is True
    assert record["ResponseCostUSD"] == 0.0


def test_a_payload_without_a_model_group_uses_the_model() -> None:
    record = json.loads(line_for(success_payload(model_group="", model="gpt-4o-mini")))
    assert record["ModelGroup"] == record["model"] == "gpt-4o-mini"


@pytest.mark.parametrize("payload", [None, {}, [], "text", 42, {"standard_logging_object": None}])
def test_a_missing_payload_still_counts_the_request(payload: object) -> None:
    line = line_for(payload, failed=True)
    assert emf_problems(line) == []
    record = json.loads(line)
    assert (record["ModelGroup"], record["RequestCount"], record["RequestErrors"]) == ("unknown", 1, 1)
    assert (record["status_code"], record["error"]) == (500, "UnknownError")


@pytest.mark.parametrize("offset_s", [-30 * 24 * 3600, 6 * 3600])
def test_an_end_time_cloudwatch_would_reject_is_replaced_by_now(offset_s: float) -> None:
    now = time.time()
    facts = read_facts(success_payload(startTime=now + offset_s - 1, endTime=now + offset_s), failed=False)
    record = build_record(facts, SETTINGS, now=now)
    assert record["_aws"]["Timestamp"] == int(now * 1000)  # type: ignore[index]


def test_the_fast_line_equals_the_encoded_record() -> None:
    now = time.time()
    for payload, failed in ((success_payload(), False), (failure_payload(), True), ({}, False)):
        facts = read_facts(payload, failed=failed)
        assert render_line(facts, SETTINGS, now=now) == encode_record(build_record(facts, SETTINGS, now=now))


@pytest.mark.parametrize(
    ("payload", "failed", "expected"),
    [
        (success_payload(), False, {"RequestCount": True, "SuccessfulRequests": True, "RequestErrors": False}),
        (failure_payload(), True, {"RequestCount": True, "SuccessfulRequests": False, "RequestErrors": True}),
        ({}, True, {"RequestCount": True, "SuccessfulRequests": False, "RequestErrors": True}),
    ],
)
def test_the_reference_metric_filters_match_as_they_did(
    payload: object, failed: bool, expected: dict[str, bool]
) -> None:
    line = line_for(payload, failed=failed)
    assert {name: matches(pattern, line) for name, pattern in REFERENCE_FILTERS.items()} == expected
    for selector in REFERENCE_VALUES:
        assert metric_value(selector, line) is not None, selector


def test_the_filter_evaluator_reads_the_pattern_language() -> None:
    line = json.dumps({"a": {"b": 3}, "s": "claude-fast", "t": True, "n": None, "q": "5"})
    assert matches("{ $.a.b = 3 }", line)
    assert matches("{ $.a.b >= 3 && $.a.b < 4 }", line)
    assert matches('{ $.s = "claude*" }', line)
    assert not matches('{ $.s != "claude*" }', line)
    assert matches("{ ($.a.b > 9) || $.t IS TRUE }", line)
    assert matches("{ $.n IS NULL }", line)
    assert matches("{ $.missing NOT EXISTS }", line)
    assert matches('{ $.s = "*" }', line)
    assert not matches("{ $.q = 5 }", line)  # a number filter does not match a string
    assert not matches("{ $.t IS FALSE }", line)
    assert not matches("{ $.litellm_metric IS TRUE }", "not json")
    for broken in ("$.a = 1", "{ $.a ~ 1 }", "{ $.a = }", "{ ($.a = 1 }", '{ $.a > "x" }'):
        with pytest.raises(ValueError, match=r"\w"):
            compile_filter(broken)


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda r: r.pop("ModelGroup"), "dimension 'ModelGroup' is not a member"),
        (lambda r: r.update(ModelGroup=5), "must have a string value"),
        (lambda r: r.update(InputTokens=True), "must be a number"),
        (lambda r: r.update(InputTokens="10"), "must be a number"),
        (lambda r: r["_aws"]["CloudWatchMetrics"][0]["Metrics"].append({"Name": "X", "Unit": "Furlongs"}), "not a Cl"),
        (lambda r: r["_aws"].update(Timestamp="now"), "Timestamp"),
        (lambda r: r["_aws"]["CloudWatchMetrics"][0].update(Dimensions=[]), "non-empty array"),
        (lambda r: r["_aws"]["CloudWatchMetrics"][0]["Metrics"].extend({"Name": f"M{i}"} for i in range(100)), "over"),
    ],
)
def test_the_emf_check_finds_what_the_specification_forbids(mutate: object, problem: str) -> None:
    record = json.loads(line_for(success_payload()))
    for index in range(100):
        record[f"M{index}"] = 1
    assert callable(mutate)
    mutate(record)
    problems = emf_problems(json.dumps(record))
    assert any(problem in p for p in problems), problems


def test_the_emf_check_refuses_non_json_and_nan() -> None:
    assert emf_problems('{"_aws": {}} trailing') != []
    assert emf_problems('{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"x":NaN}') != []
    assert emf_problems("[]") == ["the root is not a JSON object"]


def test_settings_come_from_the_environment() -> None:
    settings = MetricsSettings.from_env(
        {
            "BEDROCKGATE_METRICS_NAMESPACE": "Gateway/Prod",
            "BEDROCKGATE_METRICS_SERVICE": "gateway-prod",
            "BEDROCKGATE_METRICS_KEY_DIMENSIONS": "off",
            "BEDROCKGATE_METRICS_EMF": "YES",
            "BEDROCKGATE_METRICS_OTEL": "1",
            "BEDROCKGATE_METRICS_QUEUE_SIZE": " 500 ",
        }
    )
    assert settings == MetricsSettings("Gateway/Prod", "gateway-prod", False, True, True, 500)
    assert MetricsSettings.from_env({}) == MetricsSettings()
    assert MetricsSettings.from_env({"BEDROCKGATE_METRICS_OTEL": ""}) == MetricsSettings()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NAMESPACE", "", "is not a CloudWatch namespace"),
        ("NAMESPACE", ":Gateway", "is not a CloudWatch namespace"),
        ("NAMESPACE", "has space", "is not a CloudWatch namespace"),
        ("SERVICE", "é", "cannot be a CloudWatch dimension value"),
        ("SERVICE", "   ", "cannot be a CloudWatch dimension value"),
        ("KEY_DIMENSIONS", "maybe", "is not a switch: use one of true/false"),
        ("QUEUE_SIZE", "ten", "is not a whole number"),
        ("QUEUE_SIZE", "0", "is out of range"),
    ],
)
def test_a_bad_setting_names_the_variable_and_what_it_accepts(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        MetricsSettings.from_env({f"BEDROCKGATE_METRICS_{variable}": value})
    assert f"BEDROCKGATE_METRICS_{variable}=" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_the_examples_in_the_docstrings_run() -> None:
    for module in (bedrockgate.metrics_callback, bedrockgate.metrics_callback.emf):
        result = doctest.testmod(module)
        assert result.failed == 0
        assert result.attempted > 0


def test_the_package_imports_and_formats_without_litellm() -> None:
    # An import hook that refuses litellm stands for an environment where it is not installed.
    script = (
        "import sys\n"
        "sys.modules['litellm'] = None\n"
        "import bedrockgate.metrics_callback as m\n"
        "from bedrockgate.metrics_callback import format_record, metrics_logger\n"
        "assert 'litellm' not in str(type(metrics_logger).__mro__)\n"
        "metrics_logger.log_success_event({'standard_logging_object': {'model_group': 'g'}}, None, None, None)\n"
        "assert metrics_logger.flush(5)\n"
        "print(format_record({'model_group': 'g'}))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 2
    assert all(emf_problems(line) == [] for line in lines)


def test_importing_the_package_does_not_import_litellm() -> None:
    script = (
        "import sys, bedrockgate.metrics_callback\nprint(sorted(m for m in sys.modules if m.startswith('litellm')))"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
