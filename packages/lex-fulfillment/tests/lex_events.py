"""Lex V2 events as Lex sends them, and hypothesis strategies for valid, partial and garbage ones.

The realistic events follow "AWS Lambda input event format for Lex V2" and "Common structures"
(docs.aws.amazon.com/lexv2/latest/dg/lambda-input-format, lambda-common-structures), with the
values a FallbackIntent code hook receives: text input with ``text/plain; charset=utf-8``, speech
with an audio ``responseContentType`` and ``transcriptions``, DTMF digits; ``interpretations``
with ``nluConfidence`` and ``sentimentResponse``; ``requestAttributes`` null when there are none
(as the docs say); ``proposedNextState`` on a dialog hook.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

Event = dict[str, Any]

BOT = {
    "id": "ABCDEFGHIJ",
    "name": "GatewayAssistant",
    "localeId": "en_US",
    "version": "DRAFT",
    "aliasId": "TSTALIASID",
    "aliasName": "TestBotAlias",
}


def fallback_intent(state: str = "ReadyForFulfillment", name: str = "FallbackIntent") -> dict[str, Any]:
    return {"name": name, "slots": {}, "state": state, "confirmationState": "None"}


def interpretation(name: str = "FallbackIntent", confidence: float | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"intent": fallback_intent("InProgress", name), "interpretationSource": "Lex"}
    if confidence is not None:
        found["nluConfidence"] = confidence
    return found


def lex_event(
    text: str = "What is Amazon Bedrock?",
    *,
    hook: str = "FulfillmentCodeHook",
    mode: str = "Text",
    session_attributes: dict[str, str] | None = None,
    interpretations: bool = True,
    transcriptions: list[tuple[str, float]] | None = None,
    session_id: str = "test-session-0001",
    intent: str = "FallbackIntent",
    active_contexts: list[dict[str, Any]] | None = None,
) -> Event:
    """An event as Lex V2 sends it to the FallbackIntent's code hook."""
    state = "ReadyForFulfillment" if hook == "FulfillmentCodeHook" else "InProgress"
    event: Event = {
        "messageVersion": "1.0",
        "invocationSource": hook,
        "inputMode": mode,
        "responseContentType": "audio/pcm" if mode == "Speech" else "text/plain; charset=utf-8",
        "sessionId": session_id,
        "inputTranscript": text,
        "bot": dict(BOT),
        "requestAttributes": None,
        "sessionState": {
            "sessionAttributes": dict(session_attributes or {}),
            "intent": fallback_intent(state, intent),
            "originatingRequestId": "a3b2b2a2-4603-4687-9f92-ef2c986dac77",
        },
    }
    if active_contexts is not None:
        event["sessionState"]["activeContexts"] = active_contexts
    if interpretations:
        event["interpretations"] = [
            {**interpretation(intent), "sentimentResponse": _neutral_sentiment()},
            interpretation("OrderStatus", 0.41),
        ]
    if hook == "DialogCodeHook":
        event["invocationLabel"] = "initial"
        event["proposedNextState"] = {
            "dialogAction": {"type": "Close"},
            "intent": fallback_intent("ReadyForFulfillment", intent),
            "prompt": {"attempt": "Initial"},
        }
    if mode == "Speech":
        options = transcriptions or [(text, 0.93), (text.lower() + " uh", 0.61)]
        event["transcriptions"] = [
            {
                "transcription": option,
                "transcriptionConfidence": confidence,
                "resolvedContext": {"intent": intent},
                "resolvedSlots": {},
            }
            for option, confidence in options
        ]
    return event


def _neutral_sentiment() -> dict[str, Any]:
    return {
        "sentiment": "NEUTRAL",
        "sentimentScore": {"mixed": 0.001, "negative": 0.002, "neutral": 0.99, "positive": 0.007},
    }


class FakeContext:
    """A Lambda context with the two attributes the handler reads."""

    def __init__(self, remaining_ms: object = 30_000, request_id: str = "req-0001") -> None:
        self.remaining_ms = remaining_ms
        self.aws_request_id = request_id
        self.function_name = "lex-fulfillment"

    def get_remaining_time_in_millis(self) -> object:
        return self.remaining_ms


