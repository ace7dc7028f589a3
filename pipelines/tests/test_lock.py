"""The lock: hashes for every artefact, and the compromised LiteLLM releases can never resolve."""

from __future__ import annotations

import json
import re
import tomllib

from pipeline_helpers import ROOT

COMPROMISED = {"1.82.7", "1.82.8"}


def _lock() -> dict[str, object]:
    return tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))


def test_litellm_is_locked_at_a_reviewed_release_and_never_a_compromised_one() -> None:
    versions = {p["version"] for p in _lock()["package"] if p["name"] == "litellm"}  # type: ignore[attr-defined]
    assert versions
    assert not versions & COMPROMISED
    assert all(tuple(int(x) for x in v.split(".")) >= (1, 83, 7) for v in versions)


def test_the_workspace_constraint_excludes_the_compromised_releases() -> None:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [constraint] = [c for c in root["tool"]["uv"]["constraint-dependencies"] if c.startswith("litellm")]
    assert all(f"!={v}" in constraint for v in COMPROMISED)
    assert ">=1.83.7" in constraint


def test_every_locked_artefact_has_a_hash() -> None:
    missing = []
    for package in _lock()["package"]:  # type: ignore[attr-defined]
        for artefact in [package.get("sdist"), *package.get("wheels", [])]:
            if artefact is not None and "url" in artefact and not str(artefact.get("hash", "")).startswith("sha256:"):
                missing.append(package["name"])
    assert not missing


def test_the_ci_workflow_pins_actions_by_commit_and_calls_the_dagger_ci_function() -> None:
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    uses = re.findall(r"uses: (\S+)", workflow)
    assert uses
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses
    assert "args: ci" in workflow
    engine = json.loads((ROOT / "dagger.json").read_text(encoding="utf-8"))["engineVersion"]
    assert f'version: "{engine.removeprefix("v")}"' in workflow
