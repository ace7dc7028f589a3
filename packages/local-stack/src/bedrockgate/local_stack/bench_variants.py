"""The gateway benchmark's configs: LiteLLM's own baseline, then one of our features at a time, then production.

Every config but the baseline is derived from the production config (``agents-gateway.yaml``), so
the benchmark follows it as it changes: ``bedrock`` is production with every feature below taken
out (what is left: the Bedrock deployments called through SigV4, the router's retries and
fallbacks, the proxy's own settings), and each feature variant is ``bedrock`` with exactly one
feature put back, as production writes it. A feature's share of the cost is then its variant's
figure minus ``bedrock``'s, and production's figure against the sum shows how the features
interact.

The baseline is LiteLLM's own benchmark configuration (its ``docs/benchmarks.md`` and load tests):
one OpenAI-style deployment, no callback, no Redis, in its two forms. ``litellm-endpoint`` calls a
fake OpenAI server over HTTP (LiteLLM's published benchmarks; here the emulator answers at the same
fixed latency as the Bedrock variants); ``litellm-mock`` sets ``network_mock: true``, which answers
at LiteLLM's httpx transport, so no connection costs anything.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from bedrockgate.local_stack.emulator import OPENAI_BENCHMARK_PATH
from bedrockgate.local_stack.exceptions import StackConfigError, StateError
from bedrockgate.local_stack.runconfig import (
    METRICS_CALLBACK,
    PHOENIX_CALLBACK,
    PHOENIX_PROJECT_VARIABLE,
    Endpoints,
    RunConfig,
    build_run_config,
)
from bedrockgate.local_stack.stack import LocalStack

Document = dict[str, Any]

BASELINE_MODEL: Final = "fake-openai-endpoint"
"""The model group LiteLLM's benchmark config calls (its name in LiteLLM's docs)."""
REDIS_KEYS: Final = ("redis_host", "redis_port", "redis_password", "redis_url")
ROUTING_KEYS: Final = ("routing_strategy", *REDIS_KEYS)


BENCHMARK_API_BASE_VARIABLE: Final = "BENCHMARK_OPENAI_API_BASE"
"""Where ``litellm-endpoint`` finds the fake OpenAI server (the emulator's, set by ``run_config``)."""


def baseline_document(*, network_mock: bool) -> Document:
    """LiteLLM's benchmark config: a fake OpenAI deployment, answered in process or by a fake server."""
    params: dict[str, Any] = {"model": "openai/fake", "api_key": "fake-key"}  # LiteLLM's docs write this key
    if network_mock:  # answered before any connection: the api_base is never used, LiteLLM's docs write this one
        params["api_base"] = "https://exampleopenaiendpoint-production.up.railway.app/"
    else:
        params["api_base"] = f"os.environ/{BENCHMARK_API_BASE_VARIABLE}"
    document: Document = {
        "model_list": [{"model_name": BASELINE_MODEL, "litellm_params": params}],
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }
    if network_mock:
        document["litellm_settings"] = {"network_mock": True}
    return document


def _callbacks(document: Mapping[str, Any]) -> list[str]:
    value = (document.get("litellm_settings") or {}).get("callbacks") or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def strip_features(production: Mapping[str, Any]) -> Document:
    """Production without any feature the benchmark measures on its own (``bedrock``)."""
    document: Document = copy.deepcopy(dict(production))
    router = document.setdefault("router_settings", {})
    for key in ROUTING_KEYS:
        router.pop(key, None)
    litellm_settings = document.setdefault("litellm_settings", {})
    litellm_settings.pop("callbacks", None)
    litellm_settings.pop("json_logs", None)
    document.pop("guardrails", None)
    (document.get("environment_variables") or {}).pop(PHOENIX_PROJECT_VARIABLE, None)
    if not document.get("environment_variables"):
        document.pop("environment_variables", None)
    return document


def _add_callback(document: Document, production: Mapping[str, Any], callback: str) -> None:
    if callback not in _callbacks(production):
        raise StackConfigError(f"the production config has no {callback} callback to measure")
    document["litellm_settings"]["callbacks"] = [*_callbacks(document), callback]


def _with_routing(document: Document, production: Mapping[str, Any]) -> None:
    router = production.get("router_settings") or {}
    if not any(key in router for key in REDIS_KEYS):
        raise StackConfigError("the production config's router_settings have no Redis to measure")
    document["router_settings"] |= {key: router[key] for key in ROUTING_KEYS if key in router}


def _with_metrics(document: Document, production: Mapping[str, Any]) -> None:
    _add_callback(document, production, METRICS_CALLBACK)


def _with_phoenix(document: Document, production: Mapping[str, Any]) -> None:
    _add_callback(document, production, PHOENIX_CALLBACK)
    project = (production.get("environment_variables") or {}).get(PHOENIX_PROJECT_VARIABLE)
    if project is not None:
        document.setdefault("environment_variables", {})[PHOENIX_PROJECT_VARIABLE] = project


def _with_json_logs(document: Document, production: Mapping[str, Any]) -> None:
    if not (production.get("litellm_settings") or {}).get("json_logs"):
        raise StackConfigError("the production config does not turn json_logs on")
    document["litellm_settings"]["json_logs"] = True


def _with_guardrails(document: Document, production: Mapping[str, Any]) -> None:
    if not production.get("guardrails"):
        raise StackConfigError("the production config has no guardrails to measure")
    document["guardrails"] = copy.deepcopy(production["guardrails"])


FEATURES: Final[dict[str, tuple[str, Callable[[Document, Mapping[str, Any]], None]]]] = {
    "redis": ("+ Redis: usage-based routing and rpm/tpm limits shared through Redis", _with_routing),
    "metrics": ("+ the metrics callback (one CloudWatch EMF line per request)", _with_metrics),
    "phoenix": ("+ the arize_phoenix callback (one OpenTelemetry trace per request)", _with_phoenix),
    "json_logs": ("+ json_logs", _with_json_logs),
    "guardrails": ("+ the Bedrock guardrail before and after the call", _with_guardrails),
}
"""Each feature the benchmark puts back on ``bedrock`` on its own: its description and how."""


@dataclass(frozen=True)
class Variant:
    """One proxy of the benchmark: its config, the model group it is called on, and how it runs."""

    name: str
    description: str
    document: Document
    model: str
    workers: int = 1
    derived: bool = True
    """Whether the local stack derives the run config (validation, local endpoints); not for the baseline."""
    environment: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Variables this proxy gets on top of the stack's (a tuning experiment's)."""


def variants(production: Mapping[str, Any], model: str, *, features: tuple[str, ...] | None = None) -> list[Variant]:
    """LiteLLM's two baselines, ``bedrock``, one variant per feature, production without guardrails, production."""
    unknown = sorted(set(features or ()) - set(FEATURES))
    if unknown:
        raise StackConfigError(f"unknown benchmark feature(s) {', '.join(unknown)}: choose from {', '.join(FEATURES)}")
    bedrock = strip_features(production)
    mock_text = "LiteLLM's own benchmark config, network_mock (answered in process)"
    endpoint_text = "LiteLLM's own benchmark config, a fake OpenAI server on loopback"
    bedrock_text = "production's Bedrock deployments through SigV4 to the emulator, no feature"
    chosen: list[Variant] = [
        Variant("litellm-mock", mock_text, baseline_document(network_mock=True), BASELINE_MODEL, derived=False),
        Variant(
            "litellm-endpoint", endpoint_text, baseline_document(network_mock=False), BASELINE_MODEL, derived=False
        ),
        Variant("bedrock", bedrock_text, bedrock, model),
    ]
    for name in features if features is not None else tuple(FEATURES):
        description, apply = FEATURES[name]
        document = copy.deepcopy(bedrock)
        apply(document, production)
        chosen.append(Variant(name, description, document, model))
    no_guardrails = copy.deepcopy(dict(production))
    no_guardrails.pop("guardrails", None)
    chosen.append(Variant("production-no-guardrails", "production without its guardrails", no_guardrails, model))
    chosen.append(Variant("production", "the production config as a whole", copy.deepcopy(dict(production)), model))
    return chosen


