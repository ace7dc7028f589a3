"""Conversation memory in a session attribute: round trip, bounds, oldest-first dropping, garbage."""

from __future__ import annotations

import json

from bedrockgate.lex_fulfillment.memory import decode, encode, fit, remember
from bedrockgate.lex_fulfillment.text import ELLIPSIS, lex_length
from hypothesis import given, settings
from hypothesis import strategies as st

PROPERTY = settings(max_examples=300, deadline=None)
turn_lists = st.lists(st.tuples(st.text(max_size=200), st.text(max_size=400)), max_size=12)


@PROPERTY
@given(turn_lists)
def test_encode_then_decode_gives_back_the_turns(turns: list[tuple[str, str]]) -> None:
    assert decode(encode(turns)) == (turns, None)


@PROPERTY
@given(turn_lists, st.integers(0, 10), st.integers(256, 4000))
def test_fit_keeps_the_longest_suffix_within_both_bounds(
    turns: list[tuple[str, str]], max_turns: int, max_chars: int
) -> None:
    kept = fit(turns, max_turns=max_turns, max_chars=max_chars)
    assert len(kept) <= max_turns
    assert kept == turns[len(turns) - len(kept) :], "only the oldest turns are dropped"
    if kept:
        assert lex_length(encode(kept)) <= max_chars
    longer = turns[len(turns) - len(kept) - 1 :]
    if len(kept) < min(len(turns), max_turns):
        assert lex_length(encode(longer)) > max_chars, "one more turn would not have fitted"


@PROPERTY
@given(turn_lists, st.text(max_size=3000), st.text(max_size=6000), st.integers(256, 12_000))
def test_the_newest_turn_always_fits_after_remember(
    turns: list[tuple[str, str]], user: str, reply: str, max_chars: int
) -> None:
    remembered = remember(turns, user, reply, max_chars=max_chars)
    kept = fit(remembered, max_turns=6, max_chars=max_chars)
    newest_user, newest_reply = remembered[-1]
    if lex_length(json.dumps([newest_user, newest_reply], ensure_ascii=False)) <= max_chars - 20:
        assert kept[-1] == remembered[-1]


def test_long_texts_are_clipped_to_a_quarter_of_the_budget() -> None:
    remembered = remember([], "question " * 500, "answer " * 2000, max_chars=4000)
    user, reply = remembered[-1]
    assert lex_length(user) <= 1000
    assert user.endswith(ELLIPSIS)
    assert lex_length(reply) <= 1000
    assert reply.endswith(ELLIPSIS)


@PROPERTY
@given(st.one_of(st.text(max_size=200), st.binary(max_size=50).map(lambda b: b.decode("latin-1"))))
def test_decode_never_raises(value: str) -> None:
    turns, note = decode(value)
    assert isinstance(turns, list)
    assert note is None or isinstance(note, str)


def test_decode_explains_why_memory_was_dropped() -> None:
    assert decode(None) == ([], None)
    assert decode("not json") == ([], "not_json")
    assert decode("[" * 100_000) == ([], "too_large")
    assert decode("[" * 20_000) == ([], "not_json")  # too deep for the parser
    assert decode('{"v": 2, "turns": []}') == ([], "unknown_format")
    assert decode('{"v": 1, "turns": [["a", "b"], ["c"], [1, 2], "x"]}') == ([("a", "b")], "invalid_turns_dropped")


def test_memory_of_zero_turns_is_no_attribute() -> None:
    assert fit([("a", "b")], max_turns=0, max_chars=4000) == []
