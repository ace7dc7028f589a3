"""The value types that config fields share, each with the one error message a user should see.

A union such as ``int | os.environ/VAR`` would otherwise fail with one pydantic error per
member, at locations that are not in the document. ``either`` folds them into one message at
the field's own path.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

from bedrockgate.gateway_config.env_ref import EnvRef
from pydantic import Field, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

__all__ = [
    "Count",
    "EnvOrCount",
    "EnvOrPositiveInt",
    "EnvOrSeconds",
    "EnvOrText",
    "Name",
    "NonNegativeNumber",
    "PositiveInt",
    "Seconds",
    "StringList",
]


def either(expected: str) -> WrapValidator:
    """One error, ``expected <expected>``, in place of one per union member."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError(
                "expected", "expected {expected}, got {got}", {"expected": expected, "got": _show(value)}
            ) from None

    return WrapValidator(validate)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


Name = Annotated[str, Field(min_length=1)]
PositiveInt = Annotated[int, Field(gt=0)]
Count = Annotated[int, Field(ge=0)]
# int | float, so that 30 renders back as 30 and not 30.0.
Seconds = Annotated[Annotated[int, Field(gt=0)] | Annotated[float, Field(gt=0)], either("a number of seconds > 0")]
NonNegativeNumber = Annotated[Annotated[int, Field(ge=0)] | Annotated[float, Field(ge=0)], either("a number >= 0")]
StringList: TypeAlias = list[Name]

EnvOrText = Annotated[EnvRef | str, Field(union_mode="left_to_right"), either("a string or os.environ/VAR")]
EnvOrPositiveInt = Annotated[
    EnvRef | PositiveInt, Field(union_mode="left_to_right"), either("a positive integer or os.environ/VAR")
]
EnvOrCount = Annotated[
    EnvRef | Count, Field(union_mode="left_to_right"), either("a whole number >= 0 or os.environ/VAR")
]
EnvOrSeconds = Annotated[
    EnvRef | Seconds, Field(union_mode="left_to_right"), either("a number of seconds > 0 or os.environ/VAR")
]
