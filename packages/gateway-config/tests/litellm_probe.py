"""Load configs with LiteLLM's own ProxyConfig, in a child process, and say what LiteLLM built.

Run as ``python litellm_probe.py`` with a JSON list of ``{"config": path, "env": {...}}`` on
stdin; prints one JSON object per config. A separate process keeps LiteLLM's global state, its
background tasks and its warnings out of the test process, and one process serves a whole batch
because importing LiteLLM's proxy takes seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import sys
import warnings
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch of the price map
warnings.simplefilter("ignore")  # LiteLLM's own deprecations are not what this measures

from litellm.proxy.guardrails.guardrail_registry import IN_MEMORY_GUARDRAIL_HANDLER  # noqa: E402
from litellm.proxy.proxy_server import ProxyConfig  # noqa: E402


def probe(config_path: str, env: dict[str, str]) -> dict[str, Any]:
    """Load one config and describe the router and guardrails LiteLLM built from it."""
    for guardrail in IN_MEMORY_GUARDRAIL_HANDLER.list_in_memory_guardrails():
        IN_MEMORY_GUARDRAIL_HANDLER.delete_in_memory_guardrail(str(guardrail.get("guardrail_id")))
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        router, _, _ = asyncio.run(ProxyConfig().load_config(router=None, config_file_path=config_path))
    except Exception as error:  # reported to the test, which fails on it
        return {"config": config_path, "error": f"{type(error).__name__}: {error}"}
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    guardrails = sorted(
        str(guardrail.get("guardrail_name")) for guardrail in IN_MEMORY_GUARDRAIL_HANDLER.list_in_memory_guardrails()
    )
    return {
        "config": config_path,
        "deployments": len(router.model_list) if router is not None else 0,
        "model_groups": sorted(router.get_model_names()) if router is not None else [],
        "guardrails": guardrails,
    }


def main() -> None:
    requests = json.load(sys.stdin)
    results = []
    for request in requests:
        with contextlib.redirect_stdout(io.StringIO()):  # LiteLLM prints banners; keep stdout JSON
            results.append(probe(request["config"], request["env"]))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
