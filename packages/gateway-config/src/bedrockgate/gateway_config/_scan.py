"""One pass over the raw document for what no field type can see: environment references.

Every string that starts with ``os.environ/`` becomes an :class:`EnvRef` wherever it stands, in
typed fields and in free-form ones, so that ``required_env`` misses none. A malformed reference
and a ``${VAR}`` placeholder (which LiteLLM passes through as literal text) are problems here.
"""

from __future__ import annotations

from typing import Any

from bedrockgate.gateway_config.env_ref import ENV_PREFIX, EnvRef, find_shell_placeholder
from bedrockgate.gateway_config.exceptions import Location

__all__ = ["scan_document"]

PathMessage = tuple[Location, str]


def scan_document(data: Any) -> tuple[Any, list[PathMessage]]:
    """Return a copy of ``data`` with references typed, and the problems found on the way."""
    problems: list[PathMessage] = []
    return _scan(data, (), problems, frozenset()), problems


def _scan(value: Any, path: Location, problems: list[PathMessage], open_ids: frozenset[int]) -> Any:
    if isinstance(value, str):
        return _scan_text(value, path, problems)
    if isinstance(value, dict | list):
        if id(value) in open_ids:
            problems.append((path, "this value contains itself (a recursive YAML alias); write it out"))
            return None
        open_ids = open_ids | {id(value)}
        if isinstance(value, list):
            return [_scan(item, (*path, index), problems, open_ids) for index, item in enumerate(value)]
        return {key: _scan(item, (*path, _key(key)), problems, open_ids) for key, item in value.items()}
    return value


def _key(key: object) -> str | int:
    return key if isinstance(key, str | int) and not isinstance(key, bool) else str(key)


def _scan_text(text: str, path: Location, problems: list[PathMessage]) -> str:
    if text.startswith(ENV_PREFIX):
        try:
            return EnvRef(text)
        except ValueError as error:
            problems.append((path, str(error)))
            return text
    if ENV_PREFIX in text:
        problems.append(
            (
                path,
                f"{ENV_PREFIX!r} must begin the value: LiteLLM reads the environment only when the whole "
                f"value is {ENV_PREFIX}VAR, and leaves this text as it is",
            )
        )
        return text
    placeholder = find_shell_placeholder(text)
    if placeholder is not None:
        name = placeholder.strip("${}") or "VAR"
        problems.append(
            (
                path,
                f"{placeholder} is a shell placeholder, which LiteLLM does not expand (it would send the "
                f"literal text); write the whole value as {ENV_PREFIX}{name}",
            )
        )
    return text
