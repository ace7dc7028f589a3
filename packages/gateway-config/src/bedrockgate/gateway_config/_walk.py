"""Walk a validated config: every section and every value, with the path it has in the YAML."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bedrockgate.gateway_config._section import Section
from bedrockgate.gateway_config.exceptions import Location
from pydantic import BaseModel

__all__ = ["iter_sections", "iter_values"]


def iter_sections(section: Section, path: Location = ()) -> Iterator[tuple[Location, Section]]:
    """``section`` and every section inside it, outermost first."""
    yield path, section
    for child_path, value in _children(section, path):
        yield from _sections_in(value, child_path)


def _sections_in(value: Any, path: Location) -> Iterator[tuple[Location, Section]]:
    if isinstance(value, Section):
        yield from iter_sections(value, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _sections_in(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _sections_in(item, (*path, key))


def iter_values(value: Any, path: Location = ()) -> Iterator[tuple[Location, Any]]:
    """Every scalar in the config, typed fields and passthrough keys alike."""
    if isinstance(value, BaseModel):
        for child_path, child in _children(value, path):
            yield from iter_values(child, child_path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_values(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_values(item, (*path, key))
    else:
        yield path, value


def _children(model: BaseModel, path: Location) -> Iterator[tuple[Location, Any]]:
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if name == "passthrough" and isinstance(model, Section):
            for key, item in value.items():
                yield (*path, key), item
        elif value is not None:
            yield (*path, field.alias or name), value
