"""Every error this package raises: one base class, and one problem type that all of them carry.

A config is checked in full before anything is reported, so a user fixes every mistake in one
pass instead of one per run. That is why the validation error holds a list of problems rather
than a single message.

A problem is an error (the config is not deployed) unless it says it is a warning: something to
fix soon that does not stop a deploy, such as a model id LiteLLM cannot price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ConfigValidationError", "GatewayConfigError", "Location", "Problem", "Severity"]

Location = tuple[str | int, ...]
"""A path into the config document: mapping keys and list indices, outermost first."""


class Severity(StrEnum):
    """How much a problem matters: an error stops the config, a warning only fails ``--strict``."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a config: where it is, and what to do about it."""

    path: Location
    message: str
    line: int | None = None
    source: str = "<string>"
    severity: Severity = Severity.ERROR

    @property
    def dotted_path(self) -> str:
        """The path as users read it: ``model_list.0.litellm_params.model``; ``<root>`` for the document."""
        return ".".join(str(part) for part in self.path) or "<root>"

    def __str__(self) -> str:
        line = "?" if self.line is None else str(self.line)
        label = "warning: " if self.severity is Severity.WARNING else ""
        return f"{self.source}:{line}: {self.dotted_path}: {label}{self.message}"


class GatewayConfigError(Exception):
    """Base class of every error raised by ``bedrockgate.gateway_config``."""


class ConfigValidationError(GatewayConfigError, ValueError):
    """The config is not one this gateway will deploy; ``problems`` says each reason and where."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("ConfigValidationError needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        summary = "\n".join(str(problem) for problem in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the gateway config:\n{summary}")
