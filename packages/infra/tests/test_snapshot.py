"""One snapshot of the dev app's templates, kept in the repository so every change shows up in review.

Asset and content hashes (64 hex digits: the Lambda code's zip, the config digest, image digests)
are masked so the snapshot changes when the infrastructure does, not when a byte of a sibling
package does.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from bedrockgate.infra.report import Synthesized

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = "./dev nox -s \"tests(package='infra')\" -- -k snapshot --update-snapshots"
_HASH = re.compile(r"[0-9a-f]{64}")


def normalise(template: dict[str, Any]) -> str:
    return _HASH.sub("<hash>", json.dumps(template, indent=1, sort_keys=True)) + "\n"


def test_templates_match_the_committed_snapshot(dev: Synthesized, request: pytest.FixtureRequest) -> None:
    current = {f"{name}.json": normalise(template) for name, template in dev.templates.items()}
    if request.config.getoption("--update-snapshots"):
        SNAPSHOTS.mkdir(exist_ok=True)
        for stale in SNAPSHOTS.glob("*.json"):
            if stale.name not in current:
                stale.unlink()
        for name, text in current.items():
            (SNAPSHOTS / name).write_text(text, encoding="utf-8")
        return
    committed = {path.name: path.read_text(encoding="utf-8") for path in SNAPSHOTS.glob("*.json")}
    changed = sorted(name for name in current.keys() | committed.keys() if current.get(name) != committed.get(name))
    if changed:
        diff = "".join(
            line
            for name in changed
            for line in difflib.unified_diff(
                committed.get(name, "").splitlines(keepends=True),
                current.get(name, "").splitlines(keepends=True),
                f"snapshots/{name}",
                f"synthesized/{name}",
                n=2,
            )
        )
        excerpt = "".join(diff.splitlines(keepends=True)[:80])
        pytest.fail(
            f"the synthesized templates differ from tests/snapshots in {', '.join(changed)}.\n"
            f"If the change is intended, review it and update the snapshot with:\n  {UPDATE}\n\n{excerpt}"
        )
