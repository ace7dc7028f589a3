"""The gateway image's contract, as infra holds it up: the database switch, the health check, the CLI's errors.

The task definition's side of the contract (user, read-only root, writable paths, port, health
route) is asserted on the dev app in test_stacks.py and on 100 synthesized tasks in
test_derivation_properties.py; here are the parts that need no synth.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import aws_cdk as cdk
import pytest
import yaml
from bedrockgate.gateway_config import GatewayConfig, loads
from bedrockgate.infra import GatewayImageError, SettingsError, load_settings
from bedrockgate.infra.app import build_app
from bedrockgate.infra.cli import context_overrides, main
from bedrockgate.infra.image_contract import (
    DATABASE_LABEL,
    GATEWAY_PORT,
    GATEWAY_USER,
    GATEWAY_WRITABLE_PATHS,
    HEALTH_CHECK_COMMAND,
    HEALTH_PATH,
    ImageDatabase,
    check_image_database,
    database_uses,
    health_check_command,
)
from bedrockgate.infra.settings import DeploymentSettings, GuardrailSettings, PhoenixSettings
from bedrockgate.infra.stacks.gateway import writable_volume_name
from hypothesis import given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[3]
DEV_SETTINGS = REPO / "packages" / "infra" / "settings" / "dev.yaml"
MODEL: Final = "bedrock/anthropic.claude-3-haiku-20240307-v1:0"
NO_DATABASE: Final = f"model_list:\n  - model_name: fast\n    litellm_params:\n      model: {MODEL}\n"
DATABASE_URL_VARIABLES: Final = ("DATABASE_URL", "LITELLM_DATABASE_URL", "PG_URL")
OTHER_VARIABLES: Final = ("DATABASE_URL", "PARTNER_API_KEY", "OTHER_KEY")
IMAGE_DATABASES: Final[tuple[ImageDatabase, ...]] = ("available", "unavailable")

# --- the contract's values -----------------------------------------------------------------------


def test_the_contract_is_what_the_image_provides() -> None:
    assert GATEWAY_USER == "10001:10001"
    assert GATEWAY_WRITABLE_PATHS == ("/tmp",)  # noqa: S108  # the container's /tmp, not a file opened here
    assert (GATEWAY_PORT, HEALTH_PATH) == (4000, "/health/liveliness")
    assert DATABASE_LABEL == "bedrockgate.database"
    assert HEALTH_CHECK_COMMAND[0] == "python3"
    assert writable_volume_name("/tmp") == "writable-tmp"  # noqa: S108  # a name derived from a path, no file
    assert writable_volume_name("/var/cache/app/") == "writable-var-cache-app"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Health(http.server.BaseHTTPRequestHandler):
    """LiteLLM's liveness route, answering ``status``."""

    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == HEALTH_PATH else 404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def health_server() -> Iterator[tuple[int, type[_Health]]]:
    class Handler(_Health):
        status = 200

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), Handler
    finally:
        server.shutdown()
        server.server_close()


def _run_health_check(port: int) -> int:
    _, flag, code = health_check_command(port=port)
    return subprocess.run([sys.executable, flag, code], check=False, timeout=30, capture_output=True).returncode


def test_the_health_check_passes_only_when_the_route_answers_2xx(health_server: tuple[int, type[_Health]]) -> None:
    port, handler = health_server
    assert _run_health_check(port) == 0
    handler.status = 503
    assert _run_health_check(port) != 0
    assert _run_health_check(_free_port()) != 0  # nothing listening


# --- the database switch: a property over configs ------------------------------------------------


@st.composite
def configs(draw: st.DrawFn) -> tuple[GatewayConfig, set[str], str | None]:
    """A config, the paths through which it uses a database, and the variable database_url reads."""
    model_list: list[dict[str, Any]] = []
    uses: set[str] = set()
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        params: dict[str, Any] = {"model": MODEL}
        if draw(st.booleans()):
            variable = draw(st.sampled_from(OTHER_VARIABLES))
            params["api_key"] = f"os.environ/{variable}"
            if variable == "DATABASE_URL":
                uses.add(f"model_list.{index}.litellm_params.api_key")
        model_list.append({"model_name": f"group-{index}", "litellm_params": params})
    document: dict[str, Any] = {"model_list": model_list}
    general: dict[str, Any] = {}
    database_variable = draw(st.one_of(st.none(), st.sampled_from(DATABASE_URL_VARIABLES)))
    if database_variable is not None:
        general["database_url"] = f"os.environ/{database_variable}"
        uses.add("general_settings.database_url")
    if draw(st.booleans()):
        general["master_key"] = "os.environ/LITELLM_MASTER_KEY"
    if general:
        document["general_settings"] = general
    return loads(yaml.safe_dump(document, sort_keys=False)), uses, database_variable


