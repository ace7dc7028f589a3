"""The config and environment the local proxy runs with: the user's config, unchanged in meaning.

What changes, and why (each change is printed when the stack starts):
- every ``bedrock/`` call goes to the emulator: ``AWS_BEDROCK_RUNTIME_ENDPOINT``, which LiteLLM's
  Bedrock provider and its guardrail hook both read; model ids, SigV4 and prices stay as they are;
- ``general_settings.database_url`` is dropped: LiteLLM's database needs Prisma engines fetched
  at first start, which a laptop offline (or this CI) cannot do; the master key still works;
- the ``arize_phoenix`` callback is removed when Phoenix is not running (LiteLLM would export
  traces to nobody);
- Redis settings point at the local Redis, or are dropped (limits per process) when there is none.

What does not change: the callbacks run as the config lists them. The stack used to add
``arize_phoenix`` and the metrics callback itself, which hid a production config that had
neither; now a config without ``arize_phoenix`` sends no traces here, as it would send none in
AWS, and the stack says so when Phoenix runs. The metrics callback is treated the same way (not
added, a note when it is missing): the least surprising rule is one rule, "what you run locally is
what you deploy". Traces go to the project the config names (``environment_variables.
PHOENIX_PROJECT_NAME``, which LiteLLM sets over the process environment anyway); the local default
``bedrockgate-local`` applies only to a config that names none.
Every ``os.environ/VAR`` the config reads gets a local value or the caller's own; a variable
that has neither is an error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from bedrockgate.gateway_config import (
    ConfigValidationError,
    GatewayConfig,
    check_text,
    load,
    render,
    required_env,
)
from bedrockgate.local_stack.exceptions import StackConfigError

METRICS_CALLBACK = "bedrockgate.metrics_callback.metrics_logger"
PHOENIX_CALLBACK = "arize_phoenix"
LOCAL_REGION = "us-east-1"
LOCAL_PHOENIX_PROJECT = "bedrockgate-local"
PHOENIX_PROJECT_VARIABLE = "PHOENIX_PROJECT_NAME"
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
    phoenix_project: str | None = None
    """The Phoenix project the proxy's traces go to; ``None`` when it sends none."""


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
        PHOENIX_PROJECT_VARIABLE: LOCAL_PHOENIX_PROJECT,
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
    notes.extend(_callback_notes(callbacks, endpoints))
    if not endpoints.phoenix_url and PHOENIX_CALLBACK in callbacks:
        callbacks.remove(PHOENIX_CALLBACK)
        litellm_settings["callbacks"] = callbacks
    configured_project = (document.get("environment_variables") or {}).get(PHOENIX_PROJECT_VARIABLE)

    if endpoints.redis_port is None:
        notes.extend(_drop_redis(document))

    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    report = check_text(text, source=f"{config_path} (local)")
    if not report.ok:  # a bug here, not the user's: say so
        problems = "\n".join(str(p) for p in report.problems)
        raise StackConfigError(f"the local stack derived an invalid config from {config_path}:\n{problems}")

    environment = _environment(config_path, report.raise_for_problems(), endpoints, master_key, environ)
    if configured_project is not None and not str(configured_project).startswith("os.environ/"):
        environment.pop(PHOENIX_PROJECT_VARIABLE, None)  # the config's own project wins (LiteLLM sets it anyway)
    model_ids: dict[str, list[str]] = {}
    for deployment in document.get("model_list", []):
        model = str(deployment["litellm_params"]["model"])
        model_ids.setdefault(str(deployment["model_name"]), []).append(model.removeprefix("bedrock/"))
    project = _phoenix_project(configured_project, environment) if PHOENIX_CALLBACK in callbacks else None
    if project is not None:
        notes.append(f"traces go to Phoenix project {project!r}")
    return RunConfig(yaml_text=text, environment=environment, notes=notes, model_ids=model_ids, phoenix_project=project)


def _environment(
    config_path: Path, config: GatewayConfig, endpoints: Endpoints, master_key: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """The local defaults, plus the caller's value of every other variable the config reads."""
    defaults = local_defaults(endpoints, master_key)
    environment = {"AWS_BEDROCK_RUNTIME_ENDPOINT": endpoints.emulator_url} | defaults
    missing: list[str] = []
    for variable in required_env(config):
        if variable.name in defaults:
            continue
        if variable.name in environ:
            environment[variable.name] = environ[variable.name]
        else:
            missing.append(f"{variable.name} (read by {', '.join(variable.dotted_paths)})")
    if missing:
        raise StackConfigError(
            f"{config_path} reads variables the local stack has no value for: {'; '.join(missing)}. "
            "Export them before `bedrockgate-local-stack up`."
        )
    return environment


def _callback_notes(callbacks: list[str], endpoints: Endpoints) -> list[str]:
    """What the config's callbacks mean here; the callbacks themselves are not added to."""
    notes = []
    if PHOENIX_CALLBACK in callbacks and not endpoints.phoenix_url:
        notes.append("arize_phoenix callback removed: Phoenix is not running (install the 'phoenix' extra)")
    if PHOENIX_CALLBACK not in callbacks and endpoints.phoenix_url:
        notes.append(
            "Phoenix runs, but the config has no arize_phoenix callback: traces will not be sent "
            "(production would not send them either); add it to litellm_settings.callbacks"
        )
    if METRICS_CALLBACK not in callbacks:
        notes.append(
            f"the config has no {METRICS_CALLBACK} callback: no metrics lines "
            "(production would publish none either); add it to litellm_settings.callbacks"
        )
    return notes


def _phoenix_project(configured: object, environment: Mapping[str, str]) -> str:
    """The project name LiteLLM will use: the config's (``os.environ/VAR`` resolved) or the local default."""
    if configured is None:
        return environment.get(PHOENIX_PROJECT_VARIABLE, LOCAL_PHOENIX_PROJECT)
    text = str(configured)
    if text.startswith("os.environ/"):
        return environment.get(text.removeprefix("os.environ/"), LOCAL_PHOENIX_PROJECT)
    return text
