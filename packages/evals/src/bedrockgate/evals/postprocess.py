r"""Answer post-processing: what is done to a model's reply before it is scored, named and counted.

Chat models rarely reply with a bare span. Each step here is one explicit, documented change; the
run lists the steps it applied, how many answers each one changed, and the scores both with and
without them, so a reader sees how much of a score is post-processing. Scoring then applies the
official normalisation on top (case, ASCII punctuation, articles, whitespace), so steps only
need to handle what that does not: extra lines, lead-ins, typographic quotes.

Steps, in the order given (default ``trim,first-line,answer-prefix,strip-quotes``):

``trim``
    Strip leading and trailing whitespace.
``first-line``
    Keep the first non-empty line ("Denver Broncos\n\nThe passage says...").
``answer-prefix``
    Drop a leading "The answer is", "Answer:", "A:" (any case).
``strip-quotes``
    Drop one pair of matching quotes around the whole answer, typographic ones included
    (U+201C/U+201D and U+2018/U+2019 are not ASCII punctuation, so the official normalisation keeps them).
``trailing-period``
    Drop one trailing full stop. Scores ignore it anyway; it matters for semantic similarity.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bedrockgate.evals.exceptions import ConfigError

__all__ = ["DEFAULT_STEPS", "STEPS", "Pipeline", "Processed"]

# "answer" counts as a lead-in only before "is" or a colon: "answer key" is a possible answer.
_PREFIX = re.compile(r"^\s*(?:(?:the\s+)?(?:final\s+|short\s+)?answer(?:\s+is\b\s*:?|\s*:)|a\s*:)\s*", re.IGNORECASE)
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb", "`": "`"}


def _trim(text: str) -> str:
    return text.strip()


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return text.strip()


def _answer_prefix(text: str) -> str:
    stripped = _PREFIX.sub("", text, count=1)
    return stripped if stripped.strip() else text


def _strip_quotes(text: str) -> str:
    stripped = text.strip()
    if len(stripped) >= 2 and _QUOTES.get(stripped[0]) == stripped[-1]:
        return stripped[1:-1].strip()
    return text


def _trailing_period(text: str) -> str:
    stripped = text.rstrip()
    return stripped[:-1].rstrip() if stripped.endswith(".") and not stripped.endswith("..") else text


STEPS: dict[str, Callable[[str], str]] = {
    "trim": _trim,
    "first-line": _first_line,
    "answer-prefix": _answer_prefix,
    "strip-quotes": _strip_quotes,
    "trailing-period": _trailing_period,
}
DEFAULT_STEPS = ("trim", "first-line", "answer-prefix", "strip-quotes")


@dataclass(frozen=True, slots=True)
class Processed:
    """An answer after post-processing, and the steps that changed it."""

    text: str
    changed_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pipeline:
    r"""Named steps applied in order.

    >>> Pipeline.parse("trim,first-line,answer-prefix,strip-quotes").apply(' The answer is "Denver"\nBecause...')
    Processed(text='Denver', changed_by=('trim', 'first-line', 'answer-prefix', 'strip-quotes'))
    """

    steps: tuple[str, ...] = DEFAULT_STEPS

    def __post_init__(self) -> None:
        unknown = [step for step in self.steps if step not in STEPS]
        if unknown:
            raise ConfigError(
                f"--postprocess: unknown step(s) {', '.join(unknown)}; known: {', '.join(STEPS)} (or 'none')"
            )

    @classmethod
    def parse(cls, text: str) -> Pipeline:
        """From the command line's comma-separated form; ``none`` (or empty) for no steps."""
        names: Sequence[str] = [] if text.strip().lower() in {"", "none"} else [s.strip() for s in text.split(",")]
        return cls(tuple(names))

    def apply(self, text: str) -> Processed:
        """The processed answer, and which steps changed it."""
        changed: list[str] = []
        for name in self.steps:
            result = STEPS[name](text)
            if result != text:
                changed.append(name)
            text = result
        return Processed(text, tuple(changed))
