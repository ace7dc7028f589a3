"""The hosted workflows: one CI truth in two runners, OIDC for AWS, every action pinned by commit."""

from __future__ import annotations

import re
from typing import Any

import yaml
from pipeline_helpers import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def _load(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def _dagger_args(job: dict[str, Any]) -> list[str]:
    return [
        str(step["with"]["args"]).split()[0] for step in job["steps"] if "dagger-for-github" in step.get("uses", "")
    ]


def test_ci_runs_the_readme_command_and_dagger_s_ci_as_two_jobs() -> None:
    """Defect: the README said `./dev test` is what CI runs while the workflow ran only `dagger call ci`."""
    jobs = _load("ci.yml")["jobs"]
    assert ".ci/run" in _runs(jobs["tests"])
    assert _dagger_args(jobs["dagger"]) == ["ci"]
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^exec \./dev test$", ci_run, flags=re.MULTILINE)  # the README's test command, nothing weaker
    assert "./dev test" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_aws_credentials_come_from_oidc_and_reach_dagger_only_as_secrets() -> None:
    workflow = _load("ci.yml")
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"]["id-token"] == "write"
    assert workflow["permissions"] == {"contents": "read"}  # only the deploy job may ask for a token
    [aws] = [s for s in deploy["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert "role-to-assume" in aws["with"]
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(aws["with"])
    args = next(str(s["with"]["args"]) for s in deploy["steps"] if "dagger-for-github" in s.get("uses", ""))
    assert "--aws-access-key-id env:AWS_ACCESS_KEY_ID" in args
    assert "--registry-password cmd:" in args
    text = (WORKFLOWS / "ci.yml").read_text(encoding="utf-8")
    assert "secrets.AWS_" not in text  # no long-lived keys stored in the repository's secrets


def test_every_action_in_every_workflow_is_pinned_by_commit() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        uses = re.findall(r"uses:\s*(\S+)", path.read_text(encoding="utf-8"))
        assert uses, path.name
        for action in uses:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", action), f"{path.name}: {action} is not pinned"
