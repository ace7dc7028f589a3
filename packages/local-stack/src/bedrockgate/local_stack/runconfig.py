"""The config and environment the local proxy runs with: the user's config, unchanged in meaning.

What changes, and why (each change is printed when the stack starts):
- every ``bedrock/`` call goes to the emulator: ``AWS_BEDROCK_RUNTIME_ENDPOINT``, which LiteLLM's
  Bedrock provider and its guardrail hook both read; model ids, SigV4 and prices stay as they are;
- ``general_settings.database_url`` is dropped: LiteLLM's database needs Prisma engines fetched
  at first start, which a laptop offline (or this CI) cannot do; the master key still works;
- the metrics callback is switched on (and ``arize_phoenix`` when Phoenix runs), so a developer
  sees what production would publish;
- Redis settings point at the local Redis, or are dropped (limits per process) when there is none.
Every ``os.environ/VAR`` the config reads gets a local value or the caller's own; a variable
that has neither is an error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from bedrockgate.gateway_config import ConfigValidationError, check_text, load, render, required_env
from bedrockgate.local_stack.exceptions import StackConfigError

METRICS_CALLBACK = "bedrockgate.metrics_callback.metrics_logger"
PHOENIX_CALLBACK = "arize_phoenix"
LOCAL_REGION = "us-east-1"
_REDIS_KEYS = ("redis_host", "redis_port", "redis_password", "redis_url")


@dataclass(frozen=True)
class Endpoints:
    """Where the stack's other parts listen (``None``: not running)."""

    emulator_url: str
    redis_port: int | None = None
    redis_password: str | None = None
    phoenix_url: str | None = None


@dataclass(frozen=True)
class RunConfig:
    """The YAML to hand the proxy, its environment, and the notes to show the user."""

    yaml_text: str
    environment: dict[str, str]
    notes: list[str] = field(default_factory=list)
    model_ids: dict[str, list[str]] = field(default_factory=dict)


def local_defaults(endpoints: Endpoints, master_key: str) -> dict[str, str]:
    """The local value of each variable a gateway config commonly reads."""
    defaults = {
        "AWS_BEDROCK_RUNTIME_ENDPOINT": endpoints.emulator_url,
        "AWS_REGION": LOCAL_REGION,
        "AWS_REGION_NAME": LOCAL_REGION,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        # SigV4 needs credentials; the emulator accepts any. Never the caller's real ones.
        "AWS_ACCESS_KEY_ID": "local-stack",
        "AWS_SECRET_ACCESS_KEY": "local-stack",
        "LITELLM_MASTER_KEY": master_key,
        "BEDROCK_GUARDRAIL_ID": "local-guardrail",
        "BEDROCK_GUARDRAIL_VERSION": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "BEDROCKGATE_METRICS_SERVICE": "local-stack",
    }
    if endpoints.redis_port is not None:
        defaults |= {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(endpoints.redis_port)}
        defaults["REDIS_PASSWORD"] = endpoints.redis_password or ""
    # Set even without Phoenix (its callback is then removed): a config's environment_variables may read them.
    phoenix = endpoints.phoenix_url or "http://127.0.0.1:6006"
    defaults |= {
        "PHOENIX_COLLECTOR_HTTP_ENDPOINT": f"{phoenix}/v1/traces",
        "PHOENIX_API_KEY": "local-stack",  # the local Phoenix runs without auth and ignores it
        "PHOENIX_PROJECT_NAME": "bedrockgate-local",
    }
    return defaults


def _callbacks(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _drop_redis(document: dict[str, Any]) -> list[str]:
    """With no redis-server, what reads Redis goes: limits become per process, the cache goes off."""
    notes = []
    for section in ("router_settings", "litellm_settings"):
        dropped = [k for k in _REDIS_KEYS if (document.get(section) or {}).pop(k, None) is not None]
        if dropped:
            notes.append(f"{section}: {', '.join(dropped)} dropped: no redis-server here, limits are per process")
    litellm_settings = document.get("litellm_settings") or {}
    cache_params = litellm_settings.get("cache_params") or {}
    if cache_params.get("type", "redis") in ("redis", "redis-semantic") and litellm_settings.get("cache"):
        litellm_settings.pop("cache_params", None)
        litellm_settings["cache"] = False
        notes.append("litellm_settings.cache off: the response cache needs Redis (no redis-server here)")
    return notes


def build_run_config(config_path: Path, endpoints: Endpoints, master_key: str, environ: Mapping[str, str]) -> RunConfig:
    """Validate the user's config with gateway-config, then derive the local one from it."""
    try:
        config = load(config_path)
    except ConfigValidationError as error:
        raise StackConfigError(f"{config_path} is not a valid gateway config:\n{error}") from error
    document: dict[str, Any] = yaml.safe_load(render(config))
    notes: list[str] = []

    general = document.get("general_settings") or {}
    if general.pop("database_url", None) is not None:
        notes.append("general_settings.database_url dropped: keys and spend logs need a database (Aurora in AWS)")

    litellm_settings = document.setdefault("litellm_settings", {})
    callbacks = _callbacks(litellm_settings.get("callbacks"))
    wanted = [METRICS_CALLBACK] + ([PHOENIX_CALLBACK] if endpoints.phoenix_url else [])
    added = [name for name in wanted if name not in callbacks]
    if added:
        litellm_settings["callbacks"] = callbacks + added
        notes.append(f"litellm_settings.callbacks += {added}")
    if not endpoints.phoenix_url and PHOENIX_CALLBACK in callbacks:
        litellm_settings["callbacks"] = [c for c in litellm_settings["callbacks"] if c != PHOENIX_CALLBACK]
        notes.append("arize_phoenix callback removed: Phoenix is not running (install the 'phoenix' extra)")

    if endpoints.redis_port is None:
        notes.extend(_drop_redis(document))

    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    report = check_text(text, source=f"{config_path} (local)")
    if not report.ok:  # a bug here, not the user's: say so
        problems = "\n".join(str(p) for p in report.problems)
        raise StackConfigError(f"the local stack derived an invalid config from {config_path}:\n{problems}")

    defaults = local_defaults(endpoints, master_key)
    environment = {"AWS_BEDROCK_RUNTIME_ENDPOINT": endpoints.emulator_url} | defaults
    missing: list[str] = []
    for variable in required_env(report.raise_for_problems()):
        if variable.name in defaults:
            continue
        if variable.name in environ:
            environment[variable.name] = environ[variable.name]
        else:
            missing.append(f"{variable.name} (read by {', '.join(variable.dotted_paths)})")
    if missing:
        raise StackConfigError(
            f"{config_path} reads variables the local stack has no value for: {'; '.join(missing)}. "
            "Export them before `local-stack up`."
        )
    model_ids: dict[str, list[str]] = {}
    for deployment in document.get("model_list", []):
        model = str(deployment["litellm_params"]["model"])
        model_ids.setdefault(str(deployment["model_name"]), []).append(model.removeprefix("bedrock/"))
    return RunConfig(yaml_text=text, environment=environment, notes=notes, model_ids=model_ids)
