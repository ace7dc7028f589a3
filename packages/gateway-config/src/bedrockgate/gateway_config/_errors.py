"""Turn pydantic's errors into problems a person can act on: the right path, and a suggestion.

Pydantic reports an unknown key as "Extra inputs are not permitted". Users need the key's name,
the section, and the key they probably meant, including keys that belong to another section
(``health_check_interval`` is a ``general_settings`` key, not a ``router_settings`` one).
"""

from __future__ import annotations

import difflib
from typing import Any

from bedrockgate.gateway_config._locate import annotation_candidates, section_at
from bedrockgate.gateway_config._section import PASSTHROUGH_ALIAS, Section
from bedrockgate.gateway_config.exceptions import Location
from pydantic import ValidationError
from pydantic_core import ErrorDetails

__all__ = ["messages_from_validation_error"]

PathMessage = tuple[Location, str]


def messages_from_validation_error(error: ValidationError, root: type[Section], data: Any) -> list[PathMessage]:
    """One ``(path, message)`` per pydantic error, its path cut to what the document holds."""
    messages: list[PathMessage] = []
    for detail in error.errors(include_url=False):
        path = _document_path(detail["loc"], data)
        if detail["type"] == "extra_forbidden" and path:
            messages.append((path, _unknown_key_message(root, path)))
        elif detail["type"] == "missing":
            messages.append((path, f"required key {path[-1]!r} is missing"))
        else:
            messages.append((path, _message(detail)))
    return list(dict.fromkeys(messages))


def _message(detail: ErrorDetails) -> str:
    message = detail["msg"]
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return message[0].lower() + message[1:] if message[:1].isupper() and message[1:2].islower() else message


def _document_path(loc: tuple[int | str, ...], data: Any) -> Location:
    """Keep the part of ``loc`` that walks the document; drop pydantic's type tags after it."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if part == PASSTHROUGH_ALIAS:
            continue
        if isinstance(current, dict):
            path.append(part)
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int):
            path.append(part)
            current = current[part] if 0 <= part < len(current) else None
        else:
            break
    return tuple(path)


def _unknown_key_message(root: type[Section], path: Location) -> str:
    key = str(path[-1])
    section = section_at(root, path[:-1])
    where = ".".join(str(part) for part in path[:-1]) or "the top level"
    if section is None:
        return f"unknown key {key!r} in {where}"
    message = f"unknown key {key!r} in {where}"
    close = difflib.get_close_matches(key, sorted(section.allowed_keys()), n=1, cutoff=0.75)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    elsewhere = _sections_with_key(root, key)
    if elsewhere:
        return f"{message}; it belongs in {' or '.join(elsewhere)}"
    return f"{message}: LiteLLM would ignore it (check the spelling against LiteLLM's docs)"


def _sections_with_key(root: type[Section], key: str) -> list[str]:
    found: list[str] = []
    for name, field in root.model_fields.items():
        for candidate in annotation_candidates(field.annotation):
            if isinstance(candidate, type) and issubclass(candidate, Section) and key in candidate.typed_keys():
                found.append(field.alias or name)
    return sorted(set(found))
