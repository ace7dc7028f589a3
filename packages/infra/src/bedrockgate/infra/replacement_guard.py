"""The replacement guard: refuse a deploy that would replace or delete a stateful resource unnamed.

A property change can make CloudFormation replace a resource: a new one is created and the old one
deleted. For a database cluster, a cache, a secret, the guardrail or a log group that loses what it
held. Before every real deploy the pipeline compares each stack's deployed template with the one to
deploy through CDK's own diff (:mod:`bedrockgate.infra.template_diff`) and refuses when a resource
of a stateful type (:mod:`bedrockgate.infra.stateful`) would be

- replaced: ``WILL_REPLACE``, or ``MAY_REPLACE`` (CloudFormation decides at deploy time, so it counts);
  also a change of a property the engine's spec does not describe (its impact is unknown, so it is
  treated as ``MAY_REPLACE``), and a change of the resource's type;
- deleted: ``WILL_DESTROY``, or ``WILL_ORPHAN`` (removed from the template while its
  ``DeletionPolicy`` keeps it: the stack no longer holds it, and nothing uses it)

unless ``--allow-replace LOGICAL_ID`` names it (``STACK/LOGICAL_ID`` names it in one stack only). The
full per-stack summary is printed either way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from bedrockgate.infra.exceptions import ReplacementRefusedError
from bedrockgate.infra.stateful import is_stateful, stateful_reason
from bedrockgate.infra.template_diff import (
    DIFF_PACKAGE,
    DIFF_VERSION,
    DiffEngine,
    Impact,
    ResourceChange,
    StackDiff,
    StackPair,
    diff_stacks,
)

__all__ = ["ALLOW_FLAG", "REFUSED", "Refusal", "Verdict", "effective_impact", "guard", "refusal_for"]

ALLOW_FLAG: Final = "--allow-replace"
REFUSED: Final[Mapping[Impact, str]] = {
    Impact.WILL_REPLACE: "would be replaced",
    Impact.MAY_REPLACE: "may be replaced",
    Impact.WILL_DESTROY: "would be deleted",
    Impact.WILL_ORPHAN: "would leave the stack (retained by its DeletionPolicy, unmanaged)",
}
"""The impacts refused on a stateful resource, and how the refusal says each."""
_REPLACING: Final = frozenset({Impact.WILL_REPLACE, Impact.MAY_REPLACE})


def effective_impact(change: ResourceChange) -> Impact:
    """The engine's impact, except that a changed property the engine's spec lacks counts as MAY_REPLACE."""
    unknown = any(not item.spec_known for item in change.properties)
    if change.impact in (Impact.WILL_UPDATE, Impact.NO_CHANGE) and unknown:
        return Impact.MAY_REPLACE
    return change.impact


def _causes(change: ResourceChange, impact: Impact) -> tuple[str, ...]:
    """What forces the impact: the properties that replace, a type change, or the resource leaving."""
    if impact in (Impact.WILL_DESTROY, Impact.WILL_ORPHAN):
        return ("it is not in the template to deploy",)
    if change.old_type != change.new_type:
        return (f"its type changes from {change.old_type} to {change.new_type}",)
    causes = [f"{item.name} ({item.impact})" for item in change.properties if item.impact in _REPLACING]
    causes += [f"{item.name} (not in the engine's spec: impact unknown)" for item in change.properties
               if not item.spec_known]  # fmt: skip
    return tuple(causes)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A stateful resource that a deploy would replace or delete, and whether ``--allow-replace`` named it."""

    stack: str
    logical_id: str
    resource_type: str
    impact: Impact
    causes: tuple[str, ...]
    allowed: bool

    @property
    def path(self) -> str:
        """``STACK/LOGICAL_ID``: the narrow form of ``--allow-replace``."""
        return f"{self.stack}/{self.logical_id}"

    def text(self, *, flag_value: str | None = None) -> str:
        """One line: what, where, the impact, what forces it, why it matters, and the flag that allows it."""
        forced = f" ({'; '.join(self.causes)})" if self.causes else ""
        head = f"{self.path} ({self.resource_type}) {REFUSED[self.impact]}: {self.impact}{forced}"
        if self.allowed:
            return f"{head}; allowed by {ALLOW_FLAG}"
        name = flag_value or self.logical_id
        return f"{head}; {stateful_reason(self.resource_type)}. If you mean it, pass {ALLOW_FLAG} {name}"


