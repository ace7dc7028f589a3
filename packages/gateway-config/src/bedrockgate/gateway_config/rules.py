"""Rules that span sections: what each field's type cannot know on its own.

LiteLLM accepts a fallback to a model group that does not exist and only fails when a request
needs it, under load, in production. These rules fail the config instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from bedrockgate.gateway_config._litellm_keys import CALLBACK_NAMES, GUARDRAIL_TYPES
from bedrockgate.gateway_config.config import GatewayConfig
from bedrockgate.gateway_config.exceptions import Location
from bedrockgate.gateway_config.router_settings import FallbackRule

__all__ = ["check_rules"]

PathMessage = tuple[Location, str]

_FALLBACK_LISTS = ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks")


def check_rules(config: GatewayConfig) -> list[PathMessage]:
    """Every cross-section problem in ``config``; an empty list when there is none."""
    return [
        *_deployment_id_problems(config),
        *_include_problems(config),
        *_fallback_problems(config),
        *_guardrail_problems(config),
        *_legacy_guardrails(config),
        *_callback_problems(config),
    ]


def _deployment_id_problems(config: GatewayConfig) -> Iterator[PathMessage]:
    first: dict[str, int] = {}
    for index, deployment in enumerate(config.model_list):
        deployment_id = deployment.model_info.id if deployment.model_info else None
        if deployment_id is None:
            continue
        if deployment_id in first:
            yield (
                ("model_list", index, "model_info", "id"),
                f"deployment id {deployment_id!r} is taken by model_list entry {first[deployment_id]}: "
                "LiteLLM keeps only one deployment per id",
            )
        first.setdefault(deployment_id, index)


def _include_problems(config: GatewayConfig) -> Iterator[PathMessage]:
    if "include" in config.passthrough:
        yield (
            ("include",),
            "include: is not supported by this validator, which must see the whole config to check "
            "it; inline the included sections",
        )


def _fallback_problems(config: GatewayConfig) -> Iterator[PathMessage]:
    settings = config.router_settings
    if settings is None:
        return
    known = config.referable_groups()
    for list_name in _FALLBACK_LISTS:
        rules: list[FallbackRule] | None = getattr(settings, list_name)
        for index, rule in enumerate(rules or []):
            yield from _rule_problems(rule, ("router_settings", list_name, index), known)
    for index, target in enumerate(settings.default_fallbacks or []):
        if target not in known:
            yield (("router_settings", "default_fallbacks", index), _unknown_group(target, known))


def _rule_problems(rule: FallbackRule, path: Location, known: set[str]) -> Iterator[PathMessage]:
    if len(rule) != 1:
        yield (path, f"each fallback entry maps one model group to its fallbacks; this one has {len(rule)} keys")
    for source, targets in rule.items():
        if source not in known:
            yield ((*path, source), _unknown_group(source, known))
        for position, target in enumerate(targets):
            if target not in known:
                yield ((*path, source, position), _unknown_group(target, known))
            elif target == source:
                yield ((*path, source, position), f"model group {target!r} falls back to itself")


def _unknown_group(name: str, known: set[str]) -> str:
    listing = ", ".join(sorted(known))
    return f"no model group is named {name!r}; model_list declares: {listing}"


def _guardrail_problems(config: GatewayConfig) -> Iterator[PathMessage]:
    seen: dict[str, int] = {}
    for index, guardrail in enumerate(config.guardrails or []):
        path: Location = ("guardrails", index)
        name = guardrail.guardrail_name
        if name in seen:
            yield ((*path, "guardrail_name"), f"guardrail name {name!r} is used by entry {seen[name]} too")
        seen.setdefault(name, index)
        params = guardrail.litellm_params
        if params.guardrail not in GUARDRAIL_TYPES:
            yield (
                (*path, "litellm_params", "guardrail"),
                _unknown_name("guardrail integration", params.guardrail, GUARDRAIL_TYPES)
                + "; LiteLLM would skip this guardrail and start without it",
            )
        elif params.guardrail == "bedrock":
            for key in ("guardrailIdentifier", "guardrailVersion"):
                if getattr(params, key) is None:
                    yield (
                        (*path, "litellm_params", key),
                        f"a Bedrock guardrail needs {key}; without it LiteLLM starts without the guardrail",
                    )


def _legacy_guardrails(config: GatewayConfig) -> Iterator[PathMessage]:
    if config.litellm_settings is not None and config.litellm_settings.guardrails is not None:
        yield (
            ("litellm_settings", "guardrails"),
            "guardrails under litellm_settings are LiteLLM's old format; move them to the top-level "
            "'guardrails:' list (guardrail_name + litellm_params with guardrail and mode)",
        )


def _callback_problems(config: GatewayConfig) -> Iterator[PathMessage]:
    settings = config.litellm_settings
    if settings is None:
        return
    for key in ("callbacks", "success_callback", "failure_callback"):
        value = getattr(settings, key)
        names = [value] if isinstance(value, str) else list(value or [])
        for index, name in enumerate(names):
            path: Location = ("litellm_settings", key) if isinstance(value, str) else ("litellm_settings", key, index)
            if "." not in name and name not in CALLBACK_NAMES:
                yield (
                    path,
                    _unknown_name("callback", name, CALLBACK_NAMES)
                    + "; a custom callback is written module.instance (an instance, not a class)",
                )


def _unknown_name(kind: str, name: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}{hint}"
