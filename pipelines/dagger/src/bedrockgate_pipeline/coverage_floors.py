"""Branch-coverage floors: one per package in ``coverage-floors.toml``, raised by a change, never lowered.

``nox -s "tests(package='X')"`` measures the package's tests with coverage.py (``branch = true``: the
figure is coverage.py's total over statements and branches, what ``coverage report`` prints) and fails
below the package's floor. A floor sits at most one point under what was measured when it was set;
``pipelines/tests/test_coverage_floors.py`` checks that no version of the file ever lowered one.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bedrockgate_pipeline.errors import PipelineError
from bedrockgate_pipeline.recap import BELOW, FLOOR_NAME

FLOORS_FILE = "coverage-floors.toml"
"""The floors' file, relative to the repository root."""


class CoverageError(PipelineError):
    """A floors file or coverage report that cannot be read, or a floor that was lowered."""


@dataclass(frozen=True)
class Measured:
    """One run's figures, from coverage.py's JSON report (``totals``)."""

    percent: float
    """Statements and branches together, as coverage.py reports them with ``branch = true``."""
    covered_branches: int
    branches: int

    @property
    def branch_percent(self) -> float:
        """Branches alone (100 when the code has none)."""
        return 100.0 * self.covered_branches / self.branches if self.branches else 100.0


def parse_floors(text: str, where: str) -> dict[str, float]:
    """``[floors]`` of a floors file: package folder name -> floor in percent (0 to 100)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CoverageError(f"{where}: not valid TOML ({error})") from error
    table = document.get("floors")
    if not isinstance(table, dict):
        raise CoverageError(f"{where}: no [floors] table; add one with a line `package = percent` per package")
    floors: dict[str, float] = {}
    for package, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise CoverageError(f"{where}: floors.{package} = {value!r}; give a percentage from 0 to 100")
        floors[package] = float(value)
    return floors


def read_floors(root: Path) -> dict[str, float]:
    """The committed floors of the working tree."""
    path = root / FLOORS_FILE
    if not path.is_file():
        raise CoverageError(f"{path} is missing: it holds each package's branch-coverage floor")
    return parse_floors(path.read_text(encoding="utf-8"), str(path))


def measured(report: Path) -> Measured:
    """The totals of coverage.py's JSON report (``--cov-report=json:PATH``)."""
    try:
        totals = json.loads(report.read_text(encoding="utf-8"))["totals"]
        return Measured(float(totals["percent_covered"]), int(totals["covered_branches"]), int(totals["num_branches"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CoverageError(f"{report}: not a coverage.py JSON report with totals ({error!r})") from error


def verdict(package: str, figures: Measured, floor: float | None) -> tuple[bool, str]:
    """Whether ``figures`` meet the floor, and the line the session prints either way."""
    line = (
        f"{package}: coverage {figures.percent:.2f}% (statements and branches; branches alone "
        f"{figures.covered_branches}/{figures.branches} = {figures.branch_percent:.2f}%)"
    )
    if floor is None:
        return False, f"{line}; no floor: add `{package} = {suggested_floor(figures)}` to [floors] in {FLOORS_FILE}"
    if figures.percent < floor:
        return False, f"{line} is below its floor {floor:.2f}% ({FLOORS_FILE}): add tests for the new code"
    return True, f"{line}, floor {floor:.2f}%" + (
        f" (more than a point above: raise the floor to {suggested_floor(figures)})"
        if figures.percent - floor > 1
        else ""
    )


def suggested_floor(figures: Measured) -> float:
    """The highest floor one decimal allows that is at most one point under the figure (never under 0)."""
    return max(math.ceil(round((figures.percent - 1) * 10, 6)) / 10, 0.0)


def lowered(older: Mapping[str, float], newer: Mapping[str, float]) -> list[str]:
    """Every floor ``newer`` lowered or dropped relative to ``older``: a floor may only rise."""
    problems = []
    for package, floor in sorted(older.items()):
        if package not in newer:
            problems.append(f"{package}: its floor {floor} was removed")
        elif newer[package] < floor:
            problems.append(f"{package}: its floor went down from {floor} to {newer[package]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m bedrockgate_pipeline.coverage_floors PACKAGE REPORT``: print the figures; fail below the floor."""
    parser = argparse.ArgumentParser(prog="python -m bedrockgate_pipeline.coverage_floors", description=main.__doc__)
    parser.add_argument("package", help="the package's folder name under packages/")
    parser.add_argument("report", type=Path, help="coverage.py's JSON report of the package's tests")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root (default: here)")
    parser.add_argument("--partial", action="store_true", help="a part of the suite ran: print, do not judge")
    args = parser.parse_args(argv)
    try:
        figures = measured(args.report)
        if args.partial:
            print(f"{args.package}: coverage {figures.percent:.2f}% of a partial run: floor not checked")
            return 0
        passed, line = verdict(args.package, figures, read_floors(args.root).get(args.package))
    except CoverageError as error:
        print(f"coverage floor: {error}", file=sys.stderr)
        return 2
    print(line, file=sys.stdout if passed else sys.stderr)
    # Beside the report, for the recap at the end of a failed run (bedrockgate_pipeline.recap).
    args.report.with_name(FLOOR_NAME).write_text(f"{'ok' if passed else BELOW} {line}\n", encoding="utf-8")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
