"""Chat requests whose shape LiteLLM 1.106.2 turns into a slow 500: answered 400 before any call.

Measured on the local stack (issue 16, item 6): a message ``content`` that is a number or an object
(``{"role": "user", "content": 5}``) fails inside LiteLLM's prompt handling with a ``TypeError``
that it maps to ``APIConnectionError``, a *retryable* error: the router retries it (``num_retries``,
``retry_after``), then every fallback does the same, and the client gets
``500 internal_server_error`` after about 50 s. A ``tools`` value that is not a list takes the same
50 s before its 400; a ``stop`` that is not text, or an embedding ``input`` that is a number or an
object, the same 50 s before a 503/500 (Bedrock's own answer would be a 400); and a ``response_format``
that is not an object with a ``type`` is a 500 (``Unsupported response_format type``). The client's
mistake reads as a gateway failure.

The checks below run in the proxy's pre-call hook, before the router: only the types that cause
this, nothing the OpenAI API allows (``content`` may be a string, a list of parts, or null;
``tools`` a list; ``stop`` text or a list of text; an embedding ``input`` text or a list;
``response_format`` an object with a ``type``). Everything else is LiteLLM's to judge, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import HTTPException

__all__ = ["rejection", "request_problem"]


def request_problem(data: object) -> str | None:
    """What is wrong with the types of a chat or embedding request's fields above, or ``None``."""
    if not isinstance(data, Mapping):
        return None
    return next((problem for check in _CHECKS if (problem := check(data)) is not None), None)


def _messages(data: Mapping[str, object]) -> str | None:
    messages = data.get("messages")
    return _messages_problem(messages) if isinstance(messages, list) else None


def _tools(data: Mapping[str, object]) -> str | None:
    tools = data.get("tools")
    return (
        None
        if tools is None or isinstance(tools, list)
        else f"tools must be a list of tool objects, got {_kind(tools)}"
    )


def _stop(data: Mapping[str, object]) -> str | None:
    stop = data.get("stop")
    if stop is None or isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        return None
    return f"stop must be a string or a list of strings, got {_kind(stop)}"


def _embedding_input(data: Mapping[str, object]) -> str | None:
    embedded = data.get("input")
    if "messages" in data or embedded is None or isinstance(embedded, str | list):
        return None
    return f"input must be a string or a list, got {_kind(embedded)}"


def _response_format(data: Mapping[str, object]) -> str | None:
    answer_format = data.get("response_format")
    if answer_format is None or (isinstance(answer_format, Mapping) and isinstance(answer_format.get("type"), str)):
        return None
    return f'response_format must be an object with a "type" (e.g. {{"type": "text"}}), got {_kind(answer_format)}'


_CHECKS: tuple[Callable[[Mapping[str, object]], str | None], ...] = (
    _messages,
    _tools,
    _stop,
    _embedding_input,
    _response_format,
)


def _messages_problem(messages: list[object]) -> str | None:
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            return f"messages[{index}] must be an object with 'role' and 'content', got {_kind(message)}"
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            return f"messages[{index}].content must be a string, a list of content parts or null, got {_kind(content)}"
        for part_index, part in enumerate(content if isinstance(content, list) else []):
            if not isinstance(part, Mapping):
                return (
                    f"messages[{index}].content[{part_index}] must be a content part object "
                    f'(e.g. {{"type": "text", "text": "..."}}), got {_kind(part)}'
                )
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
