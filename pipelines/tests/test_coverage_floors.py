"""The branch-coverage floors: one per package, checked by each tests session, never lowered in history."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from bedrockgate_pipeline.coverage_floors import (
    FLOORS_FILE,
    CoverageError,
    Measured,
    lowered,
    main,
    measured,
    parse_floors,
    read_floors,
    suggested_floor,
    verdict,
)
from bedrockgate_pipeline.errors import PipelineError
from bedrockgate_pipeline.git import run_git
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]

percents = st.floats(min_value=0, max_value=100, allow_nan=False)
figures = st.builds(
    lambda percent, branches, covered: Measured(percent, min(covered, branches), branches),
    percents,
    st.integers(0, 5000),
    st.integers(0, 5000),
)


def test_every_package_has_a_floor() -> None:
    packages = {p.parent.name for p in (ROOT / "packages").glob("*/pyproject.toml")}
    assert set(read_floors(ROOT)) == packages


def _versions() -> list[tuple[str, str]]:
    """(label, text) of every committed version of the floors file, oldest first, then the working tree's."""
    versions = []
    for commit in reversed(run_git(ROOT, "log", "--format=%H", "--", FLOORS_FILE).split()):
        try:
            versions.append((commit[:12], run_git(ROOT, "show", f"{commit}:{FLOORS_FILE}")))
        except PipelineError:  # a commit that deleted the file: the next version is judged against the one before
            continue
    return [*versions, ("the working tree", (ROOT / FLOORS_FILE).read_text(encoding="utf-8"))]


def test_no_change_ever_lowered_a_floor() -> None:
    versions = _versions()
    for (old_label, old), (new_label, new) in itertools.pairwise(versions):
        problems = lowered(parse_floors(old, old_label), parse_floors(new, new_label))
        assert not problems, f"{new_label} (after {old_label}): {'; '.join(problems)}: a floor may only rise"


def test_a_lowered_or_dropped_floor_is_named() -> None:
    assert lowered({"a": 80.0, "b": 70.0, "c": 60.0}, {"a": 80.5, "b": 69.9}) == [
        "b: its floor went down from 70.0 to 69.9",
        "c: its floor 60.0 was removed",
    ]


@settings(max_examples=300)
@given(old=st.dictionaries(st.sampled_from("abcdef"), percents), rises=st.lists(percents, min_size=6, max_size=6))
def test_raising_floors_or_adding_packages_is_never_a_lowering(old: dict[str, float], rises: list[float]) -> None:
    new = {package: min(floor + rise, 100.0) for (package, floor), rise in zip(old.items(), rises, strict=False)}
    assert lowered(old, new | {"new-package": 1.0}) == []


@settings(max_examples=300)
@given(figures=figures, floor=percents)
def test_a_run_passes_exactly_when_its_figure_reaches_the_floor(figures: Measured, floor: float) -> None:
    passed, line = verdict("pkg", figures, floor)
    assert passed == (figures.percent >= floor)
    assert f"{figures.percent:.2f}%" in line
    assert f"floor {floor:.2f}%" in line


@settings(max_examples=300)
@given(figures=figures)
def test_a_package_without_a_floor_fails_and_is_told_the_floor_to_add(figures: Measured) -> None:
    passed, line = verdict("pkg", figures, None)
    assert not passed
    assert f"add `pkg = {suggested_floor(figures)}` to [floors] in {FLOORS_FILE}" in line


@settings(max_examples=300)
@given(figures=figures)
def test_the_suggested_floor_is_at_most_one_point_under_the_figure(figures: Measured) -> None:
    floor = suggested_floor(figures)
    assert floor <= figures.percent
    assert figures.percent - floor <= 1 or floor == 0.0
    assert round(floor, 1) == floor


@pytest.mark.parametrize(
    ("text", "message"),
    [("floors = 3", "no \\[floors\\] table"), ("[floors]\nx = 101", "floors.x = 101"),
     ("[floors]\nx = true", "floors.x"), ("[floors]\nx = 'high'", "floors.x = 'high'"), ("[floors", "not valid TOML")],
)  # fmt: skip
def test_a_bad_floors_file_is_an_error_that_names_the_value(text: str, message: str) -> None:
    with pytest.raises(CoverageError, match=message):
        parse_floors(text, "coverage-floors.toml")


def _report(path: Path, percent: float, covered: int, branches: int) -> Path:
    """coverage.py's JSON report, its ``totals`` as coverage.py 7 writes them."""
    totals = {"covered_lines": 10, "num_statements": 10, "percent_covered": percent, "missing_lines": 0,
              "excluded_lines": 0, "num_branches": branches, "num_partial_branches": 0,
              "covered_branches": covered, "missing_branches": branches - covered}  # fmt: skip
    path.write_text(json.dumps({"meta": {"branch_coverage": True}, "files": {}, "totals": totals}), encoding="utf-8")
    return path


def test_the_report_totals_are_read(tmp_path: Path) -> None:
    assert measured(_report(tmp_path / "c.json", 91.25, 30, 40)) == Measured(91.25, 30, 40)
    assert Measured(91.25, 30, 40).branch_percent == 75.0


def test_a_missing_or_foreign_report_is_an_error_naming_it(tmp_path: Path) -> None:
    for path, text in ((tmp_path / "absent.json", None), (tmp_path / "other.json", '{"files": {}}')):
        if text is not None:
            path.write_text(text, encoding="utf-8")
        with pytest.raises(CoverageError, match=str(path)):
            measured(path)


def test_the_command_fails_below_the_floor_and_passes_at_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / FLOORS_FILE).write_text("[floors]\npkg = 80.0\n", encoding="utf-8")
    below, at = _report(tmp_path / "below.json", 79.99, 1, 2), _report(tmp_path / "at.json", 80.0, 2, 2)
    assert main(["pkg", str(below), "--root", str(tmp_path)]) == 1
    assert "below its floor 80.00%" in capsys.readouterr().err
    assert main(["pkg", str(at), "--root", str(tmp_path)]) == 0
    assert main(["pkg", str(below), "--root", str(tmp_path), "--partial"]) == 0
    assert "partial run" in capsys.readouterr().out
    assert main(["other", str(at), "--root", str(tmp_path)]) == 1
    assert main(["pkg", str(tmp_path / "none.json"), "--root", str(tmp_path)]) == 2
