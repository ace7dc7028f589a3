"""Each deployment's model against LiteLLM's map: unknown is a warning, deprecated an error, soon a warning."""

from __future__ import annotations

import io
import json
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest
from bedrockgate.gateway_config import (
    WARNING_DAYS,
    CheckReport,
    ConfigValidationError,
    GatewayConfig,
    Problem,
    Severity,
    check_text,
    deprecation_severity,
    loads,
    lookup_model,
    validate,
)
from bedrockgate.gateway_config.cli import main
from bedrockgate.gateway_config.model_map import model_map
from gateway_config_helpers import EXAMPLES, TODAY, fixed_clock
from hypothesis import given, settings
from hypothesis import strategies as st

# Dated entries of LiteLLM 1.106.2's map, and one id it does not know (its cost is recorded as 0).
SONNET_4 = "bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0"  # deprecation_date 2026-10-14
SONNET_4_RETIRED = date(2026, 10, 14)
OPUS_4_1 = "bedrock/us.anthropic.claude-opus-4-1-20250805-v1:0"  # deprecation_date 2027-01-08
OPUS_4_1_RETIRES = date(2027, 1, 8)
UNKNOWN = "bedrock/anthropic.claude-3-haiku-20240307-v1:0"
CURRENT = "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0"  # no deprecation_date

PROPERTY = settings(max_examples=200, deadline=None)


def config_with(model: str, extra: str = "") -> str:
    return textwrap.dedent(
        f"""\
        model_list:
          - model_name: chat
            litellm_params:
              model: {model}
              aws_region_name: os.environ/AWS_REGION
        """
    ) + textwrap.indent(textwrap.dedent(extra), "    ")


def check_on(model: str, today: date, extra: str = "") -> CheckReport:
    return check_text(config_with(model, extra), source="c.yaml", clock=lambda: today)


def findings(report: CheckReport) -> list[tuple[Severity, str]]:
    return [(problem.severity, problem.message) for problem in (*report.problems, *report.warnings)]


def test_the_dated_ids_these_tests_use_are_in_the_map() -> None:
    sonnet, opus = lookup_model(SONNET_4), lookup_model(OPUS_4_1)
    assert sonnet is not None
    assert sonnet.deprecation_date == SONNET_4_RETIRED
    assert opus is not None
    assert opus.deprecation_date == OPUS_4_1_RETIRES
    assert lookup_model(UNKNOWN) is None
    current = lookup_model(CURRENT)
    assert current is not None
    assert current.deprecation_date is None


# --- the three severities ------------------------------------------------------------------------


def test_a_current_model_has_no_finding() -> None:
    report = check_on(CURRENT, TODAY)
    assert report.ok
    assert report.warnings == ()


def test_an_unknown_model_is_a_warning_that_says_cost_and_context_window_are_unknown() -> None:
    report = check_on(UNKNOWN, TODAY)
    assert report.ok
    assert report.config is not None
    [warning] = report.warnings
    assert warning.severity is Severity.WARNING
    assert (warning.line, warning.dotted_path) == (4, "model_list.0.litellm_params.model")
    assert "'bedrock/anthropic.claude-3-haiku-20240307-v1:0' is not in LiteLLM 1.106.2's model map" in warning.message
    assert "cost is unknown: requests are recorded at cost 0" in warning.message
    assert "context window is unknown" in warning.message
    assert str(warning).startswith("c.yaml:4: model_list.0.litellm_params.model: warning: deployment 'chat': ")


def test_a_deprecated_model_is_an_error_naming_the_date_and_the_deployment() -> None:
    report = check_on(SONNET_4, date(2026, 12, 1))
    assert not report.ok
    assert report.config is None
    [error] = report.problems
    assert error.severity is Severity.ERROR
    assert str(error).startswith(
        f"c.yaml:4: model_list.0.litellm_params.model: deployment 'chat': '{SONNET_4}' is deprecated since 2026-10-14"
    )
    with pytest.raises(ConfigValidationError, match="deprecated since 2026-10-14"):
        loads(config_with(SONNET_4), clock=lambda: date(2026, 12, 1))


def test_a_model_deprecated_within_90_days_is_a_warning_naming_the_date() -> None:
    report = check_on(OPUS_4_1, date(2026, 12, 1))
    assert report.ok
    [warning] = report.warnings
    assert "is deprecated on 2027-01-08, in 38 days" in warning.message
    assert loads(config_with(OPUS_4_1), clock=lambda: date(2026, 12, 1)).model_groups() == ["chat"]


# --- the 90-day boundary and the clock -----------------------------------------------------------


