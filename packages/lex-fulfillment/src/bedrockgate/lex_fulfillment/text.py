"""Fit a reply into Lex V2 messages: at most 1,024 characters each, cut between words.

Lex counts characters as Unicode code units (its quotas page; the runtime model's ``Text`` shape is
1-1024 of them), which for a JVM service means UTF-16: an emoji outside the Basic Multilingual Plane
counts twice. Every length here is therefore a UTF-16 length (``lex_length``), which is never less
than the number of code points, so a message that fits here fits whichever way Lex counts.

The split, precisely (the round-trip property the tests check):

- the reply is stripped of leading and trailing whitespace;
- it is cut into pieces ``m1, m2, ... mk`` with ``reply.strip() == m1 + s1 + m2 + ... + s(k-1) + mk``;
- each separator ``s`` is either a whole run of whitespace (a cut between words; the run is dropped)
  or empty, and it is empty only when the piece before it holds no whitespace at all: a single
  "word" longer than a message (a URL, or text in a script written without spaces), which is cut
  as late as possible, preferring just after CJK punctuation, and never inside a combining
  sequence it can recognise;
- every piece is non-empty, has no whitespace at either end, and is at most ``limit`` units.

So joining the pieces with single spaces gives back the reply with each cut's whitespace run
replaced by one space (and nothing in between words that were too long to keep whole).

When a reply needs more messages than allowed, ``split_reply`` keeps the first ones and ends the
last with an ellipsis, cut between words as well.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = [
    "ELLIPSIS",
    "MAX_MESSAGES",
    "MAX_MESSAGE_UNITS",
    "clean_text",
    "clip",
    "lex_length",
    "split_reply",
    "split_text",
]

MAX_MESSAGE_UNITS: Final = 1024
"""Lex V2 ``Message.content``: 1 to 1,024 characters (botocore lexv2-runtime model, shape ``Text``)."""

MAX_MESSAGES: Final = 10
"""Lex V2 returns at most 10 messages per turn (botocore lexv2-runtime model, shape ``Messages``)."""

ELLIPSIS: Final = "\u2026"

# Where a too-long word may be cut when it must be: right after these (CJK sentence and clause ends).
_CJK_BREAK_AFTER: Final = frozenset("\u3002\uff01\uff1f\uff1b\uff0c\u3001\uff0e\uff1a")
_JOINERS: Final = frozenset("\u200d\u034f")  # zero width joiner, combining grapheme joiner
# How far back from the limit a hard cut may move to keep a character sequence or a CJK clause whole.
_MAX_BACKTRACK: Final = 32


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: a lone surrogate (which JSON escapes can smuggle in) becomes U+FFFD."""
    if text.isascii():
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def lex_length(text: str) -> int:
    """The length Lex measures: UTF-16 code units (a character outside the BMP counts 2)."""
    # Encoding is C-speed; counting astral characters in Python would be ~50 times slower.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE_UNITS) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` UTF-16 units, between words (see the module doc)."""
    _check_limit(limit)
    stripped = text.strip()
    pieces: list[str] = []
    start = 0
    while start < len(stripped):
        piece, start = _take(stripped, start, limit)
        pieces.append(piece)
    return pieces


def split_reply(text: str, max_messages: int, limit: int = MAX_MESSAGE_UNITS) -> list[str]:
    """``split_text``, keeping at most ``max_messages`` pieces; a cut-off reply ends with an ellipsis.

    Only the pieces kept are computed, so a huge reply costs no more than the messages it yields.
    """
    _check_limit(limit)
    if max_messages < 1:
        raise ValueError(f"max_messages must be at least 1, got {max_messages}")
    stripped = text.strip()
    pieces: list[str] = []
    start = 0
    while start < len(stripped):
        if len(pieces) == max_messages - 1:
            pieces.append(clip(stripped[start:], limit))
            break
        piece, start = _take(stripped, start, limit)
        pieces.append(piece)
    return pieces


def clip(text: str, limit: int) -> str:
    """``text`` stripped if it fits in ``limit`` units, else its first piece that fits with an ellipsis."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    stripped = text.strip()
    if len(stripped) <= limit and lex_length(stripped) <= limit:
        return stripped
    if limit < 3:  # no room for a character (up to two units) and the ellipsis
        return ELLIPSIS
    return _take(stripped, 0, limit - 1)[0] + ELLIPSIS


def _check_limit(limit: int) -> None:
    if limit < 2:
        raise ValueError(f"limit must be at least 2 (one character can take two units), got {limit}")


def _take(text: str, start: int, limit: int) -> tuple[str, int]:
    """The piece of stripped ``text`` that starts at ``start``, and where the next piece starts.

    ``text[start]`` is not whitespace. Works on a window of ``limit + 1`` characters, so the cost
    of a piece does not depend on how much text follows it.
    """
    window = text[start : start + limit + 1]
    if len(window) <= limit and lex_length(window) <= limit:
        return window, len(text)  # the rest fits (a window shorter than limit + 1 is the rest)
    end = _fitting_prefix(window, limit)  # window[:end] fits; window[end] exists and does not
    space = _last_space(window, end)
    if space:
        following = start + space
        while text[following].isspace():  # the text is stripped: a non-space follows every run
            following += 1
        return window[:space].rstrip(), following
    cut = _hard_cut(window, end)
    return window[:cut], start + cut


def _fitting_prefix(window: str, limit: int) -> int:
    """The largest ``end`` with ``lex_length(window[:end]) <= limit``, for a window that does not fit."""
    head = window[:limit]
    units = lex_length(head)
    end = len(head)
    # Each astral character takes two units: walk back until the prefix fits.
    while units > limit:
        end -= 1
        units -= 2 if ord(window[end]) > 0xFFFF else 1
    return end


def _last_space(window: str, end: int) -> int:
    """The index of the last whitespace character in ``window[1:end + 1]``, or 0 when there is none.

    ``window[end]`` counts: when the character right after the fitting prefix is a space, the
    whole prefix is a run of whole words.
    """
    for index in range(end, 0, -1):
        if window[index].isspace():
            return index
    return 0


def _hard_cut(word: str, end: int) -> int:
    """Where to cut a run without whitespace longer than a message: in ``[1, end]``, as late as sensible."""
    floor = max(1, end - _MAX_BACKTRACK)
    for index in range(end, floor - 1, -1):  # just after CJK punctuation, when there is some nearby
        if word[index - 1] in _CJK_BREAK_AFTER:
            return index
    for index in range(end, floor - 1, -1):  # else the last place that keeps a character sequence whole
        if not _continues_cluster(word[index - 1], word[index]):
            return index
    return end


def _continues_cluster(before: str, char: str) -> bool:
    """Whether ``char`` belongs with ``before`` (combining mark, joiner, variation selector, skin tone)."""
    if before in _JOINERS or char in _JOINERS:
        return True
    code = ord(char)
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or 0x1F3FB <= code <= 0x1F3FF:
        return True
    if code < 0x300:
        return False
    # unicodedata is needed only for the rare over-long word; import it there, not at cold start.
    import unicodedata  # noqa: PLC0415  # see above

    return unicodedata.category(char) in ("Mn", "Me", "Mc")
