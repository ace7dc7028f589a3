"""The CDK CLI's version is pinned in one place: ``CDK_CLI_VERSION`` in infra's ``cli.py``.

The harness reads it from there (its npm cache gets exactly that CLI); the docs name the constant,
not the number, so a bump is one line.
"""

from __future__ import annotations

from pathlib import Path

from bedrockgate_pipeline.git import run_git
from bedrockgate_pipeline.harness import CDK_CLI_SOURCE, cdk_cli_version

ROOT = Path(__file__).resolve().parents[2]

RECORDS = {"packages/infra/rehearsal-spike.md"}
"""A dated record of what was measured with which CLI: history, not a pin."""


def test_the_version_is_written_only_where_it_is_pinned() -> None:
    version = cdk_cli_version()
    assert version.count(".") == 2, version
    found = set(run_git(ROOT, "grep", "-l", "--fixed-strings", version, "--", ".", ":!*.lock", ":!uv.lock").split())
    assert found - RECORDS == {str(CDK_CLI_SOURCE.relative_to(ROOT))}
