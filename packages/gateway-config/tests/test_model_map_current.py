"""The committed model map snapshot is what the generator makes of the installed LiteLLM, and is read alike.

Three checks, each failing with the command that fixes it: the file equals the generator's output
for the installed litellm, it names that litellm's version, and looking an id up in the snapshot
finds the entry LiteLLM's own ``get_model_info`` finds, for every Bedrock id of the map with and
without route and inference-profile prefixes.
"""

import importlib.metadata
import json
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from bedrockgate.gateway_config import GatewayConfigError
from bedrockgate.gateway_config.model_map import model_map, parse_model_map
from gateway_config_helpers import load_script

# The generator and LiteLLM's lookup import litellm, which fetches its price map unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

REPO_ROOT = Path(__file__).resolve().parents[3]
GENERATOR = REPO_ROOT / "scripts" / "generate_model_map.py"
GENERATED = REPO_ROOT / "packages/gateway-config/src/bedrockgate/gateway_config/_litellm_model_map.json"
REGENERATE = (
    "uv run --package bedrockgate-gateway-config --group test python scripts/generate_model_map.py"
    " > packages/gateway-config/src/bedrockgate/gateway_config/_litellm_model_map.json"
)


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return load_script(GENERATOR)


def test_snapshot_matches_the_installed_litellm(generator: ModuleType) -> None:
    render_map: Callable[[], str] = generator.render_map
    assert GENERATED.read_text(encoding="utf-8") == render_map(), (
        f"{GENERATED.relative_to(REPO_ROOT)} is stale for the installed litellm; from the repository root run\n"
        f"    {REGENERATE}"
    )


def test_snapshot_names_the_installed_litellm_version() -> None:
    assert importlib.metadata.version("litellm") == model_map().litellm_version, (
        f"the model map was generated from another litellm; from the repository root run\n    {REGENERATE}"
    )


def test_the_package_ships_the_snapshot() -> None:
    assert len(model_map().entries) > 500
    assert {"us", "global", "eu", "apac"} <= model_map().cross_region_prefixes


def test_a_snapshot_of_another_layout_is_refused() -> None:
    data = json.loads(GENERATED.read_text(encoding="utf-8"))
    data["format"] = 2
    with pytest.raises(GatewayConfigError, match=r"regenerate it with scripts/generate_model_map\.py"):
        parse_model_map(data)


def _corpus() -> list[str]:
    """Every Bedrock id of the map as a deployment may write it: plain, with a route, with a profile or Region."""
    mapped = model_map()
    ids: set[str] = {"bedrock/not.a-model-v1:0", "bedrock/anthropic.claude-3-haiku-20240307-v1:0"}
    for key in mapped.entries:
        bare = key.removeprefix("bedrock/")
        ids |= {f"bedrock/{route}{bare}" for route in ("", "converse/", "invoke/")}
        if "/" not in key:
            ids.add(f"bedrock/us-east-1/{key}")
            if mapped.base_model(key) == key:
                ids |= {f"bedrock/{prefix}.{key}" for prefix in mapped.cross_region_prefixes}
    return sorted(ids)


# LiteLLM builds pydantic schemas lazily inside get_model_info and swallows what they raise: under the
# suite's warnings-as-errors a pydantic UserWarning would read as "not mapped".
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_lookup_finds_the_entry_litellm_finds() -> None:
    import litellm  # noqa: PLC0415 -- a test tool here, never a run-time dependency

    disagreements = []
    for model in _corpus():
        try:
            theirs: str | None = litellm.get_model_info(model)["key"]
        except Exception:  # LiteLLM's "not mapped" is a plain Exception subclass
            theirs = None
        if theirs is not None and theirs not in litellm.model_cost:
            theirs = None  # derived from LiteLLM's capability rules, not an entry of the map: no price
        entry = model_map().lookup(model)
        if (entry.key if entry else None) != theirs:
            disagreements.append(f"{model}: snapshot {entry.key if entry else None!r}, litellm {theirs!r}")
    assert not disagreements, (
        f"{len(disagreements)} ids resolve differently from litellm.get_model_info: update model_map.py's "
        "lookup to follow LiteLLM's, then run\n    " + REGENERATE + "\n" + "\n".join(disagreements[:20])
    )
