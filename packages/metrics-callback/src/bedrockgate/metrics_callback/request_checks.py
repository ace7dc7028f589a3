"""Chat requests whose shape LiteLLM 1.106.2 turns into a slow 500: answered 400 before any call.

Measured on the local stack (issue 16, item 6): a message ``content`` that is a number or an object
(``{"role": "user", "content": 5}``) fails inside LiteLLM's prompt handling with a ``TypeError``
that it maps to ``APIConnectionError``, a *retryable* error: the router retries it (``num_retries``,
``retry_after``), then every fallback does the same, and the client gets
``500 internal_server_error`` after about 50 s. A ``tools`` value that is not a list takes the same
50 s before its 400; a ``stop`` that is not text, or an embedding ``input`` that is a number or an
object, the same 50 s before a 503/500 (Bedrock's own answer would be a 400); and a ``response_format``
that is not an object with a ``type`` is a 500 (``Unsupported response_format type``); so is a
content part without a ``type`` string, of a type LiteLLM refuses in a user message, or a text or
image part without its text or URL (found by the bad-input property). The client's mistake reads
as a gateway failure.

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
            problem = _part_problem(part, user=message.get("role") == "user")
            if problem is not None:
                return f"messages[{index}].content[{part_index}] {problem}"
    return None


def _part_problem(part: object, *, user: bool) -> str | None:
    """A content part LiteLLM cannot read: it fails with a ``KeyError`` or ``TypeError`` (a 500)."""
    if not isinstance(part, Mapping):
        return f'must be a content part object (e.g. {{"type": "text", "text": "..."}}), got {_kind(part)}'
    kind = part.get("type")
    if not isinstance(kind, str):
        return f'must have a "type" string (e.g. "text"), got {_kind(kind)}'
    if user and kind not in _user_part_types():
        # LiteLLM's own check (ValidUserMessageContentTypes) raises it as a retryable error: a 500.
        return f"has a type this gateway does not accept in a user message: {', '.join(sorted(_user_part_types()))}"
    if kind == "text" and not isinstance(part.get("text"), str):
        return f'of type "text" must have a "text" string, got {_kind(part.get("text"))}'
    if kind == "image_url":
        image = part.get("image_url")
        if not (isinstance(image, str) or (isinstance(image, Mapping) and isinstance(image.get("url"), str))):
            return f'of type "image_url" must have an "image_url" with a "url" string, got {_kind(image)}'
    return None


def _user_part_types() -> frozenset[str]:
    """The part types LiteLLM accepts in a user message (its list when loaded, else the 1.106.2 one)."""
    try:
        from litellm.types.llms.openai import ValidUserMessageContentTypes  # noqa: PLC0415 - inside a proxy
    except ImportError:
        return _USER_PART_TYPES
    return frozenset(ValidUserMessageContentTypes)


_USER_PART_TYPES: frozenset[str] = frozenset(
    {"text", "image_url", "input_audio", "audio_url", "document", "guarded_text", "grounding_source", "query",
     "video_url", "file"}
)  # fmt: skip


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
