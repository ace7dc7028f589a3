"""cdk-nag 3: the AwsSolutions checks over the whole app, and acknowledgments that say why.

cdk-nag 3 has no ``NagSuppressions``. Checks are a validation plugin
(``Validations.of(app).add_plugins(AwsSolutionsChecks(app))``) and a finding is acknowledged on the
construct it names (``Validations.of(construct).acknowledge(Acknowledgment(id=..., reason=...))``).
Any finding left unacknowledged makes ``app.synth()`` raise. Findings that name a resource or an
action are acknowledged one by one (``AwsSolutions-IAM5[Resource::*]``): there is no prefix match.

Every acknowledgment in this package goes through :func:`acknowledge`, which refuses a reason too
short to say anything and keeps a register, so the synth report can print each one with its reason.

AwsSolutions has no rule for an ALB listener on plain HTTP (ELB5 covers classic load balancers
only), so this package adds a pack of its own, ``Bedrockgate`` (:data:`PACKS`), with that one rule:
``Bedrockgate-HTTP1``, an ALB listener on HTTP that does not redirect to HTTPS (API keys would cross
the network in clear text). It runs and is acknowledged exactly like the AwsSolutions rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from bedrockgate.infra.exceptions import NagAcknowledgmentError
from constructs import IConstruct

__all__ = [
    "APPLY_CONTEXT",
    "BEDROCKGATE_PACK",
    "MIN_REASON",
    "PACKS",
    "Acknowledged",
    "acknowledge",
    "acknowledged",
    "enable_checks",
    "serves_plain_http",
]

BEDROCKGATE_PACK: Final = "Bedrockgate"
"""This package's own cdk-nag pack (one rule: HTTP1, a plain-HTTP ALB listener)."""
PACKS: Final = ("AwsSolutions", BEDROCKGATE_PACK)
"""The cdk-nag packs every synth runs; a finding of any of them fails the synth."""

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


def acknowledge(
    scope: IConstruct, rule: str, reason: str, *, findings: tuple[str, ...] = (), pack: str = "AwsSolutions"
) -> None:
    """Acknowledge ``rule`` of ``pack`` on ``scope`` and its children, with a reason.

    ``findings`` are the ``[...]`` parts of granular findings (``Resource::*``); each is acknowledged
    as its own id, and the bare rule is not.
    """
    if pack not in PACKS:
        raise NagAcknowledgmentError(
            f"acknowledging {rule} on {scope.node.path}: {pack!r} is not one of the packs {PACKS}"
        )
    if len(reason.strip()) < MIN_REASON:
        raise NagAcknowledgmentError(
            f"acknowledging {rule} on {scope.node.path}: the reason must say why ({MIN_REASON}+ chars)"
        )
    ids = [f"{pack}-{rule}[{finding}]" for finding in findings] or [f"{pack}-{rule}"]
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
    """Run cdk-nag's AwsSolutions pack and this package's own over every stack of the app at synth."""
    import cdk_nag  # noqa: PLC0415  # jsii loads its assembly on import: only when checks are wanted

    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app), _bedrockgate_pack(cdk_nag, app))


def _bedrockgate_pack(cdk_nag: Any, app: cdk.App) -> Any:
    """The ``Bedrockgate`` pack: jsii classes defined here, so cdk_nag is imported only with the checks.

    cdk_nag ships no type information for these jsii bases (hence Any); the pack calls back into
    Python once per CloudFormation resource.
    """
    import jsii  # noqa: PLC0415  # with cdk_nag, as above

    @jsii.implements(cdk_nag.IApplyRule)
    class PlainHttpListener:
        # jsii reads an interface's members as properties (plain attributes are not seen).
        def __init__(self, node: cdk.CfnResource) -> None:
            self._node = node

        @property
        def node(self) -> cdk.CfnResource:
            return self._node

        @property
        def rule_suffix_override(self) -> str:
            return "HTTP1"

        @property
        def info(self) -> str:
            return "The ALB listener serves plain HTTP and does not redirect to HTTPS."

        @property
        def explanation(self) -> str:
            return (
                "Clients send their API keys (Authorization) with every request: over HTTP anyone on the path reads "
                "them. Give the listener a certificate, or acknowledge why clear text is acceptable here."
            )

        @property
        def level(self) -> Any:
            return cdk_nag.NagMessageLevel.ERROR

        def rule(self, node: cdk.CfnResource) -> Any:
            if not isinstance(node, elbv2.CfnListener):
                return cdk_nag.NagRuleCompliance.NOT_APPLICABLE
            if serves_plain_http(node):
                return cdk_nag.NagRuleCompliance.NON_COMPLIANT
            return cdk_nag.NagRuleCompliance.COMPLIANT

    class BedrockgateChecks(cdk_nag.NagPack):  # type: ignore[misc]  # an untyped jsii base
        def __init__(self, scope: cdk.App) -> None:
            super().__init__(scope)
            self._pack_name = BEDROCKGATE_PACK

        @property
        def name(self) -> str:
            return BEDROCKGATE_PACK

        def _check_resource(self, node: cdk.CfnResource) -> None:
            if isinstance(node, elbv2.CfnListener):
                self._apply_rule(PlainHttpListener(node))

    return BedrockgateChecks(app)


def serves_plain_http(listener: elbv2.CfnListener) -> bool:
    """Whether an ALB listener (a ``CfnListener``) serves plain HTTP without redirecting to HTTPS."""
    stack = cdk.Stack.of(listener)
    if stack.resolve(listener.protocol) != "HTTP":
        return False
    for action in stack.resolve(listener.default_actions) or []:
        redirect = action.get("redirectConfig") or action.get("RedirectConfig") or {}
        if redirect.get("protocol", redirect.get("Protocol")) == "HTTPS":
            return False
    return True


def _register(scope: IConstruct) -> list[Acknowledged]:
    # jsii hands back the same Python object for the root construct, so the register lives on it
    # (construct metadata holds only JSON and would end up in the templates).
    root = scope.node.root
    register: list[Acknowledged] | None = root.__dict__.get(_KEY)
    if register is None:
        register = root.__dict__[_KEY] = []
    return register