TUNING_REFERENCE: Final = "production-no-guardrails"
"""What each tuning experiment changes one thing of (the guardrails' round trips would drown the change)."""


def tuning_variants(production: Mapping[str, Any], model: str) -> list[Variant]:
    """One change at a time to production without guardrails: kept in the config only if it pays.

    - ``enable_pre_call_checks: false``: the router stops counting each prompt's tokens against the
      deployments' context windows before the call (an oversized prompt then fails at Bedrock and
      still falls back through ``context_window_fallbacks``, one wasted call later);
    - ``LITELLM_LOG=WARNING`` instead of infra's ``ERROR``: whether the log level changes the
      per-request work at all (``json_logs`` formats only what is emitted).
    """
    bare = copy.deepcopy(dict(production))
    bare.pop("guardrails", None)
    no_checks = copy.deepcopy(bare)
    no_checks.setdefault("router_settings", {})["enable_pre_call_checks"] = False
    return [
        Variant("tune-no-pre-call-checks", "production-no-guardrails, enable_pre_call_checks false", no_checks, model),
        Variant(
            "tune-log-warning",
            "production-no-guardrails, LITELLM_LOG=WARNING",
            bare,
            model,
            environment={"LITELLM_LOG": "WARNING"},
        ),
    ]


def with_workers(variant: Variant, workers: int) -> Variant:
    """The same config served by ``workers`` processes (LiteLLM's ``NUM_WORKERS``)."""
    if workers < 1:
        raise StackConfigError(f"workers must be at least 1, not {workers}")
    return Variant(
        f"{variant.name}-{workers}w",
        f"{variant.description}, {workers} workers",
        variant.document,
        variant.model,
        workers=workers,
        derived=variant.derived,
        environment=variant.environment,
    )


def run_config(stack: LocalStack, variant: Variant, directory: Path) -> RunConfig:
    """The variant's config and environment on the running ``stack`` (its emulator, Redis and Phoenix).

    A derived variant goes through the local stack's own derivation (validated by gateway-config,
    every ``bedrock/`` call to the emulator); the baseline is LiteLLM's config as its docs write it.
    """
    if stack.info is None or stack.run_config is None:
        raise StateError("start the stack before deriving a benchmark proxy's config")
    if not variant.derived:
        text = yaml.safe_dump(variant.document, sort_keys=False)
        environment = {
            "LITELLM_MASTER_KEY": stack.info.master_key,
            BENCHMARK_API_BASE_VARIABLE: stack.info.emulator_url + OPENAI_BENCHMARK_PATH,
        }
        run = RunConfig(yaml_text=text, environment=environment)
    else:
        path = directory / f"{variant.name}.yaml"
        path.write_text(yaml.safe_dump(variant.document, sort_keys=False), encoding="utf-8")
        endpoints = Endpoints(
            emulator_url=stack.info.emulator_url,
            redis_port=stack.info.redis_port,
            redis_password=stack.run_config.environment.get("REDIS_PASSWORD"),
            phoenix_url=stack.info.phoenix_url,
        )
        run = build_run_config(path, endpoints, stack.info.master_key, os.environ)
    extra = {"NUM_WORKERS": str(variant.workers), **variant.environment}
    return dataclasses.replace(run, environment=run.environment | extra)
