"""What several test modules share: the repository's example configs, the fixed clock, LiteLLM's own loader.

Imported as a module (``from gateway_config_helpers import ...``); conftest.py keeps only the fixtures.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.yaml"))

MINIMAL = textwrap.dedent(
    """\
    model_list:
      - model_name: claude-fast
        litellm_params:
          model: bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0
          aws_region_name: os.environ/AWS_REGION
    """
)


def load_script(path: Path) -> ModuleType:
    """A repository script (a generator) as a module, without leaving it in ``sys.modules``."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs: dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


TODAY = date(2026, 12, 1)
"""The date every test checks configs on: a calendar day passing never changes a result."""


def fixed_clock() -> date:
    """The clock the tests pass to the checks (``date.today`` in use)."""
    return TODAY


# Stands in for the metrics-callback package, which is not a dependency of gateway-config: LiteLLM
# looks for a dotted callback module next to the config file first, so the loader finds this one.
CALLBACK_STAND_IN = "from litellm.integrations.custom_logger import CustomLogger\n\nmetrics_logger = CustomLogger()\n"


@dataclass(frozen=True)
class LiteLLMView:
    """What LiteLLM's own loader made of a config."""

    deployments: int
    model_groups: frozenset[str]
    guardrails: frozenset[str]


@dataclass(frozen=True)
class ProbeRequest:
    """One config for LiteLLM to load, and the environment its references read."""

    config_text: str
    env: dict[str, str]


def load_with_litellm(requests: list[ProbeRequest], workdir: Path) -> list[LiteLLMView]:
    """Load each config with LiteLLM's ProxyConfig.load_config, as `litellm --config` does at start."""
    batch = []
    for index, request in enumerate(requests):
        directory = workdir / f"config-{index}"
        (directory / "bedrockgate").mkdir(parents=True)
        (directory / "bedrockgate" / "metrics_callback.py").write_text(CALLBACK_STAND_IN, encoding="utf-8")
        (directory / "config.yaml").write_text(request.config_text, encoding="utf-8")
        batch.append({"config": str(directory / "config.yaml"), "env": request.env})
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("litellm_probe.py"))],
        input=json.dumps(batch),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    views = []
    for result in json.loads(completed.stdout):
        assert "error" not in result, result
        views.append(
            LiteLLMView(result["deployments"], frozenset(result["model_groups"]), frozenset(result["guardrails"]))
        )
    return views


@dataclass(frozen=True)
class RedisServer:
    """A real redis-server on loopback, as the gateway's Valkey/Redis stands in the examples."""

    port: int
    password: str


def stand_in_environment(names: list[str], redis: RedisServer | None = None) -> dict[str, str]:
    """A plausible value for each variable a config reads, so LiteLLM resolves no reference to None."""

    def value(name: str) -> str:
        if redis is not None and "REDIS" in name:
            if name.endswith("PORT"):
                return str(redis.port)
            if name.endswith("HOST"):
                return "127.0.0.1"
            if name.endswith("PASSWORD"):
                return redis.password
        return f"test-{name.lower()}"

    return {name: value(name) for name in names}
