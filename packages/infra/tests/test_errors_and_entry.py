"""A user's mistake ends in one message naming it, never a traceback; importing the package changes nothing.

Every error infra raises for a bad input is an :class:`InfraError` (still a ``ValueError``, as before),
which the CLI prints as ``bedrockgate-infra: <message>`` with exit code 1. The package's import sets
no environment variable (jsii's Node.js is chosen by the entry points), and its version is the
installed distribution's.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import bedrockgate.infra
import pytest
import yaml
from bedrockgate.infra import exceptions
from bedrockgate.infra.cli import main
from bedrockgate.infra.exceptions import InfraError

DEV_SETTINGS = Path(__file__).resolve().parents[1] / "settings" / "dev.yaml"
CLI = Path(sys.executable).parent / "bedrockgate-infra"


def _settings_file(tmp_path: Path, **changes: object) -> Path:
    """dev.yaml with ``changes``, written to ``tmp_path`` (its gateway config path made absolute)."""
    data = yaml.safe_load(DEV_SETTINGS.read_text(encoding="utf-8"))
    data["gateway_config"] = str((DEV_SETTINGS.parent / data["gateway_config"]).resolve())
    data.update(changes)
    file = tmp_path / "settings.yaml"
    file.write_text(yaml.safe_dump(data), encoding="utf-8")
    return file


@pytest.mark.parametrize("name", [name for name in exceptions.__all__ if name != "InfraError"])
def test_every_error_is_an_infra_error_and_still_a_value_error(name: str) -> None:
    error = getattr(exceptions, name)
    assert issubclass(error, InfraError)
    assert issubclass(error, ValueError)


def test_the_installed_command_reports_a_bad_settings_file_in_one_message(tmp_path: Path) -> None:
    settings = _settings_file(tmp_path, region="moon-base-1", gateway_max_tasks=0)
    run = subprocess.run(
        [str(CLI), "synth", "--settings", str(settings), "--out", str(tmp_path / "out"), "-c", "synth_only=true"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    assert run.stderr.startswith(f"bedrockgate-infra: {settings}: deployment settings are invalid:")
    assert "region: Value error, 'moon-base-1' is not an AWS Region code such as us-east-1" in run.stderr
    assert "gateway_max_tasks" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


def test_a_chatbot_model_the_config_lacks_is_a_message_not_a_traceback(
    tmp_path: Path, lambda_zip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before issue 17 this was a bare ValueError, which the CLI did not catch.
    settings = _settings_file(tmp_path, chatbot={"model": "gpt-9", "lambda_asset": str(lambda_zip)})
    code = main(["synth", "--settings", str(settings), "--out", str(tmp_path / "out"), "-c", "synth_only=true"])
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith("bedrockgate-infra: chatbot.model 'gpt-9' is not a model group of the gateway config;")
    assert "choose one of" in error
    assert "Traceback" not in error


def test_importing_the_package_sets_no_environment_variable() -> None:
    code = (
        "import json, os; before = dict(os.environ); "
        "import bedrockgate.infra, bedrockgate.infra.cli, bedrockgate.infra.__main__, bedrockgate.infra.settings; "
        "print(json.dumps([before == dict(os.environ), os.environ.get('JSII_NODE')]))"
    )
    environment = {key: value for key, value in os.environ.items() if key != "JSII_NODE"}
    run = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(run.stdout) == [True, None]


def test_the_version_is_the_installed_distributions() -> None:
    assert bedrockgate.infra.__version__ == importlib.metadata.version("bedrockgate-infra")
