"""ARCHITECTURE.md against the tree: a page that names a package, session, CLI, path or command that is gone fails.

Every failure names the page's line (``ARCHITECTURE.md:LINE``) and what it should say instead.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from pipeline_helpers import ROOT

PAGE = ROOT / "ARCHITECTURE.md"
PACKAGES = sorted(path.name for path in (ROOT / "packages").iterdir() if (path / "pyproject.toml").is_file())
MAIN = ROOT / "pipelines" / "dagger" / "src" / "bedrockgate_pipeline" / "main.py"
PATH_SUFFIXES = (".md", ".py", ".toml", ".yaml", ".yml", ".lock", ".json", ".sh", ".cfg")


@dataclass(frozen=True)
class Span:
    """One backticked span of the page, and where it is."""

    line: int
    text: str

    def at(self) -> str:
        return f"ARCHITECTURE.md:{self.line}: `{self.text}`"


def _lines() -> list[str]:
    return PAGE.read_text(encoding="utf-8").splitlines()


def _spans() -> Iterator[Span]:
    for number, line in enumerate(_lines(), start=1):
        for text in re.findall(r"`([^`]+)`", line):
            yield Span(number, text)


def _section(heading: str) -> list[tuple[int, str]]:
    """The numbered lines under ``## heading`` up to the next ``## ``; the heading must be there."""
    lines = _lines()
    starts = [i for i, line in enumerate(lines) if line.strip() == f"## {heading}"]
    assert starts, f"ARCHITECTURE.md has no '## {heading}' section (the checks below read it)"
    body = []
    for index in range(starts[0] + 1, len(lines)):
        if lines[index].startswith("## "):
            break
        body.append((index + 1, lines[index]))
    return body


def _table_rows(heading: str, first_header: str) -> list[tuple[int, list[str]]]:
    """The rows of the table in ``heading`` whose header's first cell is ``first_header``."""
    rows: list[tuple[int, list[str]]] = []
    inside = False
    for number, line in _section(heading):
        if not line.startswith("|"):
            if inside:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not inside:
            inside = cells[0] == first_header
            continue
        if set(cells[0]) <= {"-", ":"}:
            continue
        rows.append((number, cells))
    assert rows, f"ARCHITECTURE.md: no table headed '| {first_header} |' under '## {heading}'"
    return rows


# What the tree says ------------------------------------------------------------------------------------------


