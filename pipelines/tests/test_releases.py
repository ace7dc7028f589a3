"""Release checks: a version above the last tag, a changelog entry, and dependants told what they need."""

from __future__ import annotations

from bedrockgate_pipeline.releases import check_release, release_problems, tagged_versions
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version
from pipeline_helpers import ROOT

versions = st.tuples(st.integers(0, 3), st.integers(0, 12), st.integers(0, 12)).map(
    lambda v: Version(".".join(map(str, v)))
)


@settings(max_examples=200)
@given(released=st.lists(versions, max_size=5), new=versions, logged=st.booleans())
def test_a_release_needs_a_higher_version_and_a_changelog_entry(
    released: list[Version], new: Version, logged: bool
) -> None:
    changelog = f"# Changelog\n\n## {new} (2026-11-22)\n\n- things\n" if logged else "# Changelog\n"
    problems = release_problems(str(new), sorted(released), changelog)
    higher = not released or new > max(released)
    assert (problems == []) == (higher and logged)


def test_an_entry_still_marked_unreleased_is_not_ready() -> None:
    problems = release_problems("0.2.0", [Version("0.1.0")], "## 0.2.0 (unreleased)\n")
    assert problems == ["CHANGELOG.md still calls 0.2.0 unreleased: put the release date in its heading"]


def test_tags_of_other_packages_and_bad_versions_are_ignored() -> None:
    tags = ["bedrockgate-infra/v0.2.0", "bedrockgate-gateway-config/v0.1.0", "bedrockgate-gateway-config/vX", "v1"]
    assert tagged_versions(tags, "bedrockgate-gateway-config") == [Version("0.1.0")]


def test_the_real_packages_report_their_tag_and_dependants() -> None:
    report = check_release(ROOT, "gateway-config")
    assert report.tag == f"bedrockgate-gateway-config/v{report.version}"
    assert report.module == "bedrockgate.gateway_config"
    assert report.notes == []  # infra and local-stack accept the current version
