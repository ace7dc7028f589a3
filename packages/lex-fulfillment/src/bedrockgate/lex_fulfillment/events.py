"""Read what the handler needs from a Lex V2 event, whatever shape the event has.

The event format is documented in "AWS Lambda input event format for Lex V2", and the docs warn
that it "may change without a corresponding change to the messageVersion": unknown fields are
ignored, and a missing or mistyped field reads as absent. ``parse_event`` is total: any Python
object gives a ``LexRequest``, never an exception.

What is echoed back to Lex (session attributes, active contexts, the intent name) is kept only
when it is valid by the Lex V2 runtime model (botocore ``lexv2-runtime`` shapes), so a malformed
event cannot make the response malformed.
"""

from __future__ import annotations

import math

from bedrockgate.lex_fulfillment.text import MAX_MESSAGE_UNITS, clean_text, lex_length

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

__all__ = ["FALLBACK_INTENT", "MAX_INPUT_CHARS", "LexRequest", "parse_event", "valid_intent_name"]

FALLBACK_INTENT: Final = "FallbackIntent"
"""The intent named in the response when the event names none that is valid (Lex's built-in fallback)."""

MAX_INPUT_CHARS: Final = 4096
"""Lex sends at most 1,024 characters of user input; longer text is not from Lex and is cut here."""

_MAX_LOG_FIELD: Final = 128
_MAX_ACTIVE_CONTEXTS: Final = 20
_MAX_CONTEXT_ATTRIBUTES: Final = 10


class LexRequest:
    """The parts of a Lex V2 event this handler uses, each of a known type."""

    __slots__ = (
        "active_contexts",
        "input_mode",
        "input_truncated",
        "intent_name",
        "invocation_source",
        "session_attributes",
        "session_id",
        "text",
        "text_source",
    )

    def __init__(
        self,
        *,
        text: str = "",
        text_source: str = "none",
        session_id: str = "",
        intent_name: str = FALLBACK_INTENT,
        invocation_source: str = "",
        input_mode: str = "",
        session_attributes: dict[str, str] | None = None,
        active_contexts: list[dict[str, Any]] | None = None,
        input_truncated: bool = False,
    ) -> None:
        self.text = text
        """The user's words, stripped; empty when the event carries none."""
        self.text_source = text_source
        """Where the text came from: ``inputTranscript``, ``transcription`` or ``none``."""
        self.session_id = session_id
        """For logs only (cut to 128 characters)."""
        self.intent_name = intent_name
        self.invocation_source = invocation_source
        self.input_mode = input_mode
        self.session_attributes: dict[str, str] = session_attributes or {}
        """The valid string-to-string entries of ``sessionState.sessionAttributes``."""
        self.active_contexts: list[dict[str, Any]] = active_contexts or []
        """The well-formed entries of ``sessionState.activeContexts``, to hand back unchanged."""
        self.input_truncated = input_truncated


def parse_event(event: object) -> LexRequest:
    """The ``LexRequest`` in ``event``; absent or malformed parts read as empty."""
    if not isinstance(event, dict):
        return LexRequest()
    session_state = _dict(event.get("sessionState"))
    text, source = _user_text(event)
    truncated = len(text) > MAX_INPUT_CHARS
    if truncated:
        text = text[:MAX_INPUT_CHARS].strip()
    return LexRequest(
        text=text,
        text_source=source,
        session_id=_log_field(event.get("sessionId")),
        intent_name=_intent_name(session_state, event),
        invocation_source=_log_field(event.get("invocationSource")),
        input_mode=_log_field(event.get("inputMode")),
        session_attributes=_string_map(session_state.get("sessionAttributes")),
        active_contexts=_active_contexts(session_state.get("activeContexts")),
        input_truncated=truncated,
    )


def valid_intent_name(name: object) -> bool:
    """Whether ``name`` is a Lex V2 intent name: 1-100 characters matching ``^([0-9a-zA-Z][_-]?)+$``."""
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        return False
    after_separator = True  # the first character must be a letter or digit
    for char in name:
        if char.isascii() and char.isalnum():
            after_separator = False
        elif char in "_-" and not after_separator:
            after_separator = True
        else:
            return False
    return True


