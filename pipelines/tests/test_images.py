"""Renovate keeps the stage images current: its pattern must find every pin in images.py, tag and digest."""

from __future__ import annotations

import json
import re

from bedrockgate_pipeline.images import IMAGES
from pipeline_helpers import ROOT

IMAGES_PY = ROOT / "pipelines" / "dagger" / "src" / "bedrockgate_pipeline" / "images.py"


def _python_regex(javascript: str) -> re.Pattern[str]:
    """Renovate's patterns are ECMAScript: ``(?<name>`` is Python's ``(?P<name>``."""
    return re.compile(javascript.replace("(?<", "(?P<"))


def test_renovate_finds_every_pinned_image_with_its_tag_and_digest() -> None:
    config = json.loads((ROOT / "renovate.json").read_text(encoding="utf-8"))
    [manager] = [m for m in config["customManagers"] if m["datasourceTemplate"] == "docker"]
    [file_pattern] = manager["managerFilePatterns"]
    assert re.search(file_pattern.strip("/"), str(IMAGES_PY.relative_to(ROOT)))
    text = IMAGES_PY.read_text(encoding="utf-8")
    found = {
        f"{m['depName']}:{m['currentValue']}@{m['currentDigest']}"
        for pattern in manager["matchStrings"]
        for m in _python_regex(pattern).finditer(text)
    }
    assert found == set(IMAGES.references().values())


def test_renovate_never_proposes_the_compromised_litellm_releases() -> None:
    config = json.loads((ROOT / "renovate.json").read_text(encoding="utf-8"))
    [rule] = [r for r in config["packageRules"] if r.get("matchPackageNames") == ["litellm"]]
    excluded = re.compile(rule["allowedVersions"].removeprefix("!/").removesuffix("/"))
    assert excluded.match("1.82.7")
    assert excluded.match("1.82.8")
    assert not excluded.match("1.106.2")