@pytest.mark.parametrize(
    ("days_before", "expected"),
    [
        (WARNING_DAYS + 1, None),
        (WARNING_DAYS, Severity.WARNING),
        (WARNING_DAYS - 1, Severity.WARNING),
        (1, Severity.WARNING),
        (0, Severity.ERROR),
        (-1, Severity.ERROR),
    ],
)
def test_the_90_day_boundary(days_before: int, expected: Severity | None) -> None:
    today = OPUS_4_1_RETIRES - timedelta(days=days_before)
    assert deprecation_severity(OPUS_4_1_RETIRES, today=today) is expected
    assert [severity for severity, _ in findings(check_on(OPUS_4_1, today))] == ([] if expected is None else [expected])


def test_the_same_config_on_three_clocks() -> None:
    text = config_with(OPUS_4_1)
    days = iter([date(2026, 9, 1), date(2026, 12, 1), date(2027, 2, 1)])
    clock_reads: list[date] = []

    def clock() -> date:
        clock_reads.append(next(days))
        return clock_reads[-1]

    reports = [check_text(text, clock=clock) for _ in range(3)]
    assert clock_reads == [date(2026, 9, 1), date(2026, 12, 1), date(2027, 2, 1)]  # read once per check
    assert [(report.ok, len(report.warnings)) for report in reports] == [(True, 0), (True, 1), (False, 0)]


def test_the_default_clock_is_today() -> None:
    far = date.today() + timedelta(days=WARNING_DAYS + 400)
    assert check_text(config_with(OPUS_4_1)).ok == (date.today() < OPUS_4_1_RETIRES)
    assert check_text(config_with(OPUS_4_1), clock=lambda: far).ok is (far < OPUS_4_1_RETIRES)


# --- how ids are looked up -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0",
        "bedrock/converse/us.anthropic.claude-sonnet-4-20250514-v1:0",
        "bedrock/invoke/us.anthropic.claude-sonnet-4-20250514-v1:0",
        "bedrock/anthropic.claude-sonnet-4-20250514-v1:0",
        "bedrock/global.anthropic.claude-sonnet-4-20250514-v1:0",
        "bedrock/US.Anthropic.Claude-Sonnet-4-20250514-V1:0",  # LiteLLM's lookup ignores case
    ],
)
def test_route_and_inference_profile_prefixes_find_the_dated_entry(model: str) -> None:
    [error] = check_on(model, date(2026, 12, 1)).problems
    assert "deprecated since 2026-10-14" in error.message


def test_a_profile_the_map_lists_only_as_its_base_model_takes_the_base_models_entry() -> None:
    entry = lookup_model("bedrock/apac.meta.llama3-2-1b-instruct-v1:0")  # no apac. row: LiteLLM uses the base row
    assert entry is not None
    assert entry.key == "meta.llama3-2-1b-instruct-v1:0"
    [error] = check_on("bedrock/apac.meta.llama3-2-1b-instruct-v1:0", date(2026, 12, 1)).problems
    assert "(as 'meta.llama3-2-1b-instruct-v1:0')" in error.message


def test_a_base_model_prices_an_inference_profile_arn() -> None:
    arn = "bedrock/arn:aws:bedrock:us-east-1:111111111111:application-inference-profile/abc"
    assert [severity for severity, _ in findings(check_on(arn, TODAY))] == [Severity.WARNING]
    with_base = "model_info:\n  base_model: us.anthropic.claude-haiku-4-5-20251001-v1:0\n"
    assert findings(check_on(arn, TODAY, with_base)) == []
    retired_base = "model_info:\n  base_model: bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0\n"
    [error] = check_on(arn, date(2026, 12, 1), retired_base).problems
    assert error.dotted_path == "model_list.0.model_info.base_model"


def test_own_prices_and_context_window_leave_nothing_unknown() -> None:
    priced = "      input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002\n"
    text = config_with(UNKNOWN) + priced
    report = check_text(text, clock=fixed_clock)
    assert report.ok, report.problems
    [warning] = report.warnings
    assert "cost is unknown" not in warning.message
    assert "context window is unknown" in warning.message
    window = text + "    model_info:\n      max_input_tokens: 100000\n"
    assert check_text(window, clock=fixed_clock).warnings == ()


def test_other_providers_are_not_looked_up() -> None:
    report = check_text(config_with("openai/gpt-4o"), clock=fixed_clock, policies=())
    assert report.ok
    assert report.warnings == ()


def test_validate_raises_for_a_deprecated_model_and_passes_warnings() -> None:
    retired = GatewayConfig.model_validate(
        {"model_list": [{"model_name": "chat", "litellm_params": {"model": SONNET_4}}]}
    )
    with pytest.raises(ConfigValidationError, match="deprecated since 2026-10-14"):
        validate(retired, clock=lambda: date(2026, 12, 1))
    unknown = GatewayConfig.model_validate(
        {"model_list": [{"model_name": "chat", "litellm_params": {"model": UNKNOWN}}]}
    )
    assert validate(unknown, clock=fixed_clock) is unknown