def _user_text(event: dict[Any, Any]) -> tuple[str, str]:
    """``inputTranscript`` when it holds words, else the most confident transcription."""
    transcript = event.get("inputTranscript")
    if isinstance(transcript, str) and transcript.strip():
        return clean_text(transcript).strip(), "inputTranscript"
    transcriptions = event.get("transcriptions")
    if not isinstance(transcriptions, list):
        return "", "none"
    best_text, best_confidence = "", -1.0
    for candidate in transcriptions:
        if not isinstance(candidate, dict):
            continue
        text = candidate.get("transcription")
        if not isinstance(text, str) or not text.strip():
            continue
        confidence = _confidence(candidate.get("transcriptionConfidence"))
        if not best_text or confidence > best_confidence:
            best_text, best_confidence = text, confidence
    if not best_text:
        return "", "none"
    return clean_text(best_text).strip(), "transcription"


def _confidence(value: object) -> float:
    """A confidence score: a number, or a numeric string (seen in the wild: ``"1.0"``); else -1."""
    if isinstance(value, bool):
        return -1.0
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return -1.0
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return -1.0


def _intent_name(session_state: dict[Any, Any], event: dict[Any, Any]) -> str:
    """The intent Lex is running: ``sessionState.intent.name``, else the top interpretation's."""
    name = _dict(session_state.get("intent")).get("name")
    if valid_intent_name(name):
        return str(name)
    interpretations = event.get("interpretations")
    if isinstance(interpretations, list) and interpretations:
        name = _dict(_dict(interpretations[0]).get("intent")).get("name")
        if valid_intent_name(name):
            return str(name)
    return FALLBACK_INTENT


def _string_map(value: object) -> dict[str, str]:
    """The entries of a Lex ``StringMap`` that are valid: non-empty string keys, string values."""
    if not isinstance(value, dict):
        return {}
    return {
        clean_text(key): clean_text(item)
        for key, item in value.items()
        if isinstance(key, str) and key and isinstance(item, str)
    }


def _active_contexts(value: object) -> list[dict[str, Any]]:
    """The active contexts that are valid by the runtime model, as plain JSON, at most 20."""
    if not isinstance(value, list):
        return []
    contexts: list[dict[str, Any]] = []
    for item in value:
        context = _active_context(item)
        if context is not None:
            contexts.append(context)
            if len(contexts) == _MAX_ACTIVE_CONTEXTS:
                break
    return contexts


def _active_context(item: object) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    name = item.get("name")
    ttl = item.get("timeToLive")
    attributes = item.get("contextAttributes")
    if not (_valid_context_name(name) and isinstance(ttl, dict) and isinstance(attributes, dict)):
        return None
    seconds = ttl.get("timeToLiveInSeconds")
    turns = ttl.get("turnsToLive")
    if not (_int_in(seconds, 5, 86_400) and _int_in(turns, 1, 20)) or len(attributes) > _MAX_CONTEXT_ATTRIBUTES:
        return None
    for key, text in attributes.items():
        if not (isinstance(key, str) and 1 <= len(key) <= 100 and isinstance(text, str) and text):
            return None
        if lex_length(text) > MAX_MESSAGE_UNITS:
            return None
    return {
        "name": name,
        "timeToLive": {"timeToLiveInSeconds": seconds, "turnsToLive": turns},
        "contextAttributes": {clean_text(key): clean_text(text) for key, text in attributes.items()},
    }


def _valid_context_name(name: object) -> bool:
    """``ActiveContextName``: 1-100 characters matching ``^([A-Za-z0-9]_?)+$``."""
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        return False
    after_underscore = True
    for char in name:
        if char.isascii() and char.isalnum():
            after_underscore = False
        elif char == "_" and not after_underscore:
            after_underscore = True
        else:
            return False
    return True


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _dict(value: object) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _log_field(value: object) -> str:
    return clean_text(value[:_MAX_LOG_FIELD]) if isinstance(value, str) else ""