def _pyproject(package: str) -> dict[str, Any]:
    with (ROOT / "packages" / package / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


@cache
def _scripts() -> dict[str, dict[str, str]]:
    """Each package's console scripts (``[project.scripts]``)."""
    return {package: dict(_pyproject(package)["project"].get("scripts", {})) for package in PACKAGES}


@cache
def nox_sessions() -> frozenset[str]:
    """Every session ``nox -l`` lists, parametrized ones by their full name (``tests(package='infra')``)."""
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "-f", str(ROOT / "noxfile.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, f"nox -l failed (exit {listed.returncode}): {listed.stderr[-2000:]}"
    names = frozenset(re.findall(r"^[*-] (\S+)", listed.stdout, flags=re.MULTILINE))
    assert "lint" in names, f"nox -l printed no sessions this test can read:\n{listed.stdout[-2000:]}"
    return names


def _session_bases() -> set[str]:
    return {name.split("(")[0] for name in nox_sessions()}


def dagger_functions() -> set[str]:
    """The Dagger module's functions as ``dagger call`` names them (kebab-case)."""
    tree = ast.parse(MAIN.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Name) and target.id == "function":
                    found.add(node.name.replace("_", "-"))
    assert found, f"{MAIN.relative_to(ROOT)}: no @function found"
    return found


def dev_commands() -> set[str]:
    """The ``./dev`` subcommands: the labels of its ``case``."""
    text = (ROOT / "dev").read_text(encoding="utf-8")
    labels = re.findall(r"^  ([a-z|-]+)\)$", text, flags=re.MULTILINE)
    return {label for group in labels for label in group.split("|") if not label.startswith("-")}


@cache
def import_contracts() -> dict[str, set[str]]:
    """Per package, the packages the import-linter contracts let it import (``[tool.importlinter]``)."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        config = tomllib.load(file).get("tool", {}).get("importlinter")
    assert config is not None, (
        "pyproject.toml has no [tool.importlinter] section yet: ARCHITECTURE.md's dependency table is "
        "checked against its contracts (one 'forbidden' contract per package, named "
        "'<distribution> imports only: <list or nothing>')"
    )
    roots = {str(module) for module in config["root_packages"]}

    def folder(module: str) -> str:
        return module.removeprefix("bedrockgate.").replace("_", "-")

    allowed: dict[str, set[str]] = {}
    for contract in config.get("contracts", []):
        if contract.get("type") != "forbidden" or len(contract.get("source_modules", [])) != 1:
            continue
        [source] = contract["source_modules"]
        if source not in roots:
            continue
        may = {folder(m) for m in roots - {source} - set(contract["forbidden_modules"])}
        named = contract["name"].partition(" imports only: ")[2]
        claimed = set() if named == "nothing" else {n.strip().removeprefix("bedrockgate-") for n in named.split(",")}
        assert claimed == may, (
            f"pyproject.toml: import-linter contract {contract['name']!r} says {sorted(claimed) or 'nothing'} "
            f"but forbids everything except {sorted(may) or 'nothing'}: make the name and forbidden_modules agree"
        )
        allowed[folder(source)] = may
    assert set(allowed) == {folder(root) for root in roots}, (
        f"pyproject.toml: [tool.importlinter] has a 'forbidden' contract for {sorted(allowed)}; "
        f"every root package needs one ({sorted(folder(r) for r in roots)})"
    )
    return allowed


# The checks ---------------------------------------------------------------------------------------------------


def test_the_packages_table_lists_every_package_with_its_module_and_cli() -> None:
    rows = _table_rows("The packages", "package")
    listed: dict[str, int] = {}
    for number, cells in rows:
        match = re.fullmatch(r"\[([\w-]+)\]\(packages/([\w-]+)\)", cells[0])
        assert match, f"ARCHITECTURE.md:{number}: the first cell should be [name](packages/name), not {cells[0]!r}"
        name = match[2]
        assert name in PACKAGES, f"ARCHITECTURE.md:{number}: no package packages/{name} (the packages: {PACKAGES})"
        listed[name] = number
        module = "bedrockgate." + name.replace("-", "_")
        assert cells[1] == f"`{module}`", f"ARCHITECTURE.md:{number}: {name} imports as `{module}`, not {cells[1]}"
        commands = set(re.findall(r"`([^`]+)`", cells[3]))
        named_as_distribution = {s for s in _scripts()[name] if s == f"bedrockgate-{name}"}
        assert commands == named_as_distribution, (
            f"ARCHITECTURE.md:{number}: {name}'s CLI cell says {sorted(commands)}; its [project.scripts] "
            f"command is {sorted(named_as_distribution) or 'none'}"
        )
    missing = sorted(set(PACKAGES) - set(listed))
    assert not missing, f"ARCHITECTURE.md: the packages table under '## The packages' lacks {missing}"


def test_the_dependency_table_equals_the_import_linter_contracts() -> None:
    contracts = import_contracts()
    table: dict[str, set[str]] = {}
    for number, cells in _table_rows("The dependency rule", "package"):
        package, may = cells[0], cells[1]
        assert package in contracts, (
            f"ARCHITECTURE.md:{number}: {package!r} has no import-linter contract (contracts: {sorted(contracts)})"
        )
        table[package] = set() if may == "nothing" else {part.strip() for part in may.split(",")}
        assert table[package] == contracts[package], (
            f"ARCHITECTURE.md:{number}: says {package} may import {may}; the import-linter contract allows "
            f"{', '.join(sorted(contracts[package])) or 'nothing'}"
        )
    missing = sorted(set(contracts) - set(table))
    assert not missing, f"ARCHITECTURE.md: the dependency table lacks a row for {missing} (import-linter has them)"


def test_every_nox_session_it_names_exists_and_it_names_every_session() -> None:
    sessions, named = nox_sessions(), set()
    for span in _spans():
        for match in re.finditer(r"nox -s (\"[^\"]+\"|\S+)", span.text):
            name = match[1].strip('"')
            known = name in sessions if "(" in name else name in _session_bases()
            assert known, f"{span.at()}: nox -l lists no session {name!r}"
            named.add(name.split("(")[0])
    missing = sorted(_session_bases() - named)
    assert not missing, f"ARCHITECTURE.md names no `nox -s` for these sessions of nox -l: {missing}"


@pytest.mark.parametrize(
    ("prefix", "known", "owner"),
    [("dagger call", dagger_functions, "the Dagger module (main.py)"), ("./dev", dev_commands, "./dev")],
    ids=["dagger", "dev"],
)
def test_every_command_it_names_exists_and_it_names_every_one(
    prefix: str, known: Callable[[], set[str]], owner: str
) -> None:
    commands, named = known(), set()
    for span in _spans():
        for name in re.findall(re.escape(prefix) + r" ([\w-]+)", span.text):
            assert name in commands, f"{span.at()}: {owner} has no {name!r} (it has {sorted(commands)})"
            named.add(name)
    missing = sorted(commands - named)
    assert not missing, f"ARCHITECTURE.md names no `{prefix} ...` for these of {owner}: {missing}"


def test_every_cli_it_names_is_a_console_script_and_it_names_every_one() -> None:
    scripts = {name for package in _scripts().values() for name in package}
    distributions = {f"bedrockgate-{package}" for package in PACKAGES}
    named = set()
    for span in _spans():
        for token in re.findall(r"(?:^|\s)(bedrockgate-[\w-]+)", span.text):
            assert token in scripts | distributions, f"{span.at()}: {token!r} is no package's console script"
            named.add(token)
        if span.text in scripts:
            named.add(span.text)
    missing = sorted(scripts - named)
    assert not missing, f"ARCHITECTURE.md names no CLI {missing} (the packages' [project.scripts] have them)"


def test_the_cli_table_lists_every_command_named_as_its_distribution() -> None:
    commands = {name for package, scripts in _scripts().items() for name in scripts if name == f"bedrockgate-{package}"}
    listed = set()
    for number, cells in _table_rows("Which command for what", "CLI"):
        name = cells[0].strip("`")
        assert name in commands, f"ARCHITECTURE.md:{number}: {cells[0]} is not a CLI; the CLIs are {sorted(commands)}"
        listed.add(name)
    assert listed == commands, f"ARCHITECTURE.md: the CLI table lacks {sorted(commands - listed)}"


def test_each_cli_is_named_as_its_distribution_and_other_names_are_aliases_of_it() -> None:
    for package, scripts in _scripts().items():
        if not scripts:
            continue
        command = f"bedrockgate-{package}"
        assert command in scripts, f"packages/{package}/pyproject.toml: no console script {command!r}: {scripts}"
        for name, entry_point in scripts.items():
            assert entry_point == scripts[command], (
                f"packages/{package}/pyproject.toml: {name} = {entry_point!r} is not an alias of "
                f"{command} = {scripts[command]!r}"
            )


def _path_candidates(text: str) -> list[str]:
    """The repository paths a span stands for: ``<name>`` is each package, ``*`` a glob; not a path: []."""
    if " " in text or text.startswith(("/", "http")) or not ("/" in text or text.endswith(PATH_SUFFIXES)):
        return []
    if "<name>" in text:
        return [text.replace("<name>", package) for package in PACKAGES]
    return [text]


def test_every_path_it_names_exists() -> None:
    for span in _spans():
        for candidate in _path_candidates(span.text):
            found = list(ROOT.glob(candidate)) if "*" in candidate else [ROOT / candidate]
            assert found, f"{span.at()}: nothing in the repository matches {candidate}"
            assert all(path.exists() for path in found), f"{span.at()}: {candidate} does not exist"


def test_every_link_it_makes_leads_to_a_file_in_the_repository() -> None:
    for number, line in enumerate(_lines(), start=1):
        for target in re.findall(r"\]\(([^)]+)\)", line):
            if target.startswith(("http://", "https://", "#")):
                continue
            assert (ROOT / target.split("#")[0]).exists(), f"ARCHITECTURE.md:{number}: the link to {target} is broken"


def test_the_readme_points_to_this_page_and_to_nothing_outside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(ARCHITECTURE.md)" in readme, "README.md should link ARCHITECTURE.md, the map of the packages"
    for number, line in enumerate(readme.splitlines(), start=1):
        for target in re.findall(r"\]\(([^)]+)\)", line):
            if target.startswith(("http://", "https://", "#")):
                continue
            assert (ROOT / target.split("#")[0]).exists(), f"README.md:{number}: the link to {target} leads nowhere"
        assert "design notes" not in line, f"README.md:{number}: the design notes are not in the repository"


def test_path_candidates_reads_spans_as_the_page_uses_them() -> None:
    # The checks above are only as good as this reading: a command is not a path, a template is each package.
    assert _path_candidates("./dev nox -l") == []
    assert _path_candidates("bedrockgate.gateway_config") == []
    assert _path_candidates("uv.lock") == ["uv.lock"]
    assert _path_candidates("packages/<name>/tests") == [f"packages/{p}/tests" for p in PACKAGES]
    assert _path_candidates("/v1/chat/completions") == []
    assert not list(ROOT.glob("packages/*/no-such-file.py"))
