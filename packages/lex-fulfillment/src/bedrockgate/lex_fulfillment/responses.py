"""The Lex V2 response this handler returns: close the intent as fulfilled, with PlainText messages.

The format is "AWS Lambda response format for Lex V2": ``sessionState`` is always required, and a
``Close`` dialog action needs the intent's ``name`` and ``state``. Every turn closes the intent
(the bot's FallbackIntent hands every utterance to the gateway, and the next utterance starts a
new turn), as ``Fulfilled`` even when the message is the failure message: the message is what
the user sees, and the outcome in the log is what operators count. Messages are always
``PlainText``: model output is never interpreted as SSML or a payload (OWASP LLM05).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = ["close_response"]


def close_response(
    *,
    intent_name: str,
    messages: Sequence[str],
    session_attributes: Mapping[str, str],
    active_contexts: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The response that closes ``intent_name`` as fulfilled and says ``messages``, in order."""
    session_state: dict[str, Any] = {
        "dialogAction": {"type": "Close"},
        "intent": {"name": intent_name, "state": "Fulfilled"},
        "sessionAttributes": dict(session_attributes),
    }
    if active_contexts:
        session_state["activeContexts"] = [dict(context) for context in active_contexts]
    return {
        "sessionState": session_state,
        "messages": [{"contentType": "PlainText", "content": message} for message in messages],
    }
