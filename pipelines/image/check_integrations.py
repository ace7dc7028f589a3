"""Import, inside the image, every callback and guardrail integration a gateway config names.

LiteLLM imports most integrations lazily, at the first request that needs them, and logs rather
than fails when one is missing: a callback whose package is absent would only show as silently
missing traces or metrics. This imports each one the config names, the way LiteLLM will, and exits
non-zero naming every failure. Usage: ``check_integrations.py [CONFIG]`` (default: the baked one).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import yaml

# LiteLLM's callback names -> the modules LiteLLM imports for them (litellm_logging.py), with the
# third-party packages those modules need at run time.
CALLBACK_MODULES: dict[str, tuple[str, ...]] = {
    "arize_phoenix": (
        "litellm.integrations.arize.arize_phoenix",
        "opentelemetry.sdk.trace",
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    ),
    "otel": ("litellm.integrations.opentelemetry", "opentelemetry.sdk.trace"),
    "prometheus": ("litellm.integrations.prometheus",),
}
GUARDRAIL_MODULES: dict[str, tuple[str, ...]] = {
    "bedrock": ("litellm.proxy.guardrails.guardrail_hooks.bedrock_guardrails",),
    "presidio": ("litellm.proxy.guardrails.guardrail_hooks.presidio",),
}


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def targets(config: dict[str, object]) -> dict[str, tuple[str, ...]]:
    """What to import for this config: ``what -> modules``; an unknown name is a target that fails."""
    settings = config.get("litellm_settings") or {}
    found: dict[str, tuple[str, ...]] = {}
    if isinstance(settings, dict):
        for key in ("callbacks", "success_callback", "failure_callback"):
            for name in _names(settings.get(key)):
                if name in CALLBACK_MODULES:
                    found[f"callback {name}"] = CALLBACK_MODULES[name]
                elif "." in name:  # a custom logger instance: module.attribute
                    found[f"callback {name}"] = (name,)
                else:
                    found[f"callback {name}"] = (f"litellm.integrations.{name}",)
    guardrails = config.get("guardrails")
    for guardrail in guardrails if isinstance(guardrails, list) else []:
        params = guardrail.get("litellm_params", {}) if isinstance(guardrail, dict) else {}
        kind = params.get("guardrail") if isinstance(params, dict) else None
        if isinstance(kind, str):
            found[f"guardrail {kind}"] = GUARDRAIL_MODULES.get(
                kind, (f"litellm.proxy.guardrails.guardrail_hooks.{kind}",)
            )
    return found


def _load(target: str) -> None:
    try:
        importlib.import_module(target)
    except ModuleNotFoundError:
        module, _, attribute = target.rpartition(".")
        if not module:
            raise
        if not hasattr(importlib.import_module(module), attribute):
            raise ImportError(f"{module} has no attribute {attribute}") from None


def main() -> None:
    """Import every target; print a JSON report; exit 1 when any failed."""
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "/app/config.yaml")
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    report: dict[str, str] = {}
    for what, modules in targets(config).items():
        try:
            for module in modules:
                _load(module)
        except Exception as error:
            report[what] = f"FAILED: {type(error).__name__}: {error}"
        else:
            report[what] = "ok: " + ", ".join(modules)
    print(json.dumps({"config": str(path), "integrations": report}, indent=2))
    if any(value.startswith("FAILED") for value in report.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
