"""A small evaluator of CloudWatch Logs JSON metric-filter patterns, to test records against them.

Covers the pattern language the reference design and our dashboards use: selectors
``$.a.b``, comparisons ``= != < > <= >=`` with numbers and (wildcard) strings, ``IS TRUE``,
``IS FALSE``, ``IS NULL``, ``NOT EXISTS``, ``&&``, ``||`` and parentheses, inside ``{ ... }``.
Semantics follow the CloudWatch documentation ("Using metric filters to match terms in JSON log
events"): a numeric comparison matches only a JSON number, a string comparison only a JSON string,
``*`` in a string matches any run of characters, and a selector that is missing matches nothing
but ``NOT EXISTS``. Unknown syntax raises, so a test never passes on a pattern it misread.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from typing import Any, Final

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN: Final = re.compile(
    r"""\s*(?:
        (?P<selector>\$(?:\.[A-Za-z_][A-Za-z0-9_\-]*|\[\d+\])+)
      | (?P<op>&&|\|\||<=|>=|!=|=|<|>|\(|\))
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<word>IS\s+TRUE|IS\s+FALSE|IS\s+NULL|NOT\s+EXISTS)
    )""",
    re.VERBOSE,
)
_MISSING: Final = object()


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read the pattern at {text[position:]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, " ".join(match.group(kind).split())))
        position = match.end()
    return tokens


def _select(document: Any, selector: str) -> Any:
    for part in re.findall(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]", selector):
        key, index = part
        if key:
            if not isinstance(document, dict) or key not in document:
                return _MISSING
            document = document[key]
        else:
            if not isinstance(document, list) or int(index) >= len(document):
                return _MISSING
            document = document[int(index)]
    return document


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _comparison(selector: str, op: str, kind: str, literal: str) -> Predicate:
    if kind == "number":
        bound = float(literal)
        compare: dict[str, Callable[[float], bool]] = {
            "=": lambda v: v == bound,
            "!=": lambda v: v != bound,
            "<": lambda v: v < bound,
            ">": lambda v: v > bound,
            "<=": lambda v: v <= bound,
            ">=": lambda v: v >= bound,
        }
        if op not in compare:
            raise ValueError(f"operator {op!r} does not apply to numbers")
        check = compare[op]
        return lambda doc: _is_number(value := _select(doc, selector)) and check(float(value))
    if op not in ("=", "!="):
        raise ValueError(f"operator {op!r} does not apply to strings")
    pattern = json.loads(literal)
    if pattern == "*":  # "exists": any value at all
        return lambda doc: (_select(doc, selector) is not _MISSING) == (op == "=")

    def matches(doc: dict[str, Any]) -> bool:
        value = _select(doc, selector)
        if not isinstance(value, str):
            return False
        hit = fnmatch.fnmatchcase(value, pattern)
        return hit if op == "=" else not hit

    return matches


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda doc: first(doc) or second(doc)


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda doc: first(doc) and second(doc)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ValueError("the pattern ends too early")
        self.position += 1
        return token

    def expression(self) -> Predicate:
        left = self.conjunction()
        while self.peek() == ("op", "||"):
            self.take()
            left = _either(left, self.conjunction())
        return left

    def conjunction(self) -> Predicate:
        left = self.term()
        while self.peek() == ("op", "&&"):
            self.take()
            left = _both(left, self.term())
        return left

    def term(self) -> Predicate:
        kind, text = self.take()
        if (kind, text) == ("op", "("):
            inner = self.expression()
            if self.take() != ("op", ")"):
                raise ValueError("unbalanced parenthesis")
            return inner
        if kind != "selector":
            raise ValueError(f"expected a selector, got {text!r}")
        selector = text
        kind, text = self.take()
        if kind == "word":
            checks: dict[str, Predicate] = {
                "IS TRUE": lambda doc: _select(doc, selector) is True,
                "IS FALSE": lambda doc: _select(doc, selector) is False,
                "IS NULL": lambda doc: _select(doc, selector) is None,
                "NOT EXISTS": lambda doc: _select(doc, selector) is _MISSING,
            }
            return checks[text]
        if kind != "op":
            raise ValueError(f"expected an operator after {selector}, got {text!r}")
        literal_kind, literal = self.take()
        if literal_kind not in ("number", "string"):
            raise ValueError(f"expected a number or a string, got {literal!r}")
        return _comparison(selector, text, literal_kind, literal)


def compile_filter(pattern: str) -> Predicate:
    """A predicate over parsed JSON log events for a ``{ ... }`` metric-filter pattern."""
    text = pattern.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(f"a JSON metric filter is enclosed in braces: {pattern!r}")
    parser = _Parser(_tokens(text[1:-1]))
    predicate = parser.expression()
    if parser.peek() is not None:
        raise ValueError(f"unexpected {parser.peek()!r} in {pattern!r}")
    return predicate


def matches(pattern: str, line: str) -> bool:
    """Whether the log event ``line`` (a JSON text) matches ``pattern``; non-JSON never does."""
    try:
        document = json.loads(line)
    except ValueError:
        return False
    return isinstance(document, dict) and compile_filter(pattern)(document)


def metric_value(selector: str, line: str) -> float | None:
    """What a metric filter's ``metricValue: "$.field"`` extracts: the number, or ``None``."""
    value = _select(json.loads(line), selector)
    return float(value) if _is_number(value) else None
