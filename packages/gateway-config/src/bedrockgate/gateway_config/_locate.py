"""Which section model governs a place in the document, found by walking the models' annotations."""

from __future__ import annotations

import types
import typing
from typing import Any

from bedrockgate.gateway_config._section import Section
from bedrockgate.gateway_config.exceptions import Location
from pydantic import BaseModel

__all__ = ["annotation_candidates", "section_at"]


def section_at(root: type[BaseModel], path: Location) -> type[Section] | None:
    """The section model that validates the mapping at ``path``, when the path leads to one."""
    current: list[Any] = [root]
    for part in path:
        current = [step for candidate in current for step in _step(candidate, part)]
        if not current:
            return None
    for annotation in current:
        for candidate in annotation_candidates(annotation):
            if isinstance(candidate, type) and issubclass(candidate, Section):
                return candidate
    return None


def _step(annotation: Any, part: str | int) -> list[Any]:
    steps: list[Any] = []
    for candidate in annotation_candidates(annotation):
        origin = typing.get_origin(candidate)
        if isinstance(candidate, type) and issubclass(candidate, BaseModel) and isinstance(part, str):
            for name, field in candidate.model_fields.items():
                if (field.alias or name) == part:
                    steps.append(field.annotation)
        elif origin is list and isinstance(part, int):
            steps.extend(typing.get_args(candidate)[:1])
        elif origin is dict:
            steps.extend(typing.get_args(candidate)[1:2])
    return steps


def annotation_candidates(annotation: Any) -> list[Any]:
    """The types an annotation allows, with Annotated and unions taken apart."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return annotation_candidates(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [found for arg in typing.get_args(annotation) for found in annotation_candidates(arg)]
    return [annotation]