# --- strategies -------------------------------------------------------------------------------
# Cheap strategies on purpose (sampled values, plain text, no regexes): the main property runs
# 10,000 examples, and generation, not the handler, is what costs.

ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._:-"
# User text: any Unicode Lex could carry (up to its 1,024 characters), often plain words.
words = st.lists(
    st.sampled_from(["what", "is", "the", "weather", "in", "Paris", "Köln", "東京", "?", "😀"]), max_size=12
)
user_text = st.one_of(
    words.map(" ".join),
    st.text(max_size=120),
    st.builds(lambda unit, count: (unit * count)[:1100], st.text(min_size=1, max_size=12), st.integers(80, 120)),
    st.integers(350, 700).map(lambda count: "ünïcode text " * count),  # beyond what Lex sends
    st.just(""),
    st.just("   \n\t "),
)
attribute_maps = st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=3)
memories = st.one_of(
    st.lists(st.tuples(st.text(max_size=20), st.text(max_size=40)), max_size=4).map(
        lambda turns: json.dumps({"v": 1, "turns": [list(turn) for turn in turns]})
    ),
    st.sampled_from(["", "not json", "[]", '{"v": 2}', '{"v": 1, "turns": [["a"], 1, ["b", "c"]]}', "[" * 30_000]),
)
intent_names = st.sampled_from(
    ["FallbackIntent", "FallbackIntent", "Help", "Order_Status-2", "bad name!", "", "AMAZON.X"]
)
CONTEXTS: list[dict[str, Any]] = [
    {"name": "support", "timeToLive": {"timeToLiveInSeconds": 300, "turnsToLive": 5}, "contextAttributes": {"a": "b"}},
    {"name": "order_ctx", "timeToLive": {"timeToLiveInSeconds": 5, "turnsToLive": 20}, "contextAttributes": {}},
    {"name": "bad name", "timeToLive": {"timeToLiveInSeconds": 300, "turnsToLive": 5}, "contextAttributes": {}},
    {"name": "ctx", "timeToLive": {"turnsToLive": 5}, "contextAttributes": {}},
]
contexts = st.lists(st.sampled_from(CONTEXTS), max_size=3)


SHAPES = [
    (hook, mode, interpretations)
    for hook in ("FulfillmentCodeHook", "DialogCodeHook")
    for mode in ("Text", "Speech", "DTMF")
    for interpretations in (True, False)
]
SESSION_IDS = ["ab", "test-session-0001", "us-east-1:9f3c6a0e-1d2b-4c5d-8e7f-0a1b2c3d4e5f", "x" * 100, "a.b_c:d-e"]
dtmf_text = st.sampled_from(["1", "1234#", "*0", "99999999"])
# Built once: a strategy made inside a composite is validated again on every draw.
shapes = st.sampled_from(SHAPES)
optional_memories = st.none() | memories
optional_transcriptions = st.none() | st.lists(st.tuples(user_text, st.floats(0, 1)), min_size=1, max_size=3)
session_ids = st.sampled_from(SESSION_IDS)
optional_contexts = st.none() | contexts


@st.composite
def valid_events(draw: st.DrawFn) -> Event:
    """Events in the documented format: every hook, input mode and optional part."""
    hook, mode, interpretations = draw(shapes)
    text = draw(dtmf_text if mode == "DTMF" else user_text)
    attributes = draw(attribute_maps)
    memory = draw(optional_memories)
    if memory is not None:
        attributes["bedrockgate_history"] = memory
    return lex_event(
        text,
        hook=hook,
        mode=mode,
        session_attributes=attributes,
        interpretations=interpretations,
        transcriptions=draw(optional_transcriptions) if mode == "Speech" else None,
        session_id=draw(session_ids),
        intent=draw(intent_names),
        active_contexts=draw(optional_contexts),
    )


documented_events = valid_events()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
wrong_values = st.sampled_from([None, 0, -1.5, True, "", "text", [], {}, [1, "a"], {"k": None}, float("nan"), "9" * 50])
KNOWN_PATHS = [
    ("inputTranscript",),
    ("transcriptions",),
    ("sessionId",),
    ("sessionState",),
    ("sessionState", "sessionAttributes"),
    ("sessionState", "intent"),
    ("sessionState", "intent", "name"),
    ("sessionState", "activeContexts"),
    ("interpretations",),
    ("invocationSource",),
    ("inputMode",),
    ("requestAttributes",),
    ("bot",),
]


path_lists = st.lists(st.sampled_from(KNOWN_PATHS), min_size=1, max_size=4, unique=True)
optional_wrong_values = st.none() | wrong_values


@st.composite
def partial_events(draw: st.DrawFn) -> Event:
    """Documented events with parts missing or replaced by values of the wrong type."""
    event = draw(documented_events)
    for path in draw(path_lists):
        parent: Any = event
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        replacement = draw(optional_wrong_values)
        if replacement is None:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = replacement
    attributes = event.get("sessionState", {})
    if isinstance(attributes, dict) and isinstance(attributes.get("sessionAttributes"), dict):
        attributes["sessionAttributes"]["odd"] = draw(wrong_values)
    return event


garbage_events = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from([path[0] for path in KNOWN_PATHS] + ["x"]), json_values, max_size=4),
    st.builds(lambda text, state: {"inputTranscript": text, "sessionState": state}, st.text(max_size=50), json_values),
)
"""Any JSON value, and objects with the right keys holding anything."""

any_events = st.one_of(documented_events, partial_events(), garbage_events)
