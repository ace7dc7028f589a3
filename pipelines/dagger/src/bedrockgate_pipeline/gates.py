"""Gate records: ``ci`` and ``evaluate`` each leave one for the source they passed on; deploy reads them.

A record names the source by its git tree id (the content, not the commit message), so a deploy
of anything else than what was checked is refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from bedrockgate_pipeline.errors import GateError
from bedrockgate_pipeline.git import run_git

REQUIRED = ("ci", "evaluate")


@dataclass(frozen=True)
class GateRecord:
    """One stage's verdict on one source."""

    stage: str
    source: str
    passed: bool
    at: float


def source_id(root: Path) -> str:
    """The git tree id of the working tree; a tree with uncommitted changes has none (deploys must be reproducible)."""
    status = run_git(root, "status", "--porcelain", "--untracked-files=no")
    if status.strip():
        raise GateError(f"the working tree has uncommitted changes ({status.splitlines()[0].strip()} ...): commit them")
    return run_git(root, "rev-parse", "HEAD^{tree}").strip()


def write_record(directory: Path, stage: str, source: str, *, passed: bool) -> Path:
    """Record a stage's verdict (``.pipeline/gates/<stage>.json``)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stage}.json"
    path.write_text(json.dumps(asdict(GateRecord(stage, source, passed, time.time()))), encoding="utf-8")
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


def gate_problems(records: Iterable[GateRecord], source: str, required: Iterable[str] = REQUIRED) -> list[str]:
    """Why deploy must not run for ``source`` (empty: it may)."""
    latest = {r.stage: r for r in records if r.source == source}
    problems = []
    for stage in required:
        record = latest.get(stage)
        if record is None:
            problems.append(f"{stage} has not run for source {source[:12]}: run `nox -s {stage}` first")
        elif not record.passed:
            problems.append(f"{stage} failed for source {source[:12]}: fix it and run `nox -s {stage}` again")
    return problems


def require_gates(records: Iterable[GateRecord], source: str) -> None:
    """Raise ``GateError`` listing every missing or failed gate."""
    problems = gate_problems(records, source)
    if problems:
        raise GateError("deploy refused: " + "; ".join(problems))
