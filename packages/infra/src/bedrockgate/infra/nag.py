"""cdk-nag 3: the AwsSolutions checks over the whole app, and acknowledgments that say why.

cdk-nag 3 has no ``NagSuppressions``. Checks are a validation plugin
(``Validations.of(app).add_plugins(AwsSolutionsChecks(app))``) and a finding is acknowledged on the
construct it names (``Validations.of(construct).acknowledge(Acknowledgment(id=..., reason=...))``).
Any finding left unacknowledged makes ``app.synth()`` raise. Findings that name a resource or an
action are acknowledged one by one (``AwsSolutions-IAM5[Resource::*]``): there is no prefix match.

Every acknowledgment in this package goes through :func:`acknowledge`, which refuses a reason too
short to say anything and keeps a register, so the synth report can print each one with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from constructs import IConstruct

__all__ = ["APPLY_CONTEXT", "MIN_REASON", "Acknowledged", "acknowledge", "acknowledged", "enable_checks"]

MIN_REASON = 40
"""A reason shorter than this cannot say which risk is accepted and why it is acceptable here."""

_KEY = "bedrockgate:acknowledged"

APPLY_CONTEXT = "bedrockgate:apply-acknowledgments"
"""Context key: false records acknowledgments without applying them (a test proves each is needed)."""


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """One acknowledged finding: the rule (and finding), the construct it applies to, and why."""

    rule: str
    path: str
    reason: str


def acknowledge(scope: IConstruct, rule: str, reason: str, *, findings: tuple[str, ...] = ()) -> None:
    """Acknowledge ``rule`` on ``scope`` and its children, with a reason.

    ``findings`` are the ``[...]`` parts of granular findings (``Resource::*``); each is acknowledged
    as its own id, and the bare rule is not.
    """
    if len(reason.strip()) < MIN_REASON:
        raise ValueError(f"acknowledging {rule} on {scope.node.path}: the reason must say why ({MIN_REASON}+ chars)")
    ids = [f"AwsSolutions-{rule}[{finding}]" for finding in findings] or [f"AwsSolutions-{rule}"]
    register = _register(scope)
    apply = scope.node.try_get_context(APPLY_CONTEXT) not in (False, "false")
    for finding_id in ids:
        if apply:
            cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))
        register.append(Acknowledged(finding_id, scope.node.path, reason))


def acknowledged(app: cdk.App) -> list[Acknowledged]:
    """Every acknowledgment made in this app, in the order it was made."""
    return list(_register(app))


def enable_checks(app: cdk.App) -> None:
    """Run cdk-nag's AwsSolutions pack over every stack of the app at synth."""
    import cdk_nag  # noqa: PLC0415  # jsii loads its assembly on import: only when checks are wanted

    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))


def _register(scope: IConstruct) -> list[Acknowledged]:
    # jsii hands back the same Python object for the root construct, so the register lives on it
    # (construct metadata holds only JSON and would end up in the templates).
    root = scope.node.root
    register: list[Acknowledged] | None = root.__dict__.get(_KEY)
    if register is None:
        register = root.__dict__[_KEY] = []
    return register