def refusal_for(stack: str, change: ResourceChange, allow: Iterable[str] = ()) -> Refusal | None:
    """The refusal this change earns (allowed or not), or None when it replaces or deletes nothing stateful."""
    impact = effective_impact(change)
    if impact not in REFUSED or not (is_stateful(change.old_type) or is_stateful(change.new_type)):
        return None
    resource_type = str(change.old_type if is_stateful(change.old_type) else change.new_type)
    names = set(allow)
    allowed = change.logical_id in names or f"{stack}/{change.logical_id}" in names
    return Refusal(stack, change.logical_id, resource_type, impact, _causes(change, impact), allowed)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The guard's answer for every stack: the diffs, the refusals (allowed or not) and unused allowances."""

    pairs: tuple[StackPair, ...]
    diffs: tuple[StackDiff, ...]
    refusals: tuple[Refusal, ...]
    unused: tuple[str, ...]
    """``--allow-replace`` values that name nothing this deploy replaces or deletes."""

    @property
    def blocked(self) -> tuple[Refusal, ...]:
        """The refusals no ``--allow-replace`` names: the deploy must not run while there is one."""
        return tuple(refusal for refusal in self.refusals if not refusal.allowed)

    @property
    def passed(self) -> bool:
        """Whether the deploy may go ahead."""
        return not self.blocked

    def _flag_value(self, refusal: Refusal) -> str:
        """The logical id, or ``STACK/ID`` when another stack has a resource of the same logical id."""
        elsewhere = any(
            refusal.logical_id in (pair.synthesized.get("Resources") or {}) or
            refusal.logical_id in ((pair.deployed or {}).get("Resources") or {})
            for pair in self.pairs if pair.stack != refusal.stack
        )  # fmt: skip
        return refusal.path if elsewhere else refusal.logical_id

    def summary(self) -> str:
        """Every stack's changes, resource by resource, then the verdict."""
        lines = [f"replacement guard: {DIFF_PACKAGE} {DIFF_VERSION} (CDK's template diff), deployed -> to deploy"]
        refused = {(refusal.stack, refusal.logical_id): refusal for refusal in self.refusals}
        for pair, diff in zip(self.pairs, self.diffs, strict=True):
            lines.extend(_stack_lines(pair, diff, refused))
        for value in self.unused:
            lines.append(f"note: {ALLOW_FLAG} {value} names nothing this deploy replaces or deletes")
        if self.blocked:
            lines.append(f"refused: {len(self.blocked)} stateful resource(s) would be replaced or deleted:")
            lines.extend(f"  {refusal.text(flag_value=self._flag_value(refusal))}" for refusal in self.blocked)
        else:
            allowed = sum(refusal.allowed for refusal in self.refusals)
            extra = f" ({allowed} allowed by {ALLOW_FLAG})" if allowed else ""
            lines.append(f"ok: no stateful resource is replaced or deleted without {ALLOW_FLAG}{extra}")
        return "\n".join(lines)

    def raise_if_refused(self) -> None:
        """Raise :class:`ReplacementRefusedError` naming each blocked resource, when there is one."""
        if self.blocked:
            items = "; ".join(refusal.text(flag_value=self._flag_value(refusal)) for refusal in self.blocked)
            raise ReplacementRefusedError(f"the deploy would replace or delete stateful resources: {items}")


def _stack_lines(pair: StackPair, diff: StackDiff, refused: Mapping[tuple[str, str], Refusal]) -> list[str]:
    total = len(pair.synthesized.get("Resources") or {})
    if pair.deployed is None:
        return [f"{pair.stack}: not deployed: {total} resources to create"]
    counts = Counter(effective_impact(change) for change in diff.resources)
    present = sum(change.new_type is not None for change in diff.resources)
    counted = ", ".join(f"{counts[impact]} {impact}" for impact in Impact if counts[impact])
    lines = [f"{pair.stack}: {counted or 'no changes'}; {total - present} unchanged"]
    for change in sorted(diff.resources, key=lambda change: change.logical_id):
        impact = effective_impact(change)
        refusal = refused.get((pair.stack, change.logical_id))
        mark = ("ALLOWED" if refusal.allowed else "REFUSED") if refusal else ""
        properties = ", ".join(f"{item.name}: {item.impact}" for item in change.properties)
        other = ", ".join(change.other)
        detail = "; ".join(part for part in (properties, other and f"other: {other}") if part)
        kind = change.new_type or change.old_type
        lines.append(f"  {impact:<12} {mark:<7} {change.logical_id} ({kind}){f' {detail}' if detail else ''}")
    return lines


def guard(pairs: Sequence[StackPair], allow: Iterable[str] = (), *, engine: DiffEngine | None = None) -> Verdict:
    """Diff every stack with CDK's engine and judge it (``engine`` reuses a running one, as tests do)."""
    names = tuple(dict.fromkeys(allow))
    diffs = engine.diff(pairs) if engine is not None else diff_stacks(pairs)
    refusals = tuple(
        refusal
        for diff in diffs
        for change in diff.resources
        if (refusal := refusal_for(diff.stack, change, names)) is not None
    )
    used = {refusal.logical_id for refusal in refusals} | {refusal.path for refusal in refusals}
    return Verdict(tuple(pairs), tuple(diffs), refusals, tuple(name for name in names if name not in used))