def test_problem_keeps_its_positional_form_and_error_default() -> None:
    problem = Problem(("model_list", 0), "broken", 3, "c.yaml")
    assert problem.severity is Severity.ERROR
    assert str(problem) == "c.yaml:3: model_list.0: broken"


# --- the CLI -------------------------------------------------------------------------------------


def run(*argv: str, today: date = TODAY) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out, clock=lambda: today), out.getvalue()


def test_warnings_print_and_exit_0_unless_strict(tmp_path: Path) -> None:
    path = tmp_path / "unknown.yaml"
    path.write_text(config_with(UNKNOWN), encoding="utf-8")
    code, output = run("validate", str(path))
    assert code == 0
    assert output.splitlines()[0] == f"{path}: OK (1 deployments in 1 model groups; 1 warning)"
    assert f"{path}:4: model_list.0.litellm_params.model: warning: " in output
    code, output = run("validate", "--strict", str(path))
    assert code == 1
    assert output.splitlines()[0] == f"{path}: FAILED under --strict (1 deployments in 1 model groups; 1 warning)"


def test_strict_passes_a_config_without_warnings_and_errors_fail_either_way(tmp_path: Path) -> None:
    current, retired = tmp_path / "current.yaml", tmp_path / "retired.yaml"
    current.write_text(config_with(CURRENT), encoding="utf-8")
    retired.write_text(config_with(SONNET_4), encoding="utf-8")
    assert run("validate", "--strict", str(current))[0] == 0
    assert run("validate", str(retired), today=date(2026, 12, 1))[0] == 1
    assert run("validate", "--strict", str(retired), today=date(2026, 12, 1))[0] == 1
    assert run("validate", str(retired), today=date(2026, 1, 1))[0] == 0


def test_json_lists_warnings_apart_and_valid_follows_strict(tmp_path: Path) -> None:
    path = tmp_path / "unknown.yaml"
    path.write_text(config_with(UNKNOWN), encoding="utf-8")
    [lenient] = json.loads(run("validate", "--format", "json", str(path))[1])
    [strict] = json.loads(run("validate", "--format", "json", "--strict", str(path))[1])
    assert (lenient["valid"], strict["valid"]) == (True, False)
    assert lenient["problems"] == []
    assert [warning["path"] for warning in lenient["warnings"]] == ["model_list.0.litellm_params.model"]


def test_the_examples_validate_strictly_with_no_warning() -> None:
    code, output = run("validate", "--strict", *map(str, EXAMPLES))
    assert code == 0, output
    assert "warning" not in output


# --- properties ----------------------------------------------------------------------------------

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@PROPERTY
@given(deprecation=dates, today=dates)
def test_severity_is_exactly_the_documented_one(deprecation: date, today: date) -> None:
    if today >= deprecation:
        expected: Severity | None = Severity.ERROR
    elif today + timedelta(days=WARNING_DAYS) >= deprecation:
        expected = Severity.WARNING
    else:
        expected = None
    assert deprecation_severity(deprecation, today=today) is expected


DATED = sorted(key for key, entry in model_map().entries.items() if entry.deprecation_date is not None)


@PROPERTY
@given(key=st.sampled_from(DATED), route=st.sampled_from(["", "converse/", "invoke/"]), today=dates)
def test_every_dated_entry_gets_its_documented_severity_in_a_config(key: str, route: str, today: date) -> None:
    # A Region-qualified row (bedrock/us-east-1/...) is found as written; LiteLLM finds no route form of it either.
    model = f"bedrock/{key.removeprefix('bedrock/')}" if "/" in key else f"bedrock/{route}{key}"
    entry = lookup_model(model)
    assert entry is not None
    assert entry.deprecation_date is not None
    expected = deprecation_severity(entry.deprecation_date, today=today)
    report = check_on(model, today)
    assert [severity for severity, _ in findings(report)] == ([] if expected is None else [expected])
    assert report.ok is (expected is not Severity.ERROR)


model_ids = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789.-:/_[]@"), min_size=1, max_size=60
).map(lambda text: "bedrock/" + text)


@PROPERTY
@given(model=model_ids, today=dates)
def test_an_unknown_id_is_never_an_error(model: str, today: date) -> None:
    text = config_with(json.dumps(model))
    report = check_text(text, clock=lambda: today)
    if lookup_model(model) is None:
        assert report.ok, report.problems
        assert [problem.severity for problem in report.warnings] == [Severity.WARNING]
        assert report.passes()
        assert not report.passes(strict=True)
