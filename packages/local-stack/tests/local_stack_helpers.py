"""What several test modules share: the stack's master key, the binaries it needs, readers of what it wrote.

Imported as a module (``from local_stack_helpers import ...``); conftest.py keeps only the fixtures.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from bedrockgate.local_stack.stack import LocalStack, phoenix_installed

MASTER_KEY = "sk-e2e-local-stack-test-key"


def require_binaries() -> None:
    """The stack's real parts; a missing one is named (``./dev test`` installs redis-server)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; ./dev test does it)")
    if not phoenix_installed():
        pytest.skip("arize-phoenix is not installed (the local-stack test group installs it)")


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
