"""Fixtures: one real local stack for the end-to-end tests, and readers of what it wrote."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from bedrockgate.local_stack.settings import EmulatorSettings
from bedrockgate.local_stack.stack import LocalStack, StackOptions, phoenix_installed
from e2e_config import EMULATOR_RULES, SCRIPTED_REPLIES, write_e2e_config

MASTER_KEY = "sk-e2e-local-stack-test-key"

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# Warnings LiteLLM 1.106.2 raises while it works (the emulator tests call its SDK), each matched
# narrowly; every other warning stays an error (the root config's filterwarnings = ["error"]).
LITELLM_WARNINGS = (
    # pydantic, building schemas of LiteLLM's ReadOnly TypedDicts on first use
    "ignore:Items? .* on TypedDict class .* (is|are) using the `ReadOnly` qualifier:UserWarning",
    # its streaming handler reads pydantic attributes deprecated in pydantic 2.11
    "ignore:Accessing the 'model_(computed_)?fields' attribute on the instance is deprecated:DeprecationWarning",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--gateway-image",
        default=None,
        help="run the stack's proxy from this gateway image under podman (nox -s gateway_image_amd64 passes it)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for line in LITELLM_WARNINGS:
        config.addinivalue_line("filterwarnings", line)


def require_binaries() -> None:
    """The stack's real parts; a missing one is named (``./dev test`` installs redis-server)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; ./dev test does it)")
    if not phoenix_installed():
        pytest.skip("arize-phoenix is not installed (the local-stack test group installs it)")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[LocalStack]:
    """The whole gateway: emulator (embedded + scripted models), Redis, Phoenix, the real proxy.

    With ``--gateway-image REF`` the proxy is the gateway image's, run as ECS runs it.
    """
    require_binaries()
    directory = tmp_path_factory.mktemp("stack")
    options = StackOptions(
        config=write_e2e_config(directory),
        port=_free_port(),
        emulator_settings=EmulatorSettings.model_validate(
            {"rules": EMULATOR_RULES, "seed": 7, "scripted_replies": SCRIPTED_REPLIES}
        ),
        redis=True,
        phoenix=True,
        state_dir=directory / "state",
        master_key=MASTER_KEY,
        startup_timeout_s=300,
        gateway_image=pytestconfig.getoption("--gateway-image"),
    )
    with LocalStack(options) as running:
        yield running


def _free_port() -> int:
    from bedrockgate.local_stack.processes import free_port  # noqa: PLC0415 -- keep fixtures' imports together

    return free_port()


def proxy_url(stack: LocalStack) -> str:
    assert stack.info is not None
    return stack.info.proxy_url


def emulator_url(stack: LocalStack) -> str:
    assert stack.info is not None
    return stack.info.emulator_url


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {MASTER_KEY}"}


def metrics_records(log: Path) -> list[dict[str, Any]]:
    """The EMF lines the metrics callback wrote to the proxy's stdout."""
    records = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith('{"_aws"'):
            records.append(json.loads(line))
    return records


def wait_for_records(
    log: Path, call_ids: set[str], timeout: float = 30.0, status: str | None = None
) -> list[dict[str, Any]]:
    """The records of these calls once each has one (with ``status``, if given): the sink is async."""
    deadline = time.monotonic() + timeout
    while True:
        records = [r for r in metrics_records(log) if r.get("litellm_call_id") in call_ids]
        complete = {r["litellm_call_id"] for r in records if status is None or r["status"] == status}
        if complete >= call_ids or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def set_faults(stack: LocalStack, model_id: str, **faults: object) -> None:
    response = httpx.put(f"{emulator_url(stack)}/_emulator/faults/{model_id}", json=faults, timeout=5)
    assert response.status_code == 200, response.text


def clear_faults(stack: LocalStack) -> None:
    httpx.delete(f"{emulator_url(stack)}/_emulator/faults", timeout=5).raise_for_status()


def phoenix_spans(
    stack: LocalStack, since: datetime, until: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The spans of the config's Phoenix project since ``since``, once ``until(spans)`` holds (or after 60 s)."""
    assert stack.info is not None
    assert stack.info.phoenix_url is not None
    assert stack.run_config is not None
    assert stack.run_config.phoenix_project is not None, "the config sends no traces"
    spans_url = f"{stack.info.phoenix_url}/v1/projects/{stack.run_config.phoenix_project}/spans"
    deadline, spans = time.monotonic() + 60, list[dict[str, Any]]()
    while time.monotonic() < deadline:
        response = httpx.get(spans_url, params={"limit": 1000, "start_time": since.isoformat()}, timeout=10)
        if response.status_code == 200:
            spans = response.json()["data"]
            if until(spans):
                break
        time.sleep(1)
    return spans


def received(stack: LocalStack, model_id: str | None = None) -> dict[str, Any]:
    params = {"model": model_id} if model_id else {}
    response = httpx.get(f"{emulator_url(stack)}/_emulator/requests", params=params, timeout=5)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body
