"""Reading Lex V2 events: the documented fields, the fallbacks, and totality over any input."""

from __future__ import annotations

from typing import Any

import pytest
from bedrockgate.lex_fulfillment.events import FALLBACK_INTENT, MAX_INPUT_CHARS, parse_event, valid_intent_name
from hypothesis import given, settings
from hypothesis import strategies as st
from lex_events import any_events, lex_event


def test_text_event_reads_the_input_transcript_and_session() -> None:
    event = lex_event("  What is Bedrock?  ", session_attributes={"customer": "42"})
    request = parse_event(event)
    assert request.text == "What is Bedrock?"
    assert request.text_source == "inputTranscript"
    assert request.session_id == "test-session-0001"
    assert request.intent_name == "FallbackIntent"
    assert request.invocation_source == "FulfillmentCodeHook"
    assert request.input_mode == "Text"
    assert request.session_attributes == {"customer": "42"}


def test_speech_without_a_transcript_uses_the_most_confident_transcription() -> None:
    event = lex_event("", mode="Speech", transcriptions=[("whats the weather", 0.4), ("what's the weather", 0.9)])
    request = parse_event(event)
    assert request.text == "what's the weather"
    assert request.text_source == "transcription"


def test_confidence_given_as_a_string_still_counts() -> None:
    # A published sample event carries "transcriptionConfidence": "1.0" (a string).
    event = lex_event("", mode="Speech")
    event["transcriptions"] = [
        {"transcription": "low", "transcriptionConfidence": 0.2},
        {"transcription": "high", "transcriptionConfidence": "1.0"},
        {"transcription": "nan", "transcriptionConfidence": float("nan")},
        {"transcription": "bool", "transcriptionConfidence": True},
    ]
    assert parse_event(event).text == "high"


def test_input_longer_than_lex_allows_is_cut() -> None:
    request = parse_event(lex_event("x" * (MAX_INPUT_CHARS + 10)))
    assert len(request.text) == MAX_INPUT_CHARS
    assert request.input_truncated


def test_lone_surrogates_become_replacement_characters() -> None:
    request = parse_event(lex_event("bad \ud800 text", session_attributes={"k\udfff": "v\ud801"}))
    assert request.text == "bad \ufffd text"
    assert request.session_attributes == {"k\ufffd": "v\ufffd"}


def test_only_string_attributes_are_kept() -> None:
    event = lex_event(session_attributes={"ok": "yes"})
    event["sessionState"]["sessionAttributes"].update({"": "empty key", "number": 3, "none": None})
    assert parse_event(event).session_attributes == {"ok": "yes"}


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("FallbackIntent", True),
        ("Order_Pizza-2", True),
        ("a_", True),
        ("_a", False),
        ("a__b", False),
        ("a-_b", False),
        ("AMAZON.FallbackIntent", False),
        ("", False),
        ("x" * 101, False),
        ("Ünïcode", False),
        (None, False),
    ],
)
def test_intent_names_follow_the_lex_pattern(name: object, valid: bool) -> None:
    assert valid_intent_name(name) is valid


def test_an_invalid_intent_name_falls_back_to_the_interpretation_then_fallback_intent() -> None:
    event = lex_event(intent="Help")
    event["sessionState"]["intent"]["name"] = "not valid!"
    assert parse_event(event).intent_name == "Help"
    del event["interpretations"]
    assert parse_event(event).intent_name == FALLBACK_INTENT


def test_only_well_formed_active_contexts_are_kept() -> None:
    good = {
        "name": "order_ctx",
        "timeToLive": {"timeToLiveInSeconds": 90, "turnsToLive": 5},
        "contextAttributes": {"a": "b"},
    }
    bad: list[Any] = [
        {"name": "bad name", "timeToLive": {"timeToLiveInSeconds": 90, "turnsToLive": 5}, "contextAttributes": {}},
        {"name": "ctx", "timeToLive": {"timeToLiveInSeconds": 1, "turnsToLive": 5}, "contextAttributes": {}},
        {"name": "ctx", "timeToLive": {"timeToLiveInSeconds": 90, "turnsToLive": True}, "contextAttributes": {}},
        {"name": "ctx", "timeToLive": {"timeToLiveInSeconds": 90, "turnsToLive": 5}, "contextAttributes": {"k": ""}},
        "context",
    ]
    assert parse_event(lex_event(active_contexts=[good, *bad])).active_contexts == [good]


@pytest.mark.parametrize("event", [None, [], "text", 42, {}, {"sessionState": "x"}, {"inputTranscript": 5}])
def test_events_of_the_wrong_shape_read_as_empty(event: object) -> None:
    request = parse_event(event)
    assert request.text == ""
    assert request.intent_name == FALLBACK_INTENT
    assert request.session_attributes == {}


@settings(max_examples=500, deadline=None)
@given(any_events)
def test_parse_event_is_total_and_typed(event: object) -> None:
    request = parse_event(event)
    assert isinstance(request.text, str)
    assert request.text == request.text.strip()
    assert len(request.text) <= MAX_INPUT_CHARS
    assert valid_intent_name(request.intent_name)
    assert all(key for key in request.session_attributes)
    request.text.encode("utf-8")  # valid Unicode, whatever came in


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_transcript_text_is_read_as_given(text: str) -> None:
    request = parse_event(lex_event(text))
    assert request.text == text.strip()[:MAX_INPUT_CHARS].strip()
