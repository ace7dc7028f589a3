"""``os.environ/VAR``: LiteLLM's way to read a value from the environment, as a type of its own.

LiteLLM resolves a value that *starts with* ``os.environ/`` and turns an unset variable into
``None`` without a word. Making the reference a type lets the validator report malformed
references, lets policies tell a secret given by reference from one written in plain text, and
lets infra list every variable a deployment must provide.

``EnvRef`` subclasses ``str`` so that it renders back to exactly the text LiteLLM expects, in
typed fields and in free-form ones alike.
"""

from __future__ import annotations

import re
from typing import Any, Final

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

__all__ = ["ENV_PREFIX", "EnvRef", "find_shell_placeholder"]

ENV_PREFIX: Final = "os.environ/"
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SHELL_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


def find_shell_placeholder(text: str) -> str | None:
    """Return the first ``${VAR}`` in ``text``: LiteLLM passes these through unexpanded."""
    match = _SHELL_PLACEHOLDER.search(text)
    return match.group(0) if match else None


class EnvRef(str):
    """A reference ``os.environ/NAME`` to the environment variable ``NAME``."""

    __slots__ = ()

    def __new__(cls, text: str) -> EnvRef:
        """Accept the exact LiteLLM spelling, or explain what is wrong with it."""
        if not text.startswith(ENV_PREFIX):
            raise ValueError(f"an environment reference starts with {ENV_PREFIX!r}, got {text!r}")
        name = text[len(ENV_PREFIX) :]
        if not _VAR_NAME.fullmatch(name):
            raise ValueError(
                f"{text!r} does not name an environment variable: after {ENV_PREFIX!r} write a name "
                "of letters, digits and underscores that does not start with a digit"
            )
        return super().__new__(cls, text)

    @classmethod
    def to(cls, name: str) -> EnvRef:
        """Build the reference to ``name``."""
        return cls(ENV_PREFIX + name)

    @property
    def name(self) -> str:
        """The environment variable's name."""
        return self[len(ENV_PREFIX) :]

    def __repr__(self) -> str:
        return f"EnvRef({str(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        # No serializer of its own: as a str subclass it dumps as its text, and a union member's
        # serializer would otherwise be applied to the union's other types (ints became strings).
        return core_schema.no_info_plain_validator_function(_validate_env_ref)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": r"^os\.environ/[A-Za-z_][A-Za-z0-9_]*$",
            "description": "Read from the environment variable named after 'os.environ/'.",
        }


def _validate_env_ref(value: object) -> EnvRef:
    if isinstance(value, EnvRef):
        return value
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        try:
            return EnvRef(value)
        except ValueError as error:
            raise PydanticCustomError("env_ref", str(error)) from None
    raise PydanticCustomError("env_ref_type", "expected a reference os.environ/VAR")
