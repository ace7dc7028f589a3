"""Deploy runs only when ci and evaluate passed for the very source being deployed."""

from __future__ import annotations

from pathlib import Path

import pytest
from bedrockgate_pipeline.errors import GateError
from bedrockgate_pipeline.gates import GateRecord, gate_problems, read_records, require_gates, write_record
from hypothesis import given, settings
from hypothesis import strategies as st

sources = st.sampled_from(["tree-a", "tree-b"])
records = st.lists(
    st.builds(GateRecord, st.sampled_from(["ci", "evaluate", "lint"]), sources, st.booleans(), st.floats(0, 1))
)


@settings(max_examples=300)
@given(history=records, source=sources)
def test_deploy_is_allowed_exactly_when_both_gates_last_passed_for_this_source(
    history: list[GateRecord], source: str
) -> None:
    latest = {r.stage: r for r in history if r.source == source}
    allowed = all(stage in latest and latest[stage].passed for stage in ("ci", "evaluate"))
    assert (gate_problems(history, source) == []) == allowed


def test_records_round_trip_and_a_refusal_names_what_to_run(tmp_path: Path) -> None:
    write_record(tmp_path, "ci", "tree-a", passed=True)
    (tmp_path / "junk.json").write_text("{not json")
    history = read_records(tmp_path)
    assert [(r.stage, r.source, r.passed) for r in history] == [("ci", "tree-a", True)]
    with pytest.raises(GateError, match=r"evaluate has not run for source tree-a: run `nox -s evaluate` first"):
        require_gates(history, "tree-a")
    write_record(tmp_path, "evaluate", "tree-a", passed=True)
    require_gates(read_records(tmp_path), "tree-a")
    with pytest.raises(GateError, match="ci has not run for source tree-b"):
        require_gates(read_records(tmp_path), "tree-b")
