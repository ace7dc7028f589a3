"""Load, check and render configs: the package's front door.

Checking never stops at the first problem: YAML, types, cross-section rules, policies and the
models' lifecycle are all reported together, each at its line, so one run tells a user everything
to fix. Errors make a config invalid; warnings (an unknown or soon deprecated model) do not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from bedrockgate.gateway_config._errors import messages_from_validation_error
from bedrockgate.gateway_config._scan import scan_document
from bedrockgate.gateway_config._yaml import ParsedYaml, parse_yaml
from bedrockgate.gateway_config.config import GatewayConfig
from bedrockgate.gateway_config.exceptions import ConfigValidationError, Problem, Severity
from bedrockgate.gateway_config.lifecycle import Clock, Finding, check_models
from bedrockgate.gateway_config.policies import ALL_POLICIES, Policy, check_policies
from bedrockgate.gateway_config.rules import check_rules
from pydantic import ValidationError

__all__ = ["CheckReport", "check_path", "check_text", "load", "loads", "render", "validate"]


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The outcome of checking one config: the model when it is valid, every error when not.

    ``problems`` holds the errors only, so ``ok`` and :meth:`raise_for_problems` mean what they
    always meant; ``warnings`` holds what does not stop a deploy (``--strict`` fails on them).
    """

    source: str
    config: GatewayConfig | None
    problems: tuple[Problem, ...] = field(default=())
    warnings: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when the config has no error (warnings do not count)."""
        return not self.problems

    def passes(self, *, strict: bool = False) -> bool:
        """Whether the config passes: no error, and under ``strict`` no warning either."""
        return self.ok and not (strict and self.warnings)

    def raise_for_problems(self) -> GatewayConfig:
        """The valid config, or :class:`ConfigValidationError` with every problem."""
        if self.problems or self.config is None:
            raise ConfigValidationError(self.problems or (Problem((), "no config", None, self.source),))
        return self.config


def check_text(
    text: str, *, source: str = "<string>", policies: Iterable[Policy] = ALL_POLICIES, clock: Clock = date.today
) -> CheckReport:
    """Check a config given as YAML text. Never raises for any input text.

    ``clock`` gives today's date for the models' deprecation dates (a fixed one in tests).
    """
    parsed = parse_yaml(text, source)
    if parsed.problems and parsed.data is None:
        return CheckReport(source, None, tuple(parsed.problems))
    problems = list(parsed.problems)
    data, scan_messages = scan_document(parsed.data)
    messages = list(scan_messages)
    config: GatewayConfig | None = None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        messages.append(((), f"a config is a mapping with model_list and settings sections; this document is {kind}"))
    else:
        try:
            config = GatewayConfig.model_validate(data)
        except ValidationError as error:
            flagged = {path for path, _ in messages}
            messages.extend(
                (path, message)
                for path, message in messages_from_validation_error(error, GatewayConfig, data)
                if path not in flagged
            )
    findings: list[Finding] = []
    if isinstance(data, dict):
        messages.extend(check_rules(data))
        messages.extend(check_policies(data, policies))
        findings = check_models(data, today=clock())
    findings.extend((path, message, Severity.ERROR) for path, message in messages)
    located = _located(findings, parsed, source)
    problems.extend(problem for problem in located if problem.severity is Severity.ERROR)
    warnings = tuple(problem for problem in located if problem.severity is Severity.WARNING)
    return CheckReport(source, None if problems else config, tuple(problems), warnings)


def check_path(
    path: str | os.PathLike[str], *, policies: Iterable[Policy] = ALL_POLICIES, clock: Clock = date.today
) -> CheckReport:
    """Check a config file. An unreadable file is a problem in the report, not an exception."""
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return CheckReport(source, None, (Problem((), f"cannot read the file: {error}", None, source),))
    return check_text(text, source=source, policies=policies, clock=clock)


def loads(
    text: str, *, source: str = "<string>", policies: Iterable[Policy] = ALL_POLICIES, clock: Clock = date.today
) -> GatewayConfig:
    """The valid config in ``text`` (warnings allowed), or :class:`ConfigValidationError` listing every error."""
    return check_text(text, source=source, policies=policies, clock=clock).raise_for_problems()


def load(
    path: str | os.PathLike[str], *, policies: Iterable[Policy] = ALL_POLICIES, clock: Clock = date.today
) -> GatewayConfig:
    """The valid config in the file at ``path`` (warnings allowed), or :class:`ConfigValidationError`."""
    return check_path(path, policies=policies, clock=clock).raise_for_problems()


def validate(
    config: GatewayConfig, *, policies: Iterable[Policy] = ALL_POLICIES, clock: Clock = date.today
) -> GatewayConfig:
    """Apply the cross-section rules, policies and model errors to a config built in Python (warnings pass)."""
    document = config.model_dump(by_alias=True, exclude_none=True)
    errors = [
        (path, message)
        for path, message, severity in check_models(document, today=clock())
        if severity is Severity.ERROR
    ]
    messages = [*check_rules(document), *check_policies(document, policies), *errors]
    if messages:
        raise ConfigValidationError([Problem(path, message) for path, message in messages])
    return config


def render(config: GatewayConfig) -> str:
    """The config as LiteLLM YAML, keys in the order they were given; ``loads(render(c)) == c``."""
    dumped = config.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return yaml.safe_dump(_plain(dumped), sort_keys=False, allow_unicode=True, default_flow_style=False)


def _plain(value: Any) -> Any:
    """Exact built-in types only: the safe dumper refuses subclasses such as EnvRef."""
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, str) and type(value) is not str:
        return str.__str__(value)
    return value


def _located(findings: list[Finding], parsed: ParsedYaml, source: str) -> list[Problem]:
    problems = [Problem(path, message, parsed.line_of(path), source, severity) for path, message, severity in findings]
    return sorted(problems, key=lambda problem: (problem.line or 0, problem.dotted_path))
