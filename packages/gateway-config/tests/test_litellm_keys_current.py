"""The committed ``_litellm_keys.py`` is what the generator makes of the LiteLLM installed for the tests."""

import importlib.metadata
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from bedrockgate.gateway_config import _litellm_keys
from gateway_config_helpers import load_script

# The generator imports litellm, which fetches its price map from the network unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

REPO_ROOT = Path(__file__).resolve().parents[3]
GENERATOR = REPO_ROOT / "scripts" / "generate_litellm_keys.py"
GENERATED = Path(_litellm_keys.__file__)
REGENERATE = (
    "uv run --package bedrockgate-gateway-config --group test python scripts/generate_litellm_keys.py"
    " > packages/gateway-config/src/bedrockgate/gateway_config/_litellm_keys.py"
)


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return load_script(GENERATOR)


def test_generated_keys_match_the_installed_litellm(generator: ModuleType) -> None:
    render_module: Callable[[], str] = generator.render_module
    expected = render_module()
    committed = GENERATED.read_text(encoding="utf-8")
    assert committed == expected, (
        f"{GENERATED.relative_to(REPO_ROOT)} is stale for the installed litellm; from the repository root run\n"
        f"    {REGENERATE}"
    )


def test_generated_from_the_installed_litellm_version() -> None:
    assert importlib.metadata.version("litellm") == _litellm_keys.LITELLM_VERSION, (
        f"_litellm_keys.py was generated from another litellm; from the repository root run\n    {REGENERATE}"
    )
