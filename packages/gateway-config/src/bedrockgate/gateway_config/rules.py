"""Rules that span sections: what each field's type cannot know on its own.

LiteLLM accepts a fallback to a model group that does not exist and only fails when a request
needs it, under load, in production. These rules fail the config instead.

They read the document itself rather than the typed model, so that they still run when some
field elsewhere has the wrong type: one run reports every problem. Anything malformed is skipped
here; the type checks report it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

from bedrockgate.gateway_config._document import as_list, as_mapping, mappings_in
from bedrockgate.gateway_config._litellm_keys import CALLBACK_NAMES, GUARDRAIL_TYPES
from bedrockgate.gateway_config.exceptions import Location

__all__ = ["check_rules"]

PathMessage = tuple[Location, str]

_FALLBACK_LISTS = ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks")


def check_rules(document: Mapping[str, Any]) -> list[PathMessage]:
    """Every cross-section problem in the config document; an empty list when there is none."""
    return [
        *_deployment_id_problems(document),
        *_include_problems(document),
        *_fallback_problems(document),
        *_guardrail_problems(document),
        *_legacy_guardrails(document),
        *_callback_problems(document),
    ]


def model_groups(document: Mapping[str, Any]) -> list[str]:
    """The model names the document declares, each once, in order."""
    names = (entry.get("model_name") for _, entry in mappings_in(document.get("model_list")))
    return list(dict.fromkeys(name for name in names if isinstance(name, str)))


def _deployment_id_problems(document: Mapping[str, Any]) -> Iterator[PathMessage]:
    first: dict[str, int] = {}
    for index, entry in mappings_in(document.get("model_list")):
        deployment_id = as_mapping(entry.get("model_info")).get("id")
        if not isinstance(deployment_id, str):
            continue
        if deployment_id in first:
            yield (
                ("model_list", index, "model_info", "id"),
                f"deployment id {deployment_id!r} is taken by model_list entry {first[deployment_id]}: "
                "LiteLLM keeps only one deployment per id",
            )
        first.setdefault(deployment_id, index)


def _include_problems(document: Mapping[str, Any]) -> Iterator[PathMessage]:
    if "include" in document:
        yield (
            ("include",),
            "include: is not supported by this validator, which must see the whole config to check "
            "it; inline the included sections",
        )


def _fallback_problems(document: Mapping[str, Any]) -> Iterator[PathMessage]:
    router = as_mapping(document.get("router_settings"))
    aliases = as_mapping(router.get("model_group_alias"))
    known = set(model_groups(document)) | {name for name in aliases if isinstance(name, str)}
    for list_name in _FALLBACK_LISTS:
        for index, rule in mappings_in(router.get(list_name)):
            yield from _rule_problems(rule, ("router_settings", list_name, index), known)
    for index, target in enumerate(as_list(router.get("default_fallbacks"))):
        if isinstance(target, str) and target not in known:
            yield (("router_settings", "default_fallbacks", index), _unknown_group(target, known))


def _rule_problems(rule: Mapping[Any, Any], path: Location, known: set[str]) -> Iterator[PathMessage]:
    if len(rule) != 1:
        yield (
            path,
            f"each fallback entry maps one model group to its fallbacks; this one has {len(rule)} keys",
        )
    for source, targets in rule.items():
        if isinstance(source, str) and source not in known:
            yield ((*path, source), _unknown_group(source, known))
        for position, target in enumerate(as_list(targets)):
            if not isinstance(target, str):
                continue
            if target not in known:
                yield ((*path, source, position), _unknown_group(target, known))
            elif target == source:
                yield ((*path, source, position), f"model group {target!r} falls back to itself")


def _unknown_group(name: str, known: set[str]) -> str:
    listing = ", ".join(sorted(known)) or "nothing"
    return f"no model group is named {name!r}; model_list declares: {listing}"


def _guardrail_problems(document: Mapping[str, Any]) -> Iterator[PathMessage]:
    seen: dict[str, int] = {}
    for index, guardrail in mappings_in(document.get("guardrails")):
        path: Location = ("guardrails", index)
        name = guardrail.get("guardrail_name")
        if isinstance(name, str):
            if name in seen:
                yield (
                    (*path, "guardrail_name"),
                    f"guardrail name {name!r} is used by entry {seen[name]} too",
                )
            seen.setdefault(name, index)
        params = as_mapping(guardrail.get("litellm_params"))
        kind = params.get("guardrail")
        if not isinstance(kind, str) or not kind:
            continue
        if kind not in GUARDRAIL_TYPES and "." not in kind:  # module.Class is a custom guardrail
            yield (
                (*path, "litellm_params", "guardrail"),
                _unknown_name("guardrail integration", kind, GUARDRAIL_TYPES)
                + " (LiteLLM would skip this guardrail and start without it)",
            )
        elif kind == "bedrock":
            for key in ("guardrailIdentifier", "guardrailVersion"):
                if params.get(key) is None:
                    yield (
                        (*path, "litellm_params", key),
                        f"a Bedrock guardrail needs {key}; without it LiteLLM starts without the guardrail",
                    )


def _legacy_guardrails(document: Mapping[str, Any]) -> Iterator[PathMessage]:
    if as_mapping(document.get("litellm_settings")).get("guardrails") is not None:
        yield (
            ("litellm_settings", "guardrails"),
            "guardrails under litellm_settings are LiteLLM's old format; move them to the top-level "
            "'guardrails:' list (guardrail_name + litellm_params with guardrail and mode)",
        )


def _callback_problems(document: Mapping[str, Any]) -> Iterator[PathMessage]:
    settings = as_mapping(document.get("litellm_settings"))
    for key in ("callbacks", "success_callback", "failure_callback"):
        value = settings.get(key)
        named: list[tuple[Location, Any]] = (
            [(("litellm_settings", key), value)]
            if isinstance(value, str)
            else [(("litellm_settings", key, index), item) for index, item in enumerate(as_list(value))]
        )
        for path, name in named:
            if isinstance(name, str) and name and "." not in name and name not in CALLBACK_NAMES:
                yield (
                    path,
                    _unknown_name("callback", name, CALLBACK_NAMES)
                    + " (a custom callback is written module.instance: an instance, not a class)",
                )


def _unknown_name(kind: str, name: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}{hint}"
