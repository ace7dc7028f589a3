"""The CLI's exit codes and output formats, as CI and editors read them."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from bedrockgate.gateway_config.cli import main
from gateway_config_helpers import EXAMPLES, MINIMAL, fixed_clock

BROKEN = MINIMAL + "router_settings:\n  retry_afterr: 5\ngeneral_settings:\n  master_key: sk-plain\n"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdout=out, clock=fixed_clock)
    return code, out.getvalue()


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_validate_exits_0_for_valid_configs() -> None:
    code, output = run("validate", *map(str, EXAMPLES))
    assert code == 0
    assert output.count(": OK (") == len(EXAMPLES)


def test_validate_exits_1_and_prints_file_line_path_message(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", BROKEN)
    code, output = run("validate", path)
    assert code == 1
    lines = output.splitlines()
    assert lines == [
        f"{path}:7: router_settings.retry_afterr: unknown key 'retry_afterr' in router_settings; "
        "did you mean 'retry_after'?",
        lines[1],
    ]
    assert re.fullmatch(rf"{re.escape(path)}:9: general_settings\.master_key: .+", lines[1])
    assert "sk-plain" not in output


def test_validate_exits_1_when_any_of_several_configs_is_broken(tmp_path: Path) -> None:
    code, _ = run("validate", str(EXAMPLES[0]), write(tmp_path, "broken.yaml", BROKEN))
    assert code == 1


def test_validate_json_format(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", BROKEN)
    code, output = run("validate", "--format", "json", path)
    assert code == 1
    [report] = json.loads(output)
    assert report["file"] == path
    assert report["valid"] is False
    assert [problem["path"] for problem in report["problems"]] == [
        "router_settings.retry_afterr",
        "general_settings.master_key",
    ]
    assert report["problems"][0]["line"] == 7


def test_policies_can_be_switched_off(tmp_path: Path) -> None:
    path = write(tmp_path, "plain.yaml", MINIMAL + "general_settings:\n  master_key: sk-plain\n")
    assert run("validate", path)[0] == 1
    assert run("validate", "--no-policy", "secrets-by-reference", path)[0] == 0
    assert run("validate", "--policy", "bedrock-only", path)[0] == 0
    assert run("validate", "--policy", "none", path)[0] == 0


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    code, output = run("validate", str(tmp_path / "missing.yaml"))
    assert code == 1
    assert "cannot read the file" in output


def test_bad_command_line_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate", "--format", "xml", "c.yaml"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_render_prints_yaml_that_validates_again(tmp_path: Path) -> None:
    code, output = run("render", str(EXAMPLES[0]))
    assert code == 0
    assert run("validate", write(tmp_path, "again.yaml", output))[0] == 0
    assert "os.environ/AWS_REGION" in output


def test_render_refuses_a_broken_config(tmp_path: Path) -> None:
    code, output = run("render", write(tmp_path, "broken.yaml", BROKEN))
    assert code == 1
    assert "retry_afterr" in output


def test_schema_is_json_with_every_section() -> None:
    code, output = run("schema")
    assert code == 0
    schema = json.loads(output)
    assert set(schema["properties"]) >= {
        "model_list",
        "router_settings",
        "litellm_settings",
        "general_settings",
        "guardrails",
        "environment_variables",
    }
    router = schema["$defs"]["RouterSettings"]
    assert "<passthrough>" not in router["properties"]
    assert router["additionalProperties"] is False
    assert "retry_policy" in router["properties"]  # a LiteLLM key passed through untyped


def test_env_lists_each_variable_once_with_its_kind(tmp_path: Path) -> None:
    text = MINIMAL + "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n"
    code, output = run("env", write(tmp_path, "c.yaml", text))
    assert code == 0
    rows = [line.split("\t") for line in output.splitlines()]
    assert [(name, kind) for name, kind, _ in rows] == [
        ("AWS_REGION", "plain"),
        ("LITELLM_MASTER_KEY", "secret"),
    ]


def test_env_json(tmp_path: Path) -> None:
    code, output = run("env", "--format", "json", write(tmp_path, "c.yaml", MINIMAL))
    assert code == 0
    [entry] = json.loads(output)
    assert entry["name"] == "AWS_REGION"
    assert entry["secret"] is False
    assert entry["paths"] == [f"{tmp_path / 'c.yaml'}:model_list.0.litellm_params.aws_region_name"]
