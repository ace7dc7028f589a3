"""Splitting replies into Lex messages: the documented split, as properties and as examples."""

from __future__ import annotations

import pytest
from bedrockgate.lex_fulfillment.text import ELLIPSIS, clip, lex_length, split_reply, split_text
from hypothesis import given, settings
from hypothesis import strategies as st
from lex_schema import split_problems

PROPERTY = settings(max_examples=300, deadline=None)

# Text with many kinds of whitespace, astral characters, combining marks and long runs without spaces.
pieces = st.one_of(
    st.text(max_size=40),
    st.sampled_from([" ", "  ", "\n", "\t", "\u3000", "\u00a0", "\u2028"]),
    st.text(alphabet="abcdefghij", min_size=20, max_size=200),
    st.text(alphabet="😀👍🏽é\u0301\u200d", max_size=30),
    st.text(alphabet="日本語の文章です。、", min_size=10, max_size=150),
)
texts = st.lists(pieces, max_size=30).map("".join)
limits = st.integers(min_value=2, max_value=64)


@PROPERTY
@given(texts, limits)
def test_split_text_is_the_documented_split(text: str, limit: int) -> None:
    assert split_problems(split_text(text, limit), text, limit) == []


@PROPERTY
@given(texts, limits)
def test_no_character_but_whitespace_is_lost_or_added(text: str, limit: int) -> None:
    messages = split_text(text, limit)
    assert "".join("".join(message.split()) for message in messages) == "".join(text.split())


@PROPERTY
@given(st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=10), max_size=60), st.integers(10, 64))
def test_words_shorter_than_a_message_are_never_cut(words: list[str], limit: int) -> None:
    text = " ".join(words)
    assert " ".join(split_text(text, limit)).split() == text.split()


@PROPERTY
@given(st.text(), st.integers(min_value=1, max_value=10), limits)
def test_split_reply_keeps_at_most_max_messages_and_marks_a_cut(text: str, count: int, limit: int) -> None:
    full = split_text(text, limit)
    messages = split_reply(text, count, limit)
    assert len(messages) == min(count, len(full))
    assert all(message and lex_length(message) <= limit for message in messages)
    if len(full) <= count:
        assert messages == full
    else:
        assert messages[:-1] == full[: count - 1]
        assert messages[-1].endswith(ELLIPSIS)


@PROPERTY
@given(texts, st.integers(min_value=1, max_value=64))
def test_clip_fits_and_is_a_prefix(text: str, limit: int) -> None:
    clipped = clip(text, limit)
    assert lex_length(clipped) <= limit
    if clipped.endswith(ELLIPSIS) and lex_length(text.strip()) > limit:
        assert text.strip().startswith(clipped[:-1])
    else:
        assert clipped == text.strip()


def test_a_reply_under_the_limit_is_one_message() -> None:
    assert split_text("  Amazon Bedrock is a managed service.  ") == ["Amazon Bedrock is a managed service."]
    assert split_text("") == []
    assert split_text(" \n\t ") == []


def test_long_replies_split_between_words_at_1024_characters() -> None:
    words = [f"word{index:04d}" for index in range(600)]  # 600 * 9 - 1 = 5,399 characters
    messages = split_text(" ".join(words))
    assert [len(message) for message in messages] == [1016] * 5 + [314]  # 113 words of 9 characters fit
    assert " ".join(messages).split() == words


def test_a_word_longer_than_a_message_is_cut_as_late_as_possible() -> None:
    url = "https://example.com/" + "a" * 1500
    messages = split_text(f"See {url} now")
    assert messages == ["See", url[:1024], url[1024:] + " now"]


def test_cjk_text_is_cut_after_punctuation_when_it_can_be() -> None:
    sentence = "これは日本語の文です。"  # 11 characters, ending with an ideographic full stop
    messages = split_text(sentence * 200)
    assert all(message.endswith("。") for message in messages[:-1])
    assert "".join(messages) == sentence * 200


def test_astral_characters_count_twice_and_are_never_split() -> None:
    emoji = "😀" * 600  # 1,200 UTF-16 units
    messages = split_text(emoji)
    assert [lex_length(message) for message in messages] == [1024, 176]
    assert "".join(messages) == emoji


def test_combining_sequences_stay_whole_at_a_forced_cut() -> None:
    text = "e\u0301" * 700  # 1,400 code points: each e is followed by a combining acute accent
    messages = split_text(text)
    assert all(not message.startswith("\u0301") for message in messages)
    assert "".join(messages) == text


def test_split_reply_ends_a_cut_off_reply_with_an_ellipsis() -> None:
    words = " ".join(["word"] * 1000)  # 4,999 characters
    messages = split_reply(words, 2)
    assert len(messages) == 2
    assert len(messages[0]) == 1024
    assert messages[1].endswith(" word" + ELLIPSIS) or messages[1].endswith("word" + ELLIPSIS)
    assert lex_length(messages[1]) <= 1024


@pytest.mark.parametrize("limit", [1, 0, -1])
def test_limits_too_small_for_a_character_are_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        split_text("x", limit)
    with pytest.raises(ValueError, match="at least 2"):
        split_reply("x", 3, limit)


def test_at_least_one_message_is_required() -> None:
    with pytest.raises(ValueError, match="max_messages must be at least 1"):
        split_reply("x", 0)