@settings(max_examples=300, deadline=None)
@given(configs(), st.sampled_from(IMAGE_DATABASES), st.sampled_from(["a.yaml", "/srv/gw/config.yaml"]))
def test_an_image_without_a_database_refuses_exactly_the_configs_that_use_one(
    drawn: tuple[GatewayConfig, set[str], str | None], image_database: ImageDatabase, config_path: str
) -> None:
    config, uses, database_variable = drawn
    found = database_uses(config)
    assert set(found) == uses
    assert len(found) == len(set(found))
    if image_database == "available" or not uses:
        check_image_database(image_database, config, config_path=config_path)
        return
    with pytest.raises(GatewayImageError) as raised:
        check_image_database(image_database, config, config_path=config_path)
    message = str(raised.value)
    # What is wrong, where, and how to fix it.
    assert "gateway_image_database is 'unavailable'" in message
    assert f"gateway config {config_path} uses a database" in message
    assert all(use in message for use in uses)
    assert "Prisma engines" in message
    assert "gateway_image_database: available" in message
    assert "without general_settings.database_url" in message
    if database_variable is not None:
        assert f"os.environ/{database_variable}" in message


# --- settings, build_app and the CLI -------------------------------------------------------------


def test_the_setting_defaults_to_available_and_cdk_context_overrides_it() -> None:
    account = {"account": "123456789012"}
    assert load_settings(DEV_SETTINGS, account).gateway_image_database == "available"
    assert load_settings(DEV_SETTINGS, {**account, "gateway_image_database": "unavailable"}).gateway_image_database == (
        "unavailable"
    )
    context = {"gateway_image_database": "unavailable", "settings": "x.yaml"}
    assert context_overrides(context.get) == {"gateway_image_database": "unavailable"}
    with pytest.raises(SettingsError, match="gateway_image_database"):
        load_settings(DEV_SETTINGS, {**account, "gateway_image_database": "maybe"})


def test_build_app_refuses_before_creating_any_stack(dev_settings: DeploymentSettings, tmp_path: Path) -> None:
    settings = dev_settings.model_copy(update={"gateway_image_database": "unavailable"})
    app = cdk.App(outdir=str(tmp_path / "out"))
    with pytest.raises(
        GatewayImageError, match=re.escape("agents-gateway.yaml uses a database: general_settings.database_url")
    ):
        build_app(settings, app=app, checks=False)
    assert not [child for child in app.node.children if isinstance(child, cdk.Stack)]


def test_an_image_without_a_database_deploys_a_config_without_one(
    dev_settings: DeploymentSettings, tmp_path: Path
) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(NO_DATABASE, encoding="utf-8")
    settings = dev_settings.model_copy(
        update={
            "gateway_image_database": "unavailable",
            "gateway_config": config_file,
            # This config has neither a guardrail nor arize_phoenix: provision neither.
            "guardrail": GuardrailSettings(mode="none"),
            "phoenix": PhoenixSettings(mode="none"),
        }
    )
    deployment = build_app(settings, app=cdk.App(outdir=str(tmp_path / "out")), checks=False)
    assert "DATABASE_URL" not in deployment.plan.names


def test_cli_refuses_a_database_config_for_an_image_without_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert (
        main(
            [
                "synth",
                "--settings",
                str(DEV_SETTINGS),
                "--out",
                str(out),
                "-c",
                "gateway_image_database=unavailable",
                "-c",
                "synth_only=true",
            ]
        )
        == 1
    )
    error = capsys.readouterr().err
    assert error.startswith("bedrockgate-infra: gateway_image_database is 'unavailable'")
    assert "agents-gateway.yaml uses a database" in error
    assert "Traceback" not in error
    assert not (out / "manifest.json").exists()


def test_cli_reads_the_setting_from_the_settings_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load(DEV_SETTINGS.read_text(encoding="utf-8"))
    data["gateway_config"] = str((DEV_SETTINGS.parent / data["gateway_config"]).resolve())
    data["gateway_image_database"] = "unavailable"
    settings_file = tmp_path / "local.yaml"
    settings_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert (
        main(["synth", "--settings", str(settings_file), "--out", str(tmp_path / "out"), "-c", "synth_only=true"]) == 1
    )
    error = capsys.readouterr().err
    assert "gateway_image_database is 'unavailable'" in error
    assert "Traceback" not in error


def test_the_cdk_app_entry_refuses_it_from_cdk_context(tmp_path: Path) -> None:
    # What `cdk synth -c gateway_image_database=unavailable` does: the CDK CLI runs cdk.json's app,
    # `python -m bedrockgate.infra`, with the context in CDK_CONTEXT_JSON and the output in CDK_OUTDIR.
    context = {"settings": str(DEV_SETTINGS), "gateway_image_database": "unavailable", "synth_only": "true"}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path / "out")}
    run = subprocess.run(
        [sys.executable, "-m", "bedrockgate.infra"],
        cwd=DEV_SETTINGS.parents[1],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    assert "bedrockgate-infra: gateway_image_database is 'unavailable'" in run.stderr
    assert "build the gateway image where LiteLLM's Prisma engines can be downloaded" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()
