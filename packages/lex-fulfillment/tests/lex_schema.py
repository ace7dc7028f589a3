"""The schema of a valid Lex V2 Lambda response, written from the documentation, as a checker.

Sources, and what each rule comes from:

- "AWS Lambda response format for Lex V2" (docs.aws.amazon.com/lexv2/latest/dg/lambda-response-format):
  the top level is ``sessionState`` (always required), ``messages`` and ``requestAttributes``;
  ``messages`` is required when ``dialogAction.type`` is ``ElicitIntent`` or ``ConfirmIntent``;
  ``Close`` needs the intent's ``name`` and ``state``, and its compatible states are ``Failed``,
  ``Fulfilled`` and ``InProgress``; ``ElicitSlot`` needs ``slotToElicit`` and the intent's name;
  ``contentType`` is ``CustomPayload | ImageResponseCard | PlainText | SSML``; ``content`` is used
  for the three text types and ``imageResponseCard`` (with a title, up to three buttons) for cards.
- "Common structures" (lambda-common-structures): the fields of ``sessionState``, ``intent``
  (``confirmationState`` Confirmed | Denied | None; the six intent states), ``dialogAction``
  (``slotElicitationStyle`` Default | SpellByLetter | SpellByWord) and ``activeContexts``;
  ``sessionAttributes`` map strings to strings.
- The Lex V2 runtime model (botocore ``lexv2-runtime/2020-08-07``): ``Messages`` max 10;
  ``Text`` 1-1,024 characters; ``ActiveContextsList`` max 20; ``ActiveContextName``
  ``^([A-Za-z0-9]_?)+$``; ``timeToLiveInSeconds`` 5-86,400; ``turnsToLive`` 1-20; at most 10
  context attributes; ``StringMap`` keys non-empty. Intent names follow the model-building
  ``Name`` shape (1-100, ``^([0-9a-zA-Z][_-]?)+$``).
- The quotas page: character limits count Unicode code units, so lengths are UTF-16 units here.

Beyond the format, a response must survive the trip to Lex: it is JSON (no NaN, no non-string
keys) and every string is valid Unicode (a lone surrogate cannot be encoded as UTF-8).
"""

from __future__ import annotations

import json
import re
from typing import Any

TOP_LEVEL = {"sessionState", "messages", "requestAttributes"}
SESSION_STATE = {
    "activeContexts",
    "sessionAttributes",
    "runtimeHints",
    "dialogAction",
    "intent",
    "originatingRequestId",
}
DIALOG_ACTION_TYPES = {"Close", "ConfirmIntent", "Delegate", "ElicitIntent", "ElicitSlot"}
ELICITATION_STYLES = {"Default", "SpellByLetter", "SpellByWord"}
INTENT_STATES = {"Failed", "Fulfilled", "FulfillmentInProgress", "InProgress", "ReadyForFulfillment", "Waiting"}
CLOSE_STATES = {"Failed", "Fulfilled", "InProgress"}
CONFIRMATION_STATES = {"Confirmed", "Denied", "None"}
CONTENT_TYPES = {"CustomPayload", "ImageResponseCard", "PlainText", "SSML"}
INTENT_NAME = re.compile(r"^([0-9a-zA-Z][_-]?)+$")
CONTEXT_NAME = re.compile(r"^([A-Za-z0-9]_?)+$")
MAX_TEXT = 1024
MAX_MESSAGES = 10


