"""Deploy runs only when its profile's gates passed for the very source being deployed, and only from a commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from bedrockgate_pipeline.audit import verdict
from bedrockgate_pipeline.errors import GateError
from bedrockgate_pipeline.gates import (
    PROFILES,
    REQUIRED,
    GateRecord,
    gate_problems,
    profile,
    read_records,
    require_gates,
    source_commit,
    source_id,
    write_record,
)
from hypothesis import given, settings
from hypothesis import strategies as st

sources = st.sampled_from(["tree-a", "tree-b"])
records = st.lists(
    st.builds(GateRecord, st.sampled_from(["ci", "evaluate", "audit", "lint"]), sources, st.booleans(), st.floats(0, 1))
)


@settings(max_examples=300)
@given(history=records, source=sources, name=st.sampled_from(sorted(PROFILES)))
def test_deploy_is_allowed_exactly_when_the_profile_s_gates_last_passed_for_this_source(
    history: list[GateRecord], source: str, name: str
) -> None:
    chosen = profile(name)
    latest = {r.stage: r for r in history if r.source == source}
    allowed = all(stage in latest and latest[stage].passed for stage in chosen.required)
    assert (gate_problems(history, source, chosen.required) == []) == allowed
    if allowed:
        recorded = require_gates(history, source, chosen)
        assert recorded["skipped"] == dict(chosen.skipped)  # every skipped gate is named in the deploy's record
        passed = recorded["passed"]
        assert isinstance(passed, list)
        assert set(passed) | set(chosen.skipped) == set(REQUIRED)


def test_production_requires_every_gate_and_a_rehearsal_names_what_it_skips() -> None:
    assert profile("production").required == ("ci", "evaluate", "audit")
    assert profile("rehearsal").required == ("evaluate",)  # the gate that measures the image it deploys stays
    assert "vulnerability source" in profile("rehearsal").skipped["audit"]
    assert "./dev test" in profile("rehearsal").skipped["ci"]
    with pytest.raises(GateError, match="use one of production, rehearsal"):
        profile("yolo")


def test_records_round_trip_and_a_refusal_names_what_to_run(tmp_path: Path) -> None:
    write_record(tmp_path, "ci", "tree-a", passed=True)
    (tmp_path / "junk.json").write_text("{not json")
    history = read_records(tmp_path)
    assert [(r.stage, r.source, r.passed) for r in history] == [("ci", "tree-a", True)]
    with pytest.raises(GateError, match=r"evaluate has not run for source tree-a: run `nox -s evaluate` first"):
        require_gates(history, "tree-a")
    write_record(tmp_path, "evaluate", "tree-a", passed=True)
    not_run = verdict(1, None, "ERROR:pip_audit._cli:idna: Dependency not found on PyPI and could not be audited")
    write_record(tmp_path, "audit", "tree-a", passed=not_run.passed, detail=not_run.describe())
    with pytest.raises(GateError, match=r"audit did not pass for source tree-a \(audit not run: 1 packages"):
        require_gates(read_records(tmp_path), "tree-a")
    require_gates(read_records(tmp_path), "tree-a", profile("rehearsal"))
    write_record(tmp_path, "audit", "tree-a", passed=True)
    require_gates(read_records(tmp_path), "tree-a")
    with pytest.raises(GateError, match="ci has not run for source tree-b"):
        require_gates(read_records(tmp_path), "tree-b")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()  # noqa: S607


def test_one_dirty_tree_rule_and_the_commit_it_records(tmp_path: Path) -> None:
    """Defect: Dagger's deploy took an uncommitted tree while nox refused one; now both run `require_clean`."""
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("a")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "a")
    assert source_commit(tmp_path) == _git(tmp_path, "rev-parse", "HEAD")
    assert source_id(tmp_path) == _git(tmp_path, "rev-parse", "HEAD^{tree}")
    (tmp_path / "new.py").write_text("x = 1")  # untracked: would deploy without being in any commit
    with pytest.raises(GateError, match=r"uncommitted changes \(\?\? new.py"):
        source_commit(tmp_path)
    (tmp_path / "new.py").unlink()
    (tmp_path / "a.txt").write_text("b")
    with pytest.raises(GateError, match="commit them"):
        source_id(tmp_path)
