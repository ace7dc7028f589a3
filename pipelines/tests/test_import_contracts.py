"""The import contracts in the root pyproject.toml fail when broken, on a tree made to break each one.

``nox -s lint`` runs ``lint-imports`` over the real packages; here the same configuration runs over
six stand-in packages with the real names, so that each forbidden import can be added on purpose.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from bedrockgate_pipeline.import_contracts import is_private, owner
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]

CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
PACKAGES = [str(p) for p in CONFIG["root_packages"]]
ALLOWED = {
    "bedrockgate.gateway_config": set(),
    "bedrockgate.metrics_callback": set(),
    "bedrockgate.lex_fulfillment": set(),
    "bedrockgate.evals": set(),
    "bedrockgate.infra": {"bedrockgate.gateway_config"},
    "bedrockgate.local_stack": {"bedrockgate.gateway_config", "bedrockgate.metrics_callback"},
}
"""The lead's dependency rule (issue 17), written out here so that a contract that drifts from it fails."""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _tree(root: Path, imports: dict[str, list[str]]) -> Path:
    """Six packages under ``root/bedrockgate`` (a namespace), each with a public and a private module."""
    for package in PACKAGES:
        folder = root / Path(*package.split("."))
        (folder / "stacks").mkdir(parents=True)
        for module in ("__init__.py", "public.py", "_private.py", "stacks/__init__.py", "stacks/_parts.py"):
            (folder / module).write_text("")
        lines = [f"import {target}\n" for target in imports.get(package, [])]
        (folder / "public.py").write_text("".join(lines))
    return root


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the root pyproject.toml's configuration over ``tree``; its styling stripped."""
    lint_imports = str(Path(sys.executable).parent / "lint-imports")
    command = [lint_imports, "--no-cache", "--config", str(ROOT / "pyproject.toml")]
    env = os.environ | {"PYTHONPATH": str(tree)}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=300, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, ANSI.sub("", done.stdout), done.stderr)


def _contract(source: str) -> str:
    return str(next(c["name"] for c in CONFIG["contracts"] if c.get("source_modules") == [source]))


def test_each_package_has_one_contract_named_for_what_it_may_import() -> None:
    for package, allowed in ALLOWED.items():
        distribution = "bedrockgate-" + package.removeprefix("bedrockgate.").replace("_", "-")
        listed = ", ".join(sorted("bedrockgate-" + a.removeprefix("bedrockgate.").replace("_", "-") for a in allowed))
        assert _contract(package) == f"{distribution} imports only: {listed or 'nothing'}"
        contract = next(c for c in CONFIG["contracts"] if c.get("source_modules") == [package])
        assert set(contract["forbidden_modules"]) == set(PACKAGES) - allowed - {package}


def test_the_allowed_imports_keep_every_contract(tmp_path: Path) -> None:
    imports = {package: sorted(allowed) for package, allowed in ALLOWED.items()}
    imports["bedrockgate.infra"].append("bedrockgate.infra._private")  # a package's own private module
    done = _lint(_tree(tmp_path, imports))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(CONFIG['contracts'])} kept, 0 broken" in done.stdout


@pytest.mark.parametrize("source", PACKAGES)
def test_every_forbidden_import_breaks_its_package_contract(tmp_path: Path, source: str) -> None:
    forbidden = sorted(set(PACKAGES) - ALLOWED[source] - {source})
    done = _lint(_tree(tmp_path, {source: forbidden}))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{_contract(source)} BROKEN" in done.stdout
    assert "Contracts: 1 kept" not in done.stdout
    for target in forbidden:
        assert f"{source}.public -> {target}" in done.stdout


@pytest.mark.parametrize("private", ["bedrockgate.gateway_config._private", "bedrockgate.evals.stacks._parts"])
def test_importing_another_package_private_module_breaks_the_private_contract(tmp_path: Path, private: str) -> None:
    done = _lint(_tree(tmp_path, {"bedrockgate.local_stack": [private]}))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no package imports another package's private (_-prefixed) modules BROKEN" in done.stdout
    assert f"bedrockgate.local_stack.public (line 1) imports {private}" in done.stdout


def test_the_real_packages_keep_every_contract() -> None:
    sources = os.pathsep.join(str(p) for p in sorted((ROOT / "packages").glob("*/src")))
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    env = os.environ | {"PYTHONPATH": sources}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


names = st.text(alphabet="abc_", min_size=1, max_size=4)


@settings(max_examples=300)
@given(package=st.sampled_from(PACKAGES), parts=st.lists(names, max_size=3))
def test_a_module_is_private_exactly_when_a_part_below_its_package_starts_with_one_underscore(
    package: str, parts: list[str]
) -> None:
    module = ".".join([package, *parts])
    assert owner(module, PACKAGES) == package
    assert is_private(module, package) == any(p.startswith("_") and not p.startswith("__") for p in parts)


def test_a_module_outside_the_packages_has_no_owner() -> None:
    assert owner("bedrockgate.gateway_configs.x", PACKAGES) is None
    assert owner("yaml", PACKAGES) is None
