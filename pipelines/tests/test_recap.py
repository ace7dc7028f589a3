"""The recap of a failed ``./dev test``: every failed test and missed floor of this run, one line each."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

from bedrockgate_pipeline import coverage_floors
from bedrockgate_pipeline.recap import main, recap
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FAILING_SUITE = """
import pytest

def test_passes():
    assert True

def test_fails():
    assert 1 + 1 == 3, "arithmetic is broken here"

@pytest.fixture
def broken():
    raise RuntimeError("the fixture cannot start")

def test_errors(broken):
    pass
"""


def test_a_real_pytest_runs_failures_are_named_with_their_messages(tmp_path: Path) -> None:
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "test_suite.py").write_text(FAILING_SUITE, encoding="utf-8")
    session = tmp_path / ".nox" / "tests-package-demo"
    session.mkdir(parents=True)
    started = time.time() - 1
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull,
         str(tmp_path / "suite"), f"--junitxml={session / 'junit.xml'}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    lines = recap(tmp_path, started)
    assert len(lines) == 2, lines
    failed, errored = sorted(lines, key=lambda line: "ERROR" in line)
    assert failed.startswith("tests-package-demo: FAILED test_suite::test_fails: ")
    assert "arithmetic is broken here" in failed
    assert errored.startswith("tests-package-demo: ERROR test_suite::test_errors: ")
    assert "fixture" in errored
    assert recap(tmp_path, time.time() + 60) == [], "a report older than the run is not this run's"


cases = st.lists(
    st.tuples(
        st.text(alphabet="abcdefghij_", min_size=1, max_size=8),
        st.sampled_from(["pass", "failure", "error", "skipped"]),
        st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60),  # what XML 1.0 can carry
    ),
    max_size=12,
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=cases)
def test_every_failed_case_appears_once_and_nothing_else(tmp_path: Path, cases: list[tuple[str, str, str]]) -> None:
    session = tmp_path / ".nox" / f"session-{len(cases)}-{time.monotonic_ns()}"
    session.mkdir(parents=True)
    suite = ElementTree.Element("testsuite")
    for number, (name, outcome, message) in enumerate(cases):
        case = ElementTree.SubElement(suite, "testcase", classname="mod", name=f"{name}{number}")
        if outcome != "pass":
            ElementTree.SubElement(case, outcome, message=message)
    ElementTree.ElementTree(suite).write(session / "junit.xml")
    lines = [line for line in recap(tmp_path, 0) if line.startswith(session.name + ":")]
    expected = [(f"mod::{n}{i}", o) for i, (n, o, _) in enumerate(cases) if o in ("failure", "error")]
    assert len(lines) == len(expected)
    for (test, outcome), line in zip(expected, lines, strict=True):
        word = "FAILED" if outcome == "failure" else "ERROR"
        assert line.startswith(f"{session.name}: {word} {test}: ")
        assert "\n" not in line


def test_a_missed_floor_and_an_unreadable_report_are_named(tmp_path: Path, capsys: object) -> None:
    (tmp_path / "coverage-floors.toml").write_text("[floors]\ndemo = 90.0\n", encoding="utf-8")
    session = tmp_path / ".nox" / "tests-package-demo"
    session.mkdir(parents=True)
    report = session / "coverage.json"
    report.write_text('{"totals": {"percent_covered": 50.0, "covered_branches": 1, "num_branches": 2}}',
                      encoding="utf-8")  # fmt: skip
    started = time.time() - 1
    assert coverage_floors.main(["demo", str(report), "--root", str(tmp_path)]) == 1
    (tmp_path / ".nox" / "typecheck").mkdir()
    (tmp_path / ".nox" / "typecheck" / "junit.xml").write_text("<testsuite><testcase", encoding="utf-8")
    lines = recap(tmp_path, started)
    assert any(line.startswith("tests-package-demo: ") and "demo" in line and "90" in line for line in lines), lines
    assert any(line.startswith("typecheck: ") and "unreadable" in line for line in lines), lines
    assert main(["--root", str(tmp_path), "--since", str(started)]) == 0
