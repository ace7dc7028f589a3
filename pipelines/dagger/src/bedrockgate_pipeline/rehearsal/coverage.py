"""What the rehearsal proves per resource type: created by the emulator, or checked from the template only.

moto creates a resource only for the CloudFormation types it models; it accepts the others as
placeholders (the emulator's shim), so "CREATE_COMPLETE" says nothing about them. Every type the
app synthesizes that the emulator does not really create is listed, with the reason, in the
reviewed file ``not-modelled.toml`` beside this module; ``check`` fails when a new one appears or a
listed one is gone, so the coverage cannot shrink (or the file go stale) silently.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bedrockgate_pipeline.errors import PipelineError

REVIEWED = Path(__file__).with_name("not-modelled.toml")


class CoverageError(PipelineError):
    """The synthesized types and the reviewed list of what the emulator does not model disagree."""


@dataclass(frozen=True)
class Row:
    """One resource type: how many the app has, and how the rehearsal checks them."""

    type: str
    count: int
    created: bool
    reason: str


def template_types(cdk_out: Path) -> Counter[str]:
    """Resource type -> count over every stack template of a cloud assembly."""
    counts: Counter[str] = Counter()
    templates = sorted(cdk_out.glob("*.template.json"))
    if not templates:
        raise CoverageError(f"no *.template.json in {cdk_out}: synthesize first (nox -s synth)")
    for template in templates:
        resources = json.loads(template.read_text(encoding="utf-8")).get("Resources", {})
        counts.update(str(resource["Type"]) for resource in resources.values())
    return counts


def reviewed(path: Path = REVIEWED) -> dict[str, str]:
    """The reviewed list: type -> why the emulator does not create it."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CoverageError(f"cannot read the reviewed list {path}: {error}") from error
    types = document.get("not_modelled")
    if not isinstance(types, dict) or not all(isinstance(v, str) and v.strip() for v in types.values()):
        raise CoverageError(f"{path}: [not_modelled] must map each type to a non-empty reason")
    return dict(types)


def rows(counts: Mapping[str, int], created: Iterable[str], reasons: Mapping[str, str]) -> list[Row]:
    """The table: every synthesized type, created by the emulator or checked from the template only."""
    modelled = set(created)
    return [
        Row(kind, counts[kind], kind in modelled, "" if kind in modelled else reasons.get(kind, "NOT REVIEWED"))
        for kind in sorted(counts)
    ]


def check(counts: Mapping[str, int], created: Iterable[str], reasons: Mapping[str, str]) -> None:
    """Fail naming each type that is not created and not reviewed, and each reviewed type that no longer applies."""
    modelled = set(created)
    missing = sorted(kind for kind in counts if kind not in modelled and kind not in reasons)
    stale = sorted(kind for kind in reasons if kind not in counts or kind in modelled)
    problems = []
    if missing:
        problems.append(f"types the emulator does not create and {REVIEWED.name} does not list: {missing} "
                        "(add each with the reason, after checking what the rehearsal can still verify)")  # fmt: skip
    if stale:
        problems.append(f"{REVIEWED.name} lists types the app no longer has or the emulator now creates: {stale} "
                        "(remove them)")  # fmt: skip
    if problems:
        raise CoverageError("; ".join(problems))


def render(table_rows: Iterable[Row]) -> str:
    """The coverage table as Markdown, with the totals."""
    listed = list(table_rows)
    lines = ["| resource type | count | rehearsal |", "|---|---|---|"]
    for row in listed:
        how = "created by the emulator" if row.created else f"template only: {row.reason}"
        lines.append(f"| {row.type} | {row.count} | {how} |")
    created = sum(row.count for row in listed if row.created)
    total = sum(row.count for row in listed)
    kinds = sum(1 for row in listed if row.created)
    lines.append(f"\n{created} of {total} resources ({kinds} of {len(listed)} types) created by the emulator; "
                 "the rest are checked from the synthesized templates only.")  # fmt: skip
    return "\n".join(lines)