def units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def response_problems(response: object) -> list[str]:
    """Every way ``response`` breaks the Lex V2 Lambda response contract; empty when it is valid."""
    problems: list[str] = []
    try:
        json.dumps(response, allow_nan=False).encode("utf-8")
        _check_unicode(response)
    except (TypeError, ValueError) as error:
        problems.append(f"not sendable as JSON: {error}")
    if not isinstance(response, dict):
        return [*problems, "the response is not an object"]
    problems += [f"unknown top-level field {key!r}" for key in response if key not in TOP_LEVEL]
    state = response.get("sessionState")
    if not isinstance(state, dict):
        return [*problems, "sessionState is required and must be an object"]
    problems += [f"unknown sessionState field {key!r}" for key in state if key not in SESSION_STATE]
    problems += _dialog_problems(state, response.get("messages"))
    if response.get("messages") is not None:
        problems += _messages_problems(response["messages"])
    if "sessionAttributes" in state:
        problems += _string_map_problems(state["sessionAttributes"], "sessionState.sessionAttributes")
    if "requestAttributes" in response:
        problems += _string_map_problems(response["requestAttributes"], "requestAttributes")
    if "activeContexts" in state:
        problems += _contexts_problems(state["activeContexts"])
    if "originatingRequestId" in state and not _non_empty(state["originatingRequestId"]):
        problems.append("originatingRequestId must be a non-empty string")
    return problems


def _dialog_problems(state: dict[str, Any], messages: object) -> list[str]:
    """The dialog action, and what each action type requires of the intent and the messages."""
    problems = []
    action = state.get("dialogAction")
    if not isinstance(action, dict) or action.get("type") not in DIALOG_ACTION_TYPES:
        problems.append("sessionState.dialogAction.type is required, one of " + ", ".join(sorted(DIALOG_ACTION_TYPES)))
        action = {}
    if "slotElicitationStyle" in action and action["slotElicitationStyle"] not in ELICITATION_STYLES:
        problems.append("dialogAction.slotElicitationStyle is not a known style")
    kind = action.get("type")
    intent = state.get("intent")
    if intent is not None:
        problems += _intent_problems(intent)
    if kind == "Close":
        if not isinstance(intent, dict) or "name" not in intent or "state" not in intent:
            problems.append("Close needs sessionState.intent with name and state")
        elif intent.get("state") not in CLOSE_STATES:
            problems.append(f"Close is compatible only with intent states {sorted(CLOSE_STATES)}")
    if kind == "ElicitSlot" and (not _non_empty(action.get("slotToElicit")) or not isinstance(intent, dict)):
        problems.append("ElicitSlot needs dialogAction.slotToElicit and the intent's name")
    if kind in ("ElicitIntent", "ConfirmIntent") and not messages:
        problems.append(f"{kind} needs at least one message")
    return problems


def _intent_problems(intent: object) -> list[str]:
    if not isinstance(intent, dict):
        return ["sessionState.intent must be an object"]
    problems = []
    name = intent.get("name")
    if not (isinstance(name, str) and len(name) <= 100 and INTENT_NAME.fullmatch(name)):
        problems.append(f"intent.name {name!r} is not a valid intent name")
    if "state" in intent and intent["state"] not in INTENT_STATES:
        problems.append(f"intent.state {intent['state']!r} is not an intent state")
    if "confirmationState" in intent and intent["confirmationState"] not in CONFIRMATION_STATES:
        problems.append("intent.confirmationState is not Confirmed, Denied or None")
    if "slots" in intent and not isinstance(intent["slots"], dict):
        problems.append("intent.slots must be an object")
    return problems


def _messages_problems(messages: object) -> list[str]:
    if not isinstance(messages, list):
        return ["messages must be a list"]
    problems = []
    if len(messages) > MAX_MESSAGES:
        problems.append(f"{len(messages)} messages: Lex takes at most {MAX_MESSAGES}")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            problems.append(f"{where} must be an object")
            continue
        kind = message.get("contentType")
        if kind not in CONTENT_TYPES:
            problems.append(f"{where}.contentType {kind!r} is not one of {sorted(CONTENT_TYPES)}")
        elif kind == "ImageResponseCard":
            card = message.get("imageResponseCard")
            if not isinstance(card, dict) or not _non_empty(card.get("title")):
                problems.append(f"{where} needs an imageResponseCard with a title")
            elif len(card.get("buttons") or []) > 3:
                problems.append(f"{where}.imageResponseCard has more than three buttons")
        else:
            content = message.get("content")
            if not isinstance(content, str) or not 1 <= units(content) <= MAX_TEXT:
                problems.append(f"{where}.content must be a string of 1 to {MAX_TEXT} characters")
    return problems


