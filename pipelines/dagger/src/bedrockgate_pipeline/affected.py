"""Which packages a change affects: the changed ones and everything that depends on them.

The graph is read from the workspace itself (each ``packages/*/pyproject.toml``'s dependencies on
``bedrockgate-*`` distributions), so it cannot drift from what is built. A change to a file that
every package is built with (the lock, the root pyproject, the pipeline, the noxfile) affects all.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from bedrockgate_pipeline.errors import PipelineError
from bedrockgate_pipeline.git import run_git

DISTRIBUTION_PREFIX = "bedrockgate-"
GLOBAL_FILES = (
    "uv.lock",
    "pyproject.toml",
    "coverage-floors.toml",
    "noxfile.py",
    ".python-version",
    "dagger.json",
    "dev",
)
GLOBAL_DIRS = ("pipelines/", "scripts/", ".ci/", ".github/")
BUILD_EDGES: dict[str, set[str]] = {"infra": {"lex-fulfillment"}}
"""Dependencies no pyproject declares: infra packages lex-fulfillment's code into the Lambda zip it deploys."""


def _dependency_name(requirement: str, where: Path) -> str:
    """The requirement's distribution name, normalised (PEP 503), as ``packaging`` parses it."""
    try:
        return canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement as error:
        raise PipelineError(
            f"{where}: {requirement!r} is not a valid requirement ({error}); fix it in that file"
        ) from error


def workspace_graph(root: Path) -> dict[str, set[str]]:
    """Package folder name -> the workspace packages it depends on (runtime, extras and groups)."""
    folders = {p.parent.name for p in (root / "packages").glob("*/pyproject.toml")}
    graph: dict[str, set[str]] = {}
    for folder in sorted(folders):
        pyproject = root / "packages" / folder / "pyproject.toml"
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        project = document.get("project", {})
        requirements = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            requirements += extra
        for group in document.get("dependency-groups", {}).values():
            requirements += [r for r in group if isinstance(r, str)]
        names = {_dependency_name(r, pyproject) for r in requirements}
        graph[folder] = {
            n.removeprefix(DISTRIBUTION_PREFIX)
            for n in names
            if n.startswith(DISTRIBUTION_PREFIX) and n.removeprefix(DISTRIBUTION_PREFIX) in folders
        } - {folder}
        graph[folder] |= BUILD_EDGES.get(folder, set()) & folders
    return graph


def dependants(graph: Mapping[str, set[str]], changed: Iterable[str]) -> set[str]:
    """The changed packages and, transitively, every package that depends on one of them."""
    affected = set(changed)
    frontier = list(affected)
    while frontier:
        current = frontier.pop()
        for package, needs in graph.items():
            if current in needs and package not in affected:
                affected.add(package)
                frontier.append(package)
    return affected


@dataclass(frozen=True)
class Plan:
    """What to test for a change, and why."""

    packages: tuple[str, ...]
    changed_files: tuple[str, ...]
    reason: str


def plan_for(graph: Mapping[str, set[str]], changed_files: Iterable[str]) -> Plan:
    """The packages to test for these changed paths (relative to the repository root)."""
    files = tuple(sorted(set(changed_files)))
    everything = tuple(sorted(graph))
    global_hits = [f for f in files if f in GLOBAL_FILES or f.startswith(GLOBAL_DIRS)]
    if global_hits:
        return Plan(everything, files, f"{global_hits[0]} changed: every package is built with it")
    changed = {f.split("/")[1] for f in files if f.startswith("packages/") and f.count("/") >= 2}
    changed &= set(graph)
    if not changed:
        return Plan((), files, "no package changed")
    affected = dependants(graph, changed)
    extra = sorted(affected - changed)
    why = f"changed: {', '.join(sorted(changed))}" + (f"; their dependants: {', '.join(extra)}" if extra else "")
    return Plan(tuple(sorted(affected)), files, why)


def changed_files(root: Path, base: str) -> list[str]:
    """Files this branch changed since it left ``base`` (committed or not), plus untracked ones.

    The diff starts at the merge base, as a pull request's does: what ``base`` gained since the
    branch forked is not this change.
    """
    fork = run_git(root, "merge-base", base, "HEAD").strip()
    diff = run_git(root, "diff", "--name-only", fork)
    untracked = run_git(root, "ls-files", "--others", "--exclude-standard")
    return sorted({line for line in (diff + untracked).splitlines() if line})
