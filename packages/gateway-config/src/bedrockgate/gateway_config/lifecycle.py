"""Each deployment's model against LiteLLM's bundled model map: known, priced, not retired.

LiteLLM starts with any model id. One its map does not know is served, but every request is
recorded at cost 0 and its context window is unknown, so budgets, cost dashboards and
context-window fallbacks are silently wrong: a warning. One whose ``deprecation_date`` has passed
is no longer served by Bedrock, so every request to it fails: an error. One that reaches that
date within :data:`WARNING_DAYS` days is a warning, so there is time to move.

The severity of a dated model, with ``days = deprecation_date - today``::

    days <= 0            error    (deprecated on or before today)
    0 < days <= 90       warning  (deprecated within 90 days)
    days > 90            nothing

Today comes from a clock passed in (``date.today`` unless a caller gives another), so tests fix
the date and never start failing on a calendar day. Only ``bedrock/...`` models are looked up:
the snapshot holds Bedrock's part of the map, the only provider the gateway is built for.

    >>> from datetime import date
    >>> deprecation_severity(date(2027, 3, 30), today=date(2027, 1, 1))
    <Severity.WARNING: 'warning'>
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any, Final

from bedrockgate.gateway_config._document import as_mapping, mappings_in
from bedrockgate.gateway_config.exceptions import Location, Severity
from bedrockgate.gateway_config.model_map import BEDROCK_PREFIX, ModelEntry, model_map

__all__ = ["WARNING_DAYS", "Clock", "Finding", "check_models", "deprecation_severity"]

WARNING_DAYS: Final = 90
"""A model deprecated within this many days (inclusive) is a warning."""

Clock = Callable[[], date]
"""Where today's date comes from: ``date.today`` in use, a fixed date in tests."""

Finding = tuple[Location, str, Severity]


def deprecation_severity(deprecation: date, *, today: date) -> Severity | None:
    """How much a deprecation date matters on ``today``; None when it is more than 90 days away."""
    days_left = (deprecation - today).days
    if days_left <= 0:
        return Severity.ERROR
    if days_left <= WARNING_DAYS:
        return Severity.WARNING
    return None


def check_models(document: Mapping[str, Any], *, today: date) -> list[Finding]:
    """Every finding about the deployments' Bedrock models in the config document, in document order.

    Like the rules, this reads the document, so it still runs when a field elsewhere is mistyped.
    """
    return [
        finding
        for index, entry in mappings_in(document.get("model_list"))
        for finding in _deployment(index, entry, today)
    ]


def _deployment(index: int, entry: Mapping[Any, Any], today: date) -> Iterator[Finding]:
    params = as_mapping(entry.get("litellm_params"))
    info = as_mapping(entry.get("model_info"))
    group = entry.get("model_name")
    who = f"deployment {group!r}" if isinstance(group, str) else f"model_list entry {index}"
    named: list[tuple[Location, str]] = []
    model = params.get("model")
    if isinstance(model, str) and model.startswith(BEDROCK_PREFIX):
        named.append((("model_list", index, "litellm_params", "model"), model))
    base_model = info.get("base_model")
    if named and isinstance(base_model, str) and base_model:
        # LiteLLM prices a deployment by its base_model when one is set: an ARN needs it.
        priced_as = base_model if base_model.startswith(BEDROCK_PREFIX) else BEDROCK_PREFIX + base_model
        named.append((("model_list", index, "model_info", "base_model"), priced_as))
    found = [(path, name, known) for path, name in named if (known := model_map().lookup(name)) is not None]
    for path, name, known in found:
        yield from _dated(path, who, name, known, today)
        if not known.priced:
            yield (path, f"{who}: LiteLLM's model map lists {name!r} without a price: {_ZERO_COST}", Severity.WARNING)
    if named and not found:
        yield from _unknown(named[0], who, params, info)


_ZERO_COST: Final = "every request is recorded at cost 0 (budgets and cost metrics miss it)"


def _dated(path: Location, who: str, name: str, known: ModelEntry, today: date) -> Iterator[Finding]:
    if known.deprecation_date is None:
        return
    severity = deprecation_severity(known.deprecation_date, today=today)
    when = known.deprecation_date.isoformat()
    entry = "" if known.key == name.removeprefix(BEDROCK_PREFIX) else f" (as {known.key!r})"
    source = f"the deprecation_date of LiteLLM {model_map().litellm_version}'s model map{entry}"
    if severity is Severity.ERROR:
        yield (
            path,
            f"{who}: {name!r} is deprecated since {when} ({source}): requests to a retired model fail; "
            "move to a current model",
            severity,
        )
    elif severity is Severity.WARNING:
        days = (known.deprecation_date - today).days
        yield (
            path,
            f"{who}: {name!r} is deprecated on {when}, in {days} day{'s' if days != 1 else ''} ({source}): "
            "requests to it may fail from then on; move to a current model before that date",
            severity,
        )


def _unknown(
    named: tuple[Location, str], who: str, params: Mapping[Any, Any], info: Mapping[Any, Any]
) -> Iterator[Finding]:
    path, name = named
    custom_price = any(
        isinstance(section.get(key), int | float)
        for section in (params, info)
        for key in ("input_cost_per_token", "output_cost_per_token")
    )
    custom_window = isinstance(info.get("max_input_tokens"), int)
    unknowns = ([] if custom_price else ["its cost is unknown: requests are recorded at cost 0"]) + (
        [] if custom_window else ["its context window is unknown: context-window fallbacks cannot act on it"]
    )
    if not unknowns:
        return
    looked_up = ", ".join(repr(candidate) for candidate in model_map().candidates(name)[1:])
    yield (
        path,
        f"{who}: {name!r} is not in LiteLLM {model_map().litellm_version}'s model map (nor {looked_up}); "
        f"{'; '.join(unknowns)}. Use an id the map lists (a current model, e.g. through an us. or global. "
        "inference profile), or set model_info.base_model to the model whose price applies",
        Severity.WARNING,
    )
