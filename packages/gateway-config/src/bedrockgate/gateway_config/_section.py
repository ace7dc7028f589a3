"""The base of every config section: strict typed fields, plus the LiteLLM keys we accept untyped.

LiteLLM knows far more keys than this gateway needs to type (hundreds of price fields, provider
options). Typing them all would be noise; forbidding them would reject configs LiteLLM runs
well. So a section types what matters, carries the rest of LiteLLM's *known* keys verbatim in
``passthrough``, and still rejects every key LiteLLM does not know, which is where typos live.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

__all__ = ["PASSTHROUGH_ALIAS", "Section"]

PASSTHROUGH_ALIAS = "<passthrough>"
"""The passthrough field's key: no YAML key can collide with it by accident."""


def _schema_without_passthrough(schema: dict[str, Any], model: type[BaseModel]) -> None:
    properties = schema.get("properties")
    if isinstance(properties, dict):
        properties.pop(PASSTHROUGH_ALIAS, None)
        if issubclass(model, Section):
            for key in sorted(model.passthrough_keys()):
                properties.setdefault(key, {"description": "Accepted as LiteLLM defines it; not typed here."})


class Section(BaseModel):
    """A mapping in the config: unknown keys are errors, known-but-untyped LiteLLM keys pass through."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        validate_by_alias=True,
        validate_by_name=False,
        json_schema_extra=_schema_without_passthrough,
    )

    litellm_keys: ClassVar[frozenset[str]] = frozenset()
    """Every key LiteLLM accepts here; the typed fields are a subset."""

    secret_keys: ClassVar[frozenset[str]] = frozenset()
    """Keys whose values are credentials: the secrets policy wants them as ``os.environ/VAR``."""

    passthrough: dict[str, Any] = Field(default_factory=dict, alias="<passthrough>", exclude=True)

    @classmethod
    def typed_keys(cls) -> frozenset[str]:
        """The keys this section types, as they are spelled in YAML."""
        return frozenset(field.alias or name for name, field in cls.model_fields.items() if name != "passthrough")

    @classmethod
    def passthrough_keys(cls) -> frozenset[str]:
        """LiteLLM's keys that this section accepts without typing them."""
        return cls.litellm_keys - cls.typed_keys()

    @classmethod
    def allowed_keys(cls) -> frozenset[str]:
        """Every key this section accepts."""
        return cls.typed_keys() | cls.litellm_keys

    @model_validator(mode="before")
    @classmethod
    def _collect_passthrough(cls, data: Any) -> Any:
        if not isinstance(data, dict) or PASSTHROUGH_ALIAS in data:
            return data
        untyped = cls.passthrough_keys()
        carried = {key: value for key, value in data.items() if key in untyped}
        if not carried:
            return data
        rest = {key: value for key, value in data.items() if key not in untyped}
        return {**rest, PASSTHROUGH_ALIAS: carried}

    @model_serializer(mode="wrap")
    def _emit_passthrough(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        dumped = handler(self)
        if isinstance(dumped, dict) and self.passthrough:
            dumped.update(self.passthrough)
        return dumped
