"""Affected packages: the changed ones and every dependant, from the workspace's own graph."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from bedrockgate_pipeline.affected import GLOBAL_FILES, changed_files, dependants, plan_for, workspace_graph
from bedrockgate_pipeline.errors import PipelineError
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_helpers import ROOT

NAMES = [f"p{i}" for i in range(8)]


@st.composite
def dags(draw: st.DrawFn) -> dict[str, set[str]]:
    """Random acyclic graphs: a package may only depend on packages before it."""
    return {
        name: set(draw(st.sets(st.sampled_from(NAMES[:index])))) if index else set() for index, name in enumerate(NAMES)
    }


def _reaches(graph: dict[str, set[str]], package: str, targets: set[str]) -> bool:
    stack, seen = [package], set()
    while stack:
        current = stack.pop()
        if current in targets:
            return True
        seen.add(current)
        stack.extend(graph[current] - seen)
    return False


@settings(max_examples=300)
@given(graph=dags(), changed=st.sets(st.sampled_from(NAMES)))
def test_the_affected_set_is_exactly_the_changed_packages_and_their_dependants(
    graph: dict[str, set[str]], changed: set[str]
) -> None:
    affected = dependants(graph, changed)
    assert changed <= affected
    for package, needs in graph.items():  # closed: whoever depends on an affected package is affected
        if needs & affected:
            assert package in affected
    for package in affected:  # minimal: each is changed or reaches a changed one
        assert _reaches(graph, package, changed)


@settings(max_examples=100)
@given(graph=dags(), extra=st.lists(st.sampled_from(NAMES)), global_file=st.sampled_from(GLOBAL_FILES))
def test_a_lock_or_pipeline_change_affects_every_package(
    graph: dict[str, set[str]], extra: list[str], global_file: str
) -> None:
    files = [global_file, *(f"packages/{name}/src/x.py" for name in extra)]
    assert set(plan_for(graph, files).packages) == set(graph)


def test_the_real_workspace_graph() -> None:
    graph = workspace_graph(ROOT)
    assert graph["infra"] == {"gateway-config", "lex-fulfillment"}  # the second packages the Lambda zip
    assert {"gateway-config", "metrics-callback"} <= graph["local-stack"]
    assert graph["gateway-config"] == set()


def test_a_gateway_config_change_retests_infra_and_local_stack() -> None:
    plan = plan_for(workspace_graph(ROOT), ["packages/gateway-config/src/bedrockgate/gateway_config/rules.py"])
    assert plan.packages == ("gateway-config", "infra", "local-stack")
    assert plan_for(workspace_graph(ROOT), ["pipelines/nox_sessions.py"]).packages == tuple(
        sorted(workspace_graph(ROOT))
    )
    assert plan_for(workspace_graph(ROOT), ["README.md"]).packages == ()


def test_a_lex_fulfillment_change_retests_infra_which_packages_it() -> None:
    """Defect: the plan missed infra's dependency on lex-fulfillment (its code goes into infra's Lambda zip)."""
    plan = plan_for(workspace_graph(ROOT), ["packages/lex-fulfillment/src/bedrockgate/lex_fulfillment/handler.py"])
    assert "infra" in plan.packages


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],  # noqa: S607
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip


def test_the_plan_diffs_from_the_merge_base_not_from_where_main_is_now(tmp_path: Path) -> None:
    """Defect: diffing against the base ref counted main's own later commits as this branch's change."""
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "shared.txt").write_text("0")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "base")
    _git(tmp_path, "checkout", "-qb", "feature")
    (tmp_path / "mine.txt").write_text("1")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "mine")
    _git(tmp_path, "checkout", "-q", "main")
    (tmp_path / "theirs.txt").write_text("2")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "theirs")
    _git(tmp_path, "checkout", "-q", "feature")
    assert changed_files(tmp_path, "main") == ["mine.txt"]


def _two_packages(root: Path, requirement: str) -> Path:
    """A workspace whose package ``a`` declares ``requirement``; ``b`` declares nothing."""
    for name, requirements in (("a", [requirement]), ("b", [])):
        folder = root / "packages" / name
        folder.mkdir(parents=True)
        listed = ", ".join(json.dumps(r) for r in requirements)  # a JSON string is a TOML basic string
        (folder / "pyproject.toml").write_text(f"[project]\nname = 'bedrockgate-{name}'\ndependencies = [{listed}]\n")
    return root / "packages" / "a" / "pyproject.toml"


@pytest.mark.parametrize(
    "requirement",
    ["bedrockgate-b", "Bedrockgate_B[extra]>=0.1,<0.2", "bedrockgate.b ; python_version >= '3.11'",
     "bedrockgate-b @ file:///somewhere/b", "BEDROCKGATE--B (>=0.1)"],
)  # fmt: skip
def test_a_dependency_counts_however_its_requirement_is_spelled(tmp_path: Path, requirement: str) -> None:
    _two_packages(tmp_path, requirement)
    assert workspace_graph(tmp_path) == {"a": {"b"}, "b": set()}


def test_a_name_that_only_starts_like_a_package_is_not_one(tmp_path: Path) -> None:
    _two_packages(tmp_path, "bedrockgate-bee>=1")
    assert workspace_graph(tmp_path) == {"a": set(), "b": set()}


def test_an_invalid_requirement_is_an_error_naming_its_file(tmp_path: Path) -> None:
    pyproject = _two_packages(tmp_path, "bedrockgate-b >= >= 1")
    with pytest.raises(PipelineError, match=re.escape(str(pyproject))):
        workspace_graph(tmp_path)