def _string_map_problems(value: object, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where} must be an object"]
    return [
        f"{where}[{key!r}] must map a non-empty string to a string"
        for key, item in value.items()
        if not (_non_empty(key) and isinstance(item, str))
    ]


def _contexts_problems(value: object) -> list[str]:
    if not isinstance(value, list):
        return ["activeContexts must be a list"]
    problems = [] if len(value) <= 20 else ["more than 20 activeContexts"]
    for index, context in enumerate(value):
        where = f"activeContexts[{index}]"
        if not isinstance(context, dict):
            problems.append(f"{where} must be an object")
            continue
        name, ttl, attributes = context.get("name"), context.get("timeToLive"), context.get("contextAttributes")
        if not (isinstance(name, str) and len(name) <= 100 and CONTEXT_NAME.fullmatch(name)):
            problems.append(f"{where}.name is not a valid context name")
        if not (
            isinstance(ttl, dict)
            and _int_between(ttl.get("timeToLiveInSeconds"), 5, 86_400)
            and _int_between(ttl.get("turnsToLive"), 1, 20)
        ):
            problems.append(f"{where}.timeToLive needs timeToLiveInSeconds 5-86400 and turnsToLive 1-20")
        if not isinstance(attributes, dict) or len(attributes) > 10:
            problems.append(f"{where}.contextAttributes must be an object of at most 10 entries")
        else:
            for key, text in attributes.items():
                if not (isinstance(key, str) and 1 <= len(key) <= 100 and isinstance(text, str)):
                    problems.append(f"{where}.contextAttributes[{key!r}] is not a parameter name and text")
                elif not 1 <= units(text) <= MAX_TEXT:
                    problems.append(f"{where}.contextAttributes[{key!r}] must be 1 to {MAX_TEXT} characters")
    return problems


def _check_unicode(value: Any) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # raises UnicodeEncodeError (a ValueError) on a lone surrogate
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_unicode(key)
            _check_unicode(item)
    elif isinstance(value, list):
        for item in value:
            _check_unicode(item)


def _non_empty(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _int_between(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def split_problems(messages: list[str], text: str, limit: int = MAX_TEXT) -> list[str]:
    """How ``messages`` fail to be the documented split of ``text`` (see ``bedrockgate.lex_fulfillment.text``).

    The split: ``text.strip() == m1 + s1 + m2 + ... + mk`` where every piece is non-empty, has no
    whitespace at its ends and fits ``limit``, and every separator is a whole whitespace run, or
    empty inside a piece-long word (then the piece before it has no whitespace at all).
    """
    problems = []
    rest = text.strip()
    for index, message in enumerate(messages):
        if not message or message != message.strip() or units(message) > limit:
            problems.append(f"piece {index} is empty, padded or too long")
        if not rest.startswith(message):
            return [*problems, f"piece {index} is not the next part of the text"]
        rest = rest[len(message) :]
        if index < len(messages) - 1:
            separator = rest[: len(rest) - len(rest.lstrip())]
            if not separator and any(char.isspace() for char in message):
                problems.append(f"piece {index} was cut inside a word although it has spaces")
            rest = rest.lstrip()
    if rest:
        problems.append(f"{len(rest)} characters of the text are missing")
    return problems


def handler_problems(response: object, *, max_messages: int = 10) -> list[str]:
    """``response_problems``, plus this handler's own promise: Close, Fulfilled, PlainText, real words."""
    problems = response_problems(response)
    if problems or not isinstance(response, dict):
        return problems
    state = response["sessionState"]
    if state["dialogAction"] != {"type": "Close"}:
        problems.append("the handler always closes the intent")
    if state["intent"].get("state") != "Fulfilled":
        problems.append("the handler always reports the intent as Fulfilled")
    messages = response.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= max_messages:
        problems.append(f"the handler always sends 1 to {max_messages} messages")
        return problems
    for index, message in enumerate(messages):
        if message.get("contentType") != "PlainText":
            problems.append(f"messages[{index}] is not PlainText")
        content = message.get("content", "")
        if not content.strip() or content != content.strip():
            problems.append(f"messages[{index}] is blank or has whitespace at an end")
    return problems
