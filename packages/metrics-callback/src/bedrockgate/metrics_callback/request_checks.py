"""Chat requests whose shape LiteLLM 1.106.2 turns into a slow 500: answered 400 before any call.

Measured on the local stack (issue 16, item 6): a message ``content`` that is a number or an object
(``{"role": "user", "content": 5}``) fails inside LiteLLM's prompt handling with a ``TypeError``
that it maps to ``APIConnectionError``, a *retryable* error: the router retries it (``num_retries``,
``retry_after``), then every fallback does the same, and the client gets
``500 internal_server_error`` after about 50 s. A ``tools`` value that is not a list takes the same
50 s before its 400. The client's mistake reads as a gateway failure and holds a worker the whole time.

The checks below run in the proxy's pre-call hook, before the router: only the types that cause
this, nothing the OpenAI API allows (``content`` may be a string, a list of parts, or null;
``tools`` a list). Everything else is LiteLLM's to judge, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import HTTPException

__all__ = ["rejection", "request_problem"]


def request_problem(data: object) -> str | None:
    """What is wrong with a chat request's ``messages`` or ``tools`` types, or ``None``."""
    if not isinstance(data, Mapping):
        return None
    messages = data.get("messages")
    if isinstance(messages, list):
        for index, message in enumerate(messages):
            if not isinstance(message, Mapping):
                return f"messages[{index}] must be an object with 'role' and 'content', got {_kind(message)}"
            content = message.get("content")
            if content is not None and not isinstance(content, str | list):
                return (
                    f"messages[{index}].content must be a string, a list of content parts or null, got {_kind(content)}"
                )
            if isinstance(content, list):
                for part_index, part in enumerate(content):
                    if not isinstance(part, Mapping):
                        return (
                            f"messages[{index}].content[{part_index}] must be a content part object "
                            f'(e.g. {{"type": "text", "text": "..."}}), got {_kind(part)}'
                        )
    tools = data.get("tools")
    if tools is not None and not isinstance(tools, list):
        return f"tools must be a list of tool objects, got {_kind(tools)}"
    return None


def rejection(data: object) -> HTTPException | None:
    """The 400 to raise for ``data``, or ``None`` to let the request through."""
    problem = request_problem(data)
    if problem is None:
        return None
    from fastapi import HTTPException  # noqa: PLC0415 - only inside a proxy, where fastapi is loaded

    return HTTPException(status_code=400, detail={"error": f"Invalid request: {problem}"})


def _kind(value: object) -> str:
    """The JSON type name of ``value`` (never the value: it may be a prompt)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
