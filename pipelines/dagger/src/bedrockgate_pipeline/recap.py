"""What failed in a ``./dev test`` run, in a few lines at its very end.

A whole run prints tens of thousands of lines; a failure deep inside one session scrolls away, and
a CI log that keeps only the head and the tail loses it altogether. Each pytest session writes a
JUnit report (``--junitxml`` in its nox folder) and each coverage check its verdict
(``floor.txt``); when the run fails, ``./dev` prints every failed test and every missed floor
written since the run began, one line each. Standard library only (``xml.etree``): the reports are
pytest's own, read back.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from xml.etree import ElementTree

JUNIT_NAME = "junit.xml"
FLOOR_NAME = "floor.txt"
BELOW = "below"
"""The first word of a ``floor.txt`` whose floor was missed (``ok`` otherwise)."""
LIMIT = 30
MESSAGE_CHARACTERS = 240


def _first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0][:MESSAGE_CHARACTERS] if lines else "(no message)"


def junit_failures(report: Path) -> list[str]:
    """``session: FAILED test id: first line of the message`` for each failed or erroring test case."""
    session = report.parent.name
    found = []
    try:
        root = ElementTree.parse(report).getroot()  # noqa: S314 -- pytest's own report, written on this machine
    except (ElementTree.ParseError, OSError) as error:
        return [f"{session}: its JUnit report {report} is unreadable ({error}): the session died mid-run"]
    for case in root.iter("testcase"):
        for kind, word in (("failure", "FAILED"), ("error", "ERROR")):
            element = case.find(kind)
            if element is not None:
                test = f"{case.get('classname', '?')}::{case.get('name', '?')}"
                found.append(f"{session}: {word} {test}: {_first_line(element.get('message') or element.text)}")
    return found


def recap(root: Path, since: float) -> list[str]:
    """Every failure recorded under ``root/.nox`` since ``since`` (seconds since the epoch)."""
    lines: list[str] = []
    for report in sorted((root / ".nox").glob(f"*/{JUNIT_NAME}")):
        if report.stat().st_mtime >= since:
            lines.extend(junit_failures(report))
    for verdict in sorted((root / ".nox").glob(f"*/{FLOOR_NAME}")):
        if verdict.stat().st_mtime >= since:
            text = verdict.read_text(encoding="utf-8").strip()
            if text.startswith(BELOW):
                lines.append(f"{verdict.parent.name}: {text.removeprefix(BELOW).strip()}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the recap; exit 0 (it reports, the run's own status is what fails)."""
    parser = argparse.ArgumentParser(prog="python -m bedrockgate_pipeline.recap", description=main.__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--since", type=float, required=True, help="the run's start, seconds since the epoch")
    args = parser.parse_args(argv)
    lines = recap(args.root, args.since)
    print("\n=== what failed (each session's JUnit report and coverage floor, this run) ===")
    if not lines:
        print("no failed test or missed floor was recorded: the failure is in a session's own output above")
    for line in lines[:LIMIT]:
        print(line)
    if len(lines) > LIMIT:
        print(f"... and {len(lines) - LIMIT} more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
