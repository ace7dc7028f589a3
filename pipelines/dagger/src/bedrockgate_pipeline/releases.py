"""Release checks for one package: a new version, a changelog entry, and what its dependants need.

Each package is versioned on its own and tagged ``<distribution>/v<version>``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from bedrockgate_pipeline.affected import workspace_graph
from bedrockgate_pipeline.errors import PublishError
from bedrockgate_pipeline.git import run_git


@dataclass(frozen=True)
class ReleaseReport:
    """What ``nox -s release -- <package>`` found."""

    package: str
    distribution: str
    module: str
    version: str
    tag: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def release_tag(distribution: str, version: str) -> str:
    """The tag that releases ``version`` of ``distribution``: ``<distribution>/v<version>``."""
    return f"{distribution}/v{version}"


def parse_release_tag(tag: str) -> tuple[str, str]:
    """``(distribution, version)`` of a release tag; a tag that is not one says what the format is.

    The distribution is a normalised name (lower case, ``-`` between words) and the version is in
    PEP 440's normal form, so every release has exactly one tag: ``release_tag`` inverts this.
    """
    distribution, separator, version = tag.rpartition("/v")
    example = release_tag("bedrockgate-gateway-config", "0.2.0")
    if not separator or not distribution:
        raise PublishError(
            f"tag {tag!r} is not a release tag: release tags are <distribution>/v<version>, e.g. {example}"
        )
    if not _NORMALISED_NAME.fullmatch(distribution):
        raise PublishError(
            f"tag {tag!r}: {distribution!r} is not a normalised distribution name "
            f"(lower case letters, digits and single '-'), e.g. {example}"
        )
    try:
        normal = str(Version(version))
    except InvalidVersion:
        raise PublishError(f"tag {tag!r}: {version!r} is not a PEP 440 version, e.g. {example}") from None
    if normal != version:
        raise PublishError(f"tag {tag!r}: write the version in its normal form: {release_tag(distribution, normal)}")
    return distribution, version


_NORMALISED_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def tagged_versions(tags: list[str], distribution: str) -> list[Version]:
    """The versions released so far, from tags ``<distribution>/v<version>`` (others ignored)."""
    versions = []
    for tag in tags:
        prefix = f"{distribution}/v"
        if tag.startswith(prefix):
            try:
                versions.append(Version(tag.removeprefix(prefix)))
            except InvalidVersion:
                continue
    return sorted(versions)


def release_problems(version: str, released: list[Version], changelog: str) -> list[str]:
    """Why this version cannot be released (empty: it can)."""
    problems = []
    try:
        new = Version(version)
    except InvalidVersion:
        return [f"version {version!r} is not a valid version (PEP 440)"]
    if released and new <= released[-1]:
        problems.append(f"version {new} is not above the last release {released[-1]}: bump it in pyproject.toml")
    entries = [line for line in changelog.splitlines() if line.startswith("## ") and str(new) in line]
    if not entries:
        problems.append(f"CHANGELOG.md has no '## {new}' entry: describe the release there")
    elif "unreleased" in entries[0].lower():
        problems.append(f"CHANGELOG.md still calls {new} unreleased: put the release date in its heading")
    return problems


def check_release(root: Path, package: str, *, publishing: str | None = None) -> ReleaseReport:
    """Read the package, its tags, its changelog and its dependants' requirements.

    ``publishing``: the tag being published (the release workflow runs on it), which is not an
    earlier release of this version.
    """
    folder = root / "packages" / package
    if not (folder / "pyproject.toml").is_file():
        known = ", ".join(sorted(p.parent.name for p in (root / "packages").glob("*/pyproject.toml")))
        raise ValueError(f"no package {package!r} under packages/; the packages are: {known}")
    project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    distribution, version = project["name"], project["version"]
    tags = [t for t in run_git(root, "tag", "--list", f"{distribution}/v*").split() if t != publishing]
    changelog_path = folder / "CHANGELOG.md"
    changelog = changelog_path.read_text(encoding="utf-8") if changelog_path.is_file() else ""
    problems = release_problems(version, tagged_versions(tags, distribution), changelog)
    notes = dependant_notes(root, package, distribution, version)
    module = "bedrockgate." + package.replace("-", "_")
    return ReleaseReport(package, distribution, module, version, release_tag(distribution, version), problems, notes)


def dependant_notes(root: Path, package: str, distribution: str, version: str) -> list[str]:
    """Dependants whose declared range excludes the new version: they need a release too."""
    notes = []
    for dependant, needs in workspace_graph(root).items():
        if package not in needs:
            continue
        document = tomllib.loads((root / "packages" / dependant / "pyproject.toml").read_text(encoding="utf-8"))
        for requirement in document["project"].get("dependencies", []):
            parsed = Requirement(requirement)
            if parsed.name == distribution and not parsed.specifier.contains(version, prereleases=True):
                notes.append(
                    f"{dependant} requires {parsed} which excludes {version}: widen it and release {dependant} too"
                )
    return notes
