"""The vulnerability audit's verdict: passed, failed, or not run. An audit that did not run is never a pass.

``pip-audit --strict`` exits non-zero when a single locked package could not be audited (no
vulnerability source reachable, as on machines with no route to PyPI's advisory data); without
``--strict`` it skips them and prints "No known vulnerabilities found". This module reads what
the strict run left (exit code, JSON report if any, its output) and says which of the three it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["passed", "failed", "not-run"]
_SKIPPED = re.compile(r"^.*could not be audited.*$", re.MULTILINE)
_UNREACHABLE = re.compile(
    r"ConnectionError|Max retries exceeded|Failed to establish a new connection|Temporary failure in name resolution"
    r"|Name or service not known|Network is unreachable"
)
"""pip-audit's words when no vulnerability source answered at all (it raises before any report)."""


@dataclass(frozen=True)
class AuditVerdict:
    """What the audit found, in the words the gate record and the session log use."""

    status: Status
    audited: int
    skipped: tuple[str, ...]
    vulnerable: tuple[str, ...]
    problem: str = ""
    """Why the audit failed when it found no vulnerability (pip-audit's own error)."""

    @property
    def passed(self) -> bool:
        """Only a complete audit with no known vulnerability passes."""
        return self.status == "passed"

    def describe(self) -> str:
        """One line for the log and the gate record."""
        if self.status == "passed":
            return f"audit passed: {self.audited} locked packages, no known vulnerabilities"
        if self.status == "failed" and self.vulnerable:
            return "known vulnerabilities in uv.lock: " + "; ".join(self.vulnerable)
        if self.status == "not-run":
            first = self.skipped[0] if self.skipped else "no report"
            return (
                f"audit not run: {len(self.skipped)} packages could not be audited (first: {first}); "
                "no vulnerability source was reachable. This is not a pass: a production deploy refuses it"
            )
        return f"the audit failed without a report: {self.problem or 'no output'}"


def verdict(returncode: int, report: Mapping[str, Any] | None, output: str) -> AuditVerdict:
    """The verdict of one ``pip-audit --strict -f json -o REPORT`` run."""
    dependencies: list[Mapping[str, Any]] = list(report.get("dependencies", [])) if report else []
    vulnerable = tuple(
        f"{d['name']} {d.get('version', '?')}: {', '.join(v['id'] for v in d['vulns'])}"
        for d in dependencies
        if d.get("vulns")
    )
    skipped_in_report = tuple(f"{d['name']}: {d['skip_reason']}" for d in dependencies if d.get("skip_reason"))
    skipped = skipped_in_report or tuple(line.strip() for line in _SKIPPED.findall(output))
    audited = sum(1 for d in dependencies if not d.get("skip_reason"))
    if vulnerable:
        return AuditVerdict("failed", audited, skipped, vulnerable)
    if not skipped and report is None and _UNREACHABLE.search(output):
        first = next(line.strip() for line in output.splitlines() if _UNREACHABLE.search(line))
        skipped = (f"no vulnerability source reachable: {first[:300]}",)
    if skipped:
        return AuditVerdict("not-run", audited, skipped, ())
    if returncode == 0 and report is not None:
        return AuditVerdict("passed", audited, (), ())
    tail = " | ".join(line for line in output.strip().splitlines()[-3:] if line)
    return AuditVerdict("failed", audited, (), (), tail)
