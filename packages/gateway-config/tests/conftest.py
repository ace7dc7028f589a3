"""Shared fixtures: the repository's example configs, and LiteLLM's own loader."""

from __future__ import annotations

import asyncio
import os
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# LiteLLM fetches its price map from the network unless told to use its bundled copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.yaml"))

MINIMAL = textwrap.dedent(
    """\
    model_list:
      - model_name: claude-fast
        litellm_params:
          model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
          aws_region_name: os.environ/AWS_REGION
    """
)

# Stands in for the metrics-callback package, which is not a dependency of gateway-config: LiteLLM
# looks for a dotted callback module next to the config file first, so the loader finds this one.
CALLBACK_STAND_IN = (
    "from litellm.integrations.custom_logger import CustomLogger\n\nmetrics_logger = CustomLogger()\n"
)


@dataclass(frozen=True)
class LiteLLMView:
    """What LiteLLM's own loader made of a config."""

    deployments: int
    model_groups: frozenset[str]
    guardrails: frozenset[str]


def load_with_litellm(config_text: str, workdir: Path, env: dict[str, str]) -> LiteLLMView:
    """Run LiteLLM's ProxyConfig.load_config on the text, as `litellm --config` would at start."""
    from litellm.proxy.guardrails.guardrail_registry import IN_MEMORY_GUARDRAIL_HANDLER
    from litellm.proxy.proxy_server import ProxyConfig

    callback_dir = workdir / "bedrockgate"
    callback_dir.mkdir(parents=True, exist_ok=True)
    (callback_dir / "metrics_callback.py").write_text(CALLBACK_STAND_IN, encoding="utf-8")
    path = workdir / "config.yaml"
    path.write_text(config_text, encoding="utf-8")
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        router, _, _ = asyncio.run(ProxyConfig().load_config(router=None, config_file_path=str(path)))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    assert router is not None, "LiteLLM built no router"
    guardrails = frozenset(
        str(guardrail.get("guardrail_name")) for guardrail in IN_MEMORY_GUARDRAIL_HANDLER.list_in_memory_guardrails()
    )
    return LiteLLMView(len(router.model_list), frozenset(router.get_model_names()), guardrails)


def stand_in_environment(names: list[str]) -> dict[str, str]:
    """A plausible value for each variable a config reads, so LiteLLM resolves no reference to None."""
    def value(name: str) -> str:
        if name.endswith("PORT"):
            return "6379"
        return "127.0.0.1" if name.endswith("HOST") else f"test-{name.lower()}"

    return {name: value(name) for name in names}


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
