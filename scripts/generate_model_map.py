r"""Generate ``bedrockgate/gateway_config/_litellm_model_map.json``: what LiteLLM knows of each Bedrock model.

LiteLLM prices every request and sizes every context window from the model map it bundles
(``litellm/model_prices_and_context_window_backup.json``). A deployment whose id is not in that
map is recorded at cost 0, and one whose ``deprecation_date`` has passed stops answering.
``bedrockgate.gateway_config`` checks every deployment against the map, but must not import
litellm at run time, so the part of the map those checks read is committed as data, and this
script regenerates it from an installed LiteLLM.

Only the Bedrock family is kept (``litellm_provider`` ``bedrock``, ``bedrock_converse``,
``bedrock_mantle``): LiteLLM accepts exactly those entries for a ``bedrock/...`` model (its
provider match treats every ``bedrock*`` provider as one), and Bedrock is the gateway's provider.
Of each entry only what the checks need is kept: provider, mode, ``max_input_tokens``,
``deprecation_date`` and whether any price is declared.

Run it with a Python that has litellm installed, from the repository root::

    uv run --package bedrockgate-gateway-config --group test python scripts/generate_model_map.py \
        > packages/gateway-config/src/bedrockgate/gateway_config/_litellm_model_map.json

``packages/gateway-config/tests/test_model_map_current.py`` fails when the committed file and
:func:`render_map` disagree, so upgrading LiteLLM cannot leave the snapshot stale.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import os
import sys
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["BEDROCK_PROVIDERS", "MAP_FILE", "main", "render_map"]

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # importing litellm must not fetch the map

MAP_FILE: Final = "model_prices_and_context_window_backup.json"
"""The model map as LiteLLM bundles it: what the proxy uses when it does not fetch a newer one."""

BEDROCK_PROVIDERS: Final = frozenset({"bedrock", "bedrock_converse", "bedrock_mantle"})

_FORMAT: Final = 1
"""Bumped when the file's layout changes; the package refuses a layout it does not read."""


def bundled_map() -> dict[str, Any]:
    """The installed LiteLLM's bundled model map, as LiteLLM ships it."""
    text = importlib.resources.files("litellm").joinpath(MAP_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _priced(entry: Mapping[str, Any]) -> bool:
    """Whether the entry declares any price: a token rate by LiteLLM's own rule, or a per-image/second/... one."""
    from litellm import cost_calculator  # noqa: PLC0415 -- litellm only when generating

    token_rate: bool = cost_calculator._cost_map_entry_prices_anything(entry)  # the rule LiteLLM applies
    return token_rate or any("cost" in field and value is not None for field, value in entry.items())


def _row(entry: Mapping[str, Any]) -> list[Any]:
    max_input = entry.get("max_input_tokens")
    deprecation = entry.get("deprecation_date")
    return [
        entry["litellm_provider"],
        entry.get("mode", "chat"),  # LiteLLM reads a missing mode as chat
        max_input if isinstance(max_input, int) and not isinstance(max_input, bool) else None,
        deprecation if isinstance(deprecation, str) else None,
        _priced(entry),
    ]


def render_map() -> str:
    """The file's text: the layout header, Bedrock's region names, then one model per line, sorted."""
    from litellm.llms.bedrock.common_utils import (  # noqa: PLC0415 -- litellm only when generating
        get_all_bedrock_regions,
        get_bedrock_cross_region_inference_regions,
    )

    models = {
        key: _row(entry)
        for key, entry in bundled_map().items()
        if isinstance(entry, dict) and entry.get("litellm_provider") in BEDROCK_PROVIDERS
    }
    header = {
        "format": _FORMAT,
        "generated_by": "scripts/generate_model_map.py",
        "litellm_version": importlib.metadata.version("litellm"),
        "source": f"litellm/{MAP_FILE}",
        "columns": ["litellm_provider", "mode", "max_input_tokens", "deprecation_date", "priced"],
        "cross_region_prefixes": list(get_bedrock_cross_region_inference_regions()),
        "regions": list(get_all_bedrock_regions()),
    }
    lines = [f"  {json.dumps(name)}: {json.dumps(value)}," for name, value in header.items()]
    rows = [f"    {json.dumps(key)}: {json.dumps(models[key])}" for key in sorted(models)]
    return "{\n" + "\n".join(lines) + '\n  "models": {\n' + ",\n".join(rows) + "\n  }\n}\n"


def main() -> int:
    """Print the file; redirect it into the package (the module docstring has the command)."""
    sys.stdout.write(render_map())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
