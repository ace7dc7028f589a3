"""Defensive reads of the raw config document, for checks that must run before types are known."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["as_list", "as_mapping", "mappings_in"]


def as_mapping(value: Any) -> Mapping[Any, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def mappings_in(value: Any) -> Iterator[tuple[int, Mapping[Any, Any]]]:
    """The mapping items of a list, with their index."""
    for index, item in enumerate(as_list(value)):
        if isinstance(item, Mapping):
            yield index, item
