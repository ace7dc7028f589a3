"""Gate records: ``ci``, ``evaluate`` and the ``audit`` each leave one for the source they ran on; deploy reads them.

A record names the source by its git tree id (the content, not the commit message), so a deploy
of anything else than what was checked is refused. A deploy runs under a gate profile:
``production`` requires every gate; ``rehearsal`` (a deploy against an emulator) lists each gate it
skips and why, and the deploy records that list beside its outputs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bedrockgate_pipeline.errors import GateError
from bedrockgate_pipeline.git import run_git

REQUIRED = ("ci", "evaluate", "audit")


@dataclass(frozen=True)
class GateRecord:
    """One stage's verdict on one source."""

    stage: str
    source: str
    passed: bool
    at: float
    detail: str = ""
    """Why it did not pass, or what it recorded (the audit's "not run", the pushed image)."""


@dataclass(frozen=True)
class GateProfile:
    """Which gates a deploy requires; every gate it skips is named with the reason."""

    name: str
    skipped: Mapping[str, str] = field(default_factory=dict)

    @property
    def required(self) -> tuple[str, ...]:
        """The gates this profile requires, in order."""
        return tuple(gate for gate in REQUIRED if gate not in self.skipped)


PROFILES: dict[str, GateProfile] = {
    "production": GateProfile("production"),
    "rehearsal": GateProfile(
        "rehearsal",
        {
            "ci": "the rehearsal runs the deploy path of a committed source; `./dev test` (the ci stages) runs on "
            "the same commit in CI, and its 15 minutes would double the rehearsal",
            "audit": "no vulnerability source is reachable from the rehearsal machine; the emulator deploy ships "
            "nothing",
        },
    ),
}


def profile(name: str) -> GateProfile:
    """A gate profile by name; an unknown one is an error naming the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise GateError(f"no gate profile {name!r}: use one of {', '.join(PROFILES)}") from None


def require_clean(root: Path) -> None:
    """The one dirty-tree rule of both runners: gates and deploys are for committed sources only.

    Untracked files count too: a new module that is not committed would deploy without being in any commit.
    """
    status = run_git(root, "status", "--porcelain", "--untracked-files=normal")
    if status.strip():
        raise GateError(
            f"the working tree of {root} has uncommitted changes ({status.splitlines()[0].strip()} ...): "
            "commit them (or stash them) so that what deploys is a commit"
        )


def source_id(root: Path) -> str:
    """The git tree id of the working tree; a tree with uncommitted changes has none (deploys must be reproducible)."""
    require_clean(root)
    return run_git(root, "rev-parse", "HEAD^{tree}").strip()


def source_commit(root: Path) -> str:
    """The commit a deploy records in its outputs (after the same clean-tree rule)."""
    require_clean(root)
    return run_git(root, "rev-parse", "HEAD").strip()


def write_record(directory: Path, stage: str, source: str, *, passed: bool, detail: str = "") -> Path:
    """Record a stage's verdict (``.pipeline/gates/<stage>.json``)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stage}.json"
    path.write_text(json.dumps(asdict(GateRecord(stage, source, passed, time.time(), detail))), encoding="utf-8")
    return path


def read_records(directory: Path) -> list[GateRecord]:
    """Every readable record in the directory (unreadable ones are skipped: they cannot prove a pass)."""
    records = []
    for path in sorted(directory.glob("*.json")):
        try:
            records.append(GateRecord(**json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue
    return records


_SESSION = {"audit": "supply_chain"}
"""The nox session that leaves a gate's record, where it is not the gate's own name."""


def gate_problems(records: Iterable[GateRecord], source: str, required: Iterable[str] = REQUIRED) -> list[str]:
    """Why deploy must not run for ``source`` (empty: it may)."""
    latest = {r.stage: r for r in records if r.source == source}
    problems = []
    for stage in required:
        record = latest.get(stage)
        session = _SESSION.get(stage, stage)
        if record is None:
            problems.append(f"{stage} has not run for source {source[:12]}: run `nox -s {session}` first")
        elif not record.passed:
            why = f" ({record.detail})" if record.detail else ""
            problems.append(f"{stage} did not pass for source {source[:12]}{why}: fix it and run `nox -s {session}`")
    return problems


def require_gates(
    records: Iterable[GateRecord], source: str, gate_profile: GateProfile = PROFILES["production"]
) -> dict[str, object]:
    """Raise ``GateError`` listing every missing or failed gate; else what the deploy records of its gates."""
    problems = gate_problems(records, source, gate_profile.required)
    if problems:
        raise GateError(f"deploy refused ({gate_profile.name} gates): " + "; ".join(problems))
    return {"profile": gate_profile.name, "source": source, "passed": list(gate_profile.required),
            "skipped": dict(gate_profile.skipped)}  # fmt: skip
