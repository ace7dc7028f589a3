"""Typed reads from parsed JSON, each failure a :class:`ResultsError` naming the field's path.

:mod:`bedrockgate.evals.results` knows what ``results.json`` holds; this knows how to read one
JSON object strictly: exactly the expected keys, each value of its type and range, and an error
that says where (``examples[3].f1``), what was expected and what was found. A flat frozen
dataclass is read field by field from its type hints (:func:`read_flat`), so a record's fields are
declared once and its reader follows them.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, get_type_hints

from bedrockgate.evals.exceptions import ResultsError

__all__ = ["FieldReader", "Fields", "names", "read_flat"]

_Record = TypeVar("_Record")
FieldReader = Callable[["Fields", str], Any]
_READERS: dict[type, tuple[tuple[str, FieldReader | None], ...]] = {}


def names(record: type) -> tuple[str, ...]:
    """A dataclass's field names, in order: the keys of its JSON object."""
    return tuple(field.name for field in dataclasses.fields(record))


def read_flat(record: type[_Record], fields: Fields, special: Mapping[str, FieldReader] | None = None) -> _Record:
    """A flat dataclass, each field read by its type, or by ``special`` (a field with a narrower range)."""
    readers = _READERS.get(record)
    if readers is None:  # worked out once per record type: type hints are slow to resolve
        types = get_type_hints(record)
        readers = _READERS[record] = tuple((name, _BY_TYPE.get(types[name])) for name in names(record))
    values = {}
    for name, read in readers:
        chosen = (special or {}).get(name, read)
        assert chosen is not None, f"{record.__name__}.{name}: no reader for its type"  # noqa: S101  (a programming error)
        values[name] = chosen(fields, name)
    return record(**values)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return _is_integer(value) and value >= 0


def _shown(value: Any) -> str:
    """A value as an error message shows it: JSON's words for JSON's types, long text cut."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Fields:
    """One JSON object with exactly the expected keys; each getter checks one field and names its path."""

    def __init__(self, value: Any, where: str, keys: tuple[str, ...]) -> None:
        self._where = where
        if not isinstance(value, dict):
            raise ResultsError(f"{where or 'the document'}: expected an object, got {_shown(value)}")
        missing = [key for key in keys if key not in value]
        if missing:
            raise ResultsError(
                f"{self.at(missing[0])}: missing (a results.json of another bedrockgate-evals version, or edited: "
                "make it again with `bedrockgate-evals run`)"
            )
        unknown = sorted(set(value) - set(keys))
        if unknown:
            raise ResultsError(f"{self.at(unknown[0])}: unknown field (this version reads {', '.join(keys)})")
        self._value: dict[str, Any] = value

    def at(self, key: str) -> str:
        """The path of one of this object's fields."""
        return f"{self._where}.{key}" if self._where else key

    def fail(self, key: str, expected: str, value: Any) -> None:
        """Raise the error for a field that is not what it must be."""
        raise ResultsError(f"{self.at(key)}: {expected}, got {_shown(value)}")

    def raw(self, key: str) -> Any:
        """The value as parsed."""
        return self._value[key]

    def _checked(self, key: str, expected: str, accept: Callable[[Any], bool]) -> Any:
        value = self._value[key]
        if not accept(value):
            self.fail(key, f"expected {expected}", value)
        return value

    def string(self, key: str) -> str:
        """A string."""
        return str(self._checked(key, "a string", lambda v: isinstance(v, str)))

    def optional_string(self, key: str) -> str | None:
        """A string or null."""
        value = self._checked(key, "a string or null", lambda v: v is None or isinstance(v, str))
        return None if value is None else str(value)

    def boolean(self, key: str) -> bool:
        """True or false."""
        return bool(self._checked(key, "true or false", lambda v: isinstance(v, bool)))

    def number(self, key: str) -> float:
        """A finite number, as a float."""
        return float(self._checked(key, "a number", _is_number))

    def optional_number(self, key: str) -> float | None:
        """A finite number (as a float) or null."""
        value = self._checked(key, "a number or null", lambda v: v is None or _is_number(v))
        return None if value is None else float(value)

    def fraction(self, key: str) -> float:
        """A number from 0 to 1."""
        return float(self._checked(key, "a number from 0 to 1", lambda v: _is_number(v) and 0 <= v <= 1))

    def zero_or_one(self, key: str) -> int:
        """The whole number 0 or 1."""
        return int(self._checked(key, "0 or 1", lambda v: _is_integer(v) and v in (0, 1)))

    def integer(self, key: str, *, minimum: int | None = 0, maximum: int | None = None) -> int:
        """A whole number within bounds (0 or more unless said otherwise)."""
        bounds = "" if minimum is None else f" of at least {minimum}"
        bounds += "" if maximum is None else f" and at most {maximum}"
        low, high = -math.inf if minimum is None else minimum, math.inf if maximum is None else maximum
        return int(self._checked(key, f"a whole number{bounds}", lambda v: _is_integer(v) and low <= v <= high))

    def optional_integer(self, key: str, *, minimum: int = 0) -> int | None:
        """A whole number of at least ``minimum``, or null."""
        return None if self._value[key] is None else self.integer(key, minimum=minimum)

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of strings."""
        return tuple(self._checked(key, "a list of strings", lambda v: _all(v, list, lambda s: isinstance(s, str))))

    def counts(self, key: str) -> dict[str, int]:
        """An object of whole numbers of 0 or more."""
        value = self._checked(key, "an object of whole numbers", lambda v: _all(v, dict, _is_count))
        return dict(value)

    def numbers_by_name(self, key: str) -> dict[str, float]:
        """An object of numbers (as floats)."""
        value = self._checked(key, "an object of numbers", lambda v: _all(v, dict, _is_number))
        return {name: float(number) for name, number in value.items()}

    def strings_by_name(self, key: str) -> dict[str, str]:
        """An object of strings."""
        return dict(self._checked(key, "an object of strings", lambda v: _all(v, dict, lambda s: isinstance(s, str))))

    def object(self, key: str, keys: tuple[str, ...]) -> Fields:
        """A nested object with exactly ``keys``."""
        return Fields(self._value[key], self.at(key), keys)

    def items(self, key: str, keys: tuple[str, ...]) -> Iterator[Fields]:
        """The objects of a list, each with exactly ``keys``."""
        for index, item in enumerate(self._checked(key, "a list", lambda v: isinstance(v, list))):
            yield Fields(item, f"{self.at(key)}[{index}]", keys)

    def agrees(self, key: str, expected: float | None) -> None:
        """A figure the file states twice must equal what the other fields give."""
        value = self._value[key]
        if value != expected or isinstance(value, bool) is not isinstance(expected, bool):
            self.fail(key, f"expected {_shown(expected)} (what the other fields give)", value)


def _all(value: Any, container: type[list[Any]] | type[dict[str, Any]], accept: Callable[[Any], bool]) -> bool:
    """``value`` is a list (or object) whose every item (or value) is accepted."""
    if not isinstance(value, container):
        return False
    return all(map(accept, value.values() if isinstance(value, dict) else value))


_BY_TYPE: dict[object, FieldReader] = {
    str: Fields.string,
    str | None: Fields.optional_string,
    bool: Fields.boolean,
    int: lambda fields, key: fields.integer(key),
    int | None: lambda fields, key: fields.optional_integer(key),
    float: Fields.number,
    float | None: Fields.optional_number,
    tuple[str, ...]: Fields.strings,
}
"""How a field of each type is read; a type not here needs a ``special`` reader."""
