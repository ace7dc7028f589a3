"""Conversation memory: the last few turns, carried between turns in one Lex session attribute.

Lex keeps ``sessionState.sessionAttributes`` for the session and hands them to every invocation;
their values must be strings, so the memory is a JSON string::

    {"v": 1, "turns": [["user text", "assistant reply"], ...]}   (oldest first)

It is bounded twice: at most ``LEX_MEMORY_TURNS`` turns, and at most ``LEX_MEMORY_MAX_CHARS``
characters of JSON (Lex limits the size of session attributes). When it does not fit, the oldest
turns go first; each stored text is clipped to a quarter of the budget, so the newest turn
always fits unless its JSON escaping is extreme.

Session attributes can be set by the client (``RecognizeText`` accepts a session state), so the
memory is untrusted input: it is parsed defensively, only pairs of strings are kept, and the
roles sent to the gateway are assigned here, never read from the attribute. A client can make up
a past turn, which is no more than it can say in the current one.
"""

from __future__ import annotations

import json

from bedrockgate.lex_fulfillment.settings import MAX_MEMORY_CHARS
from bedrockgate.lex_fulfillment.text import clean_text, clip, lex_length

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Final

__all__ = ["MEMORY_ATTRIBUTE", "Turn", "decode", "encode", "fit", "remember"]

MEMORY_ATTRIBUTE: Final = "bedrockgate_history"
"""The session attribute that holds the memory."""

Turn = tuple[str, str]
"""One exchange: what the user said, what the assistant answered."""

_VERSION: Final = 1
_EMPTY_SIZE: Final = len('{"v":1,"turns":[]}')
# Anything longer was not written by this handler (it writes at most MAX_MEMORY_CHARS): skip parsing it.
_MAX_READ_CHARS: Final = 2 * MAX_MEMORY_CHARS


def decode(value: str | None) -> tuple[list[Turn], str | None]:
    """The turns stored in the attribute's ``value``, and why some or all were dropped (``None`` if none were).

    Never raises: unusable memory reads as no memory, and the reason goes to the log.
    """
    if value is None:
        return [], None
    if len(value) > _MAX_READ_CHARS:
        return [], "too_large"
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return [], "not_json"
    if not isinstance(data, dict) or data.get("v") != _VERSION or not isinstance(data.get("turns"), list):
        return [], "unknown_format"
    stored = data["turns"]
    turns = [
        (clean_text(item[0]), clean_text(item[1]))
        for item in stored
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], str)
    ]
    return turns, None if len(turns) == len(stored) else "invalid_turns_dropped"


def fit(turns: Sequence[Turn], *, max_turns: int, max_chars: int) -> list[Turn]:
    """The longest suffix of ``turns`` with at most ``max_turns`` turns whose ``encode`` fits ``max_chars``.

    Sizes are UTF-16 units, as Lex counts; the oldest turns are the ones dropped.
    """
    if max_turns <= 0:
        return []
    size = _EMPTY_SIZE
    kept = 0
    for user, assistant in reversed(turns[-max_turns:]):
        cost = lex_length(_item(user, assistant)) + (1 if kept else 0)  # the comma between items
        if size + cost > max_chars:
            break
        size += cost
        kept += 1
    return list(turns[len(turns) - kept :])


def encode(turns: Sequence[Turn]) -> str:
    """The attribute value that holds ``turns``; ``decode`` reads it back."""
    items = ",".join(_item(user, assistant) for user, assistant in turns)
    return f'{{"v":{_VERSION},"turns":[{items}]}}'


def _item(user: str, assistant: str) -> str:
    return json.dumps([user, assistant], ensure_ascii=False, separators=(",", ":"))


def remember(turns: Sequence[Turn], user: str, assistant: str, *, max_chars: int) -> list[Turn]:
    """``turns`` with one more exchange, each text clipped to a quarter of ``max_chars``."""
    limit = max(16, max_chars // 4)
    return [*turns, (clip(user, limit), clip(assistant, limit))]
