"""The emulator's settings: which backend answers which model id, faults, the guardrail's lists.

A pydantic model so that a settings file or an admin request with a typo is refused with the
field's path, instead of being half-applied.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from bedrockgate.local_stack.exceptions import MappingError
from bedrockgate.local_stack.guardrail import (
    DEFAULT_BLOCKED_MESSAGE,
    DEFAULT_CONTENT_FILTERS,
    DEFAULT_PROMPT_ATTACKS,
    ContentCategory,
    FilterStrength,
    GuardrailPolicy,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

BackendName = Literal["smollm2", "minilm", "scripted", "scripted-embedding"]
ErrorKind = Literal["unavailable", "internal", "timeout", "validation"]
Rate = Annotated[float, Field(ge=0.0, le=1.0)]

CHAT_BACKENDS: frozenset[str] = frozenset({"smollm2", "scripted"})
EMBEDDING_BACKENDS: frozenset[str] = frozenset({"minilm", "scripted-embedding"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Faults(_Strict):
    """What goes wrong for one model: each request draws against the rates, after the latency."""

    latency_ms: Annotated[int, Field(ge=0, le=600_000)] = 0
    throttle_rate: Rate = 0.0
    error_rate: Rate = 0.0
    error_kind: ErrorKind = "unavailable"
    down: bool = False


class BackendRule(_Strict):
    """Model ids matching ``match`` (a glob: ``*``, ``?``) are answered by ``backend``."""

    match: str = Field(min_length=1)
    backend: BackendName
    max_input_tokens: Annotated[int, Field(gt=0)] = 200_000

    def matches(self, model_id: str) -> bool:
        """Case-sensitive glob match, as Bedrock model ids are."""
        return fnmatch.fnmatchcase(model_id, self.match)


EMBEDDED_RULES: tuple[BackendRule, ...] = (
    BackendRule(match="*embed*", backend="minilm", max_input_tokens=8192),
    BackendRule(match="*", backend="smollm2", max_input_tokens=3000),  # words; SmolLM2 has a 4096-token context
)
SCRIPTED_RULES: tuple[BackendRule, ...] = (
    BackendRule(match="*embed*", backend="scripted-embedding"),
    BackendRule(match="*", backend="scripted"),
)


class GuardrailSettings(_Strict):
    """The local guardrail: what it blocks (words, content-filter terms, prompt attacks) and what it says instead.

    ``content_filters`` maps a Bedrock category (HATE, INSULTS, SEXUAL, VIOLENCE, MISCONDUCT) to the
    terms that stand in for it; a category left out filters nothing. ``prompt_attacks`` are regular
    expressions (case-insensitive) checked on prompts only; an empty list switches the filter off.
    """

    blocked_words: tuple[str, ...] = ("forbidden-topic",)
    blocked_message: str = DEFAULT_BLOCKED_MESSAGE
    content_filters: dict[ContentCategory, tuple[str, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_CONTENT_FILTERS)
    )
    filter_strength: FilterStrength = "HIGH"
    prompt_attacks: tuple[str, ...] = DEFAULT_PROMPT_ATTACKS

    @field_validator("prompt_attacks")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"{pattern!r} is not a valid regular expression ({error}); fix or remove it"
                ) from error
        return patterns

    def policy(self) -> GuardrailPolicy:
        """The policy ApplyGuardrail applies."""
        return GuardrailPolicy(
            blocked_words=self.blocked_words,
            blocked_message=self.blocked_message,
            content_filters=self.content_filters,
            filter_strength=self.filter_strength,
            prompt_attacks=self.prompt_attacks,
        )


class EmulatorSettings(_Strict):
    """Everything the emulator is started with; faults can change at run time via the admin API."""

    rules: tuple[BackendRule, ...] = EMBEDDED_RULES
    faults: dict[str, Faults] = Field(default_factory=dict)
    guardrail: GuardrailSettings = GuardrailSettings()
    scripted_latency_ms: Annotated[int, Field(ge=0, le=60_000)] = 0
    # A user turn containing a key gets its value (after the model id) from the scripted backend.
    scripted_replies: dict[Annotated[str, Field(min_length=1)], str] = Field(default_factory=dict)
    seed: int | None = None

    def rule_for(self, model_id: str) -> BackendRule:
        """The first rule that matches; a model with none is an error naming the rules."""
        for rule in self.rules:
            if rule.matches(model_id):
                return rule
        patterns = ", ".join(rule.match for rule in self.rules) or "(none)"
        raise MappingError(f"no backend rule matches model id {model_id!r}; rules: {patterns}. Add a rule for it.")


def load_settings(path: Path) -> EmulatorSettings:
    """Read a YAML or JSON settings file; errors name the file and the field."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise MappingError(f"{path}: cannot read emulator settings: {error}") from error
    try:
        return EmulatorSettings.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in error.errors()
        )
        raise MappingError(f"{path}: invalid emulator settings: {problems}") from error
