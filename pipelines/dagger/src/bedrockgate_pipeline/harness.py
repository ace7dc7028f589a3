"""The inputs harness: each Dagger function's command, run in a clean container with exactly its inputs.

The Dagger engine cannot run here, but a function's graph is plain data until it is awaited. The
harness builds each function's graph with the module's own builders (``containers.py``, ``main.py``),
reads off what it copies (the source's ``include`` list, files made by other functions), mounts (the
uv and npm caches), sets (variables, secret names) and runs (each ``withExec``), then does the same
with podman, so a path missing from a function's inputs fails here as it would in CI:

- **the stage image**: Debian bookworm from the gateway image's base recipe (``pipelines/image/base.sh``,
  mmdebstrap on the host) with the packages that the graphs' ``apt-get install`` steps and ``./dev``'s
  ``scripts/system-deps.sh --containers`` install at run time: a clean container cannot reach Debian's
  mirror, so they are baked in. It is imported into podman once per recipe
  (``localhost/bedrockgate-stage:<recipe hash>``). No pulled image, no host file in it.
- **the source**: exactly the commit's tracked files that the include list selects, minus the
  module's ``Ignore`` patterns, in an empty directory (no ``.venv``, ``.nox``, ``.tools`` or ``dist``);
  ``.git``, when a graph copies it, is a fresh clone of the commit.
- **the run**: one ``podman run --rm --network=none`` per exec, the project's podman settings
  (``CONTAINERS_CONF``), the host's prefetched caches mounted as overlays or read-only (nothing a
  container writes reaches the host's caches), ``UV_OFFLINE=1`` and npm offline. Secrets get fake
  values, passed by name only. With fake credentials and no network, a step that holds AWS
  credentials passes only when it fails at its first AWS call: that proves everything before it.

``python -m bedrockgate_pipeline.harness [--quick] [--only NAME]...`` (``nox -s harness``,
``nox -s harness_quick``) prints one line per function and a table of results and wall times.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import dagger
from dagger import dag

from bedrockgate_pipeline import containers
from bedrockgate_pipeline import main as module
from bedrockgate_pipeline.deploy import deploy_context
from bedrockgate_pipeline.errors import PipelineError
from bedrockgate_pipeline.image import build as image_build
from bedrockgate_pipeline.image import podman as podman_
from bedrockgate_pipeline.image import wheels as image_wheels
from bedrockgate_pipeline.images import IMAGES
from bedrockgate_pipeline.nox_env import NOT_THE_PIPELINE
from bedrockgate_pipeline.stages import STAGES, stage

ROOT = Path(__file__).resolve().parents[4]
BASE_RECIPE = ROOT / "pipelines" / "image" / "base.sh"
SYSTEM_DEPS = ROOT / "scripts" / "system-deps.sh"
BOOTSTRAP = ROOT / "scripts" / "bootstrap-requirements.txt"
CDK_CLI_SOURCE = ROOT / "packages" / "infra" / "src" / "bedrockgate" / "infra" / "cli.py"
DIFF_ENGINE = ROOT / "packages" / "infra" / "src" / "bedrockgate" / "infra" / "diff_engine"
STAGE_REPOSITORY = "localhost/bedrockgate-stage"
CONTAINER_PREFIX = "bedrockgate-harness-"
OUT = ROOT / "dist" / "harness"

# Where the harness's own caches are mounted in a container (the Dagger functions' caches keep their own paths).
PIP_WHEELS = "/opt/harness/pip"
"""uv's wheel for ``./dev``'s hash-checked bootstrap (pip installs it from here: ``PIP_NO_INDEX``)."""
BASE_TARBALLS = "/opt/harness/base"
IMAGE_WHEELS = "/opt/harness/wheels"
OFFLINE_ENV: Mapping[str, str] = {
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "UV_OFFLINE": "1",
    "PIP_NO_INDEX": "1",
    "PIP_FIND_LINKS": PIP_WHEELS,
    "npm_config_offline": "true",
    "BEDROCKGATE_BASE_CACHE": BASE_TARBALLS,
    "BEDROCKGATE_WHEEL_CACHE": IMAGE_WHEELS,
}
"""What makes a clean container work offline: the Dagger functions reach the registries instead."""

FAKE_SECRETS: Mapping[str, str] = {
    "AWS_ACCESS_KEY_ID": "AKIAHARNESSFAKE00000",
    "AWS_SECRET_ACCESS_KEY": "harness-fake-secret-access-key-not-a-real-one",
    "AWS_SESSION_TOKEN": "harness-fake-session-token",
}
FAKE_ACCOUNT = "123456789012"
FAKE_REGION = "us-east-1"
"""What ``--account`` and ``--region`` get in the explicit variants (the region of settings/dev.yaml)."""
UP_TO_AWS = "fake credentials, no network: passes when it fails at the AWS call"
FAKE_IMAGE = "127.0.0.1:5555/bedrockgate-gateway@sha256:" + "ab" * 32
"""A well-formed published reference: deploy's preflight and synth read it; nothing pulls it."""
AWS_CALL = re.compile(
    r"Could not connect to the endpoint URL: \"?https://[a-z0-9.-]*amazonaws\.com"
    r"|(?:getaddrinfo|connect) (?:EAI_AGAIN|ENOTFOUND|ENETUNREACH|ECONNREFUSED)[^\n]*amazonaws\.com"
    r"|Failed to resolve '[a-z0-9.-]*amazonaws\.com'"
    r"|Max retries exceeded with url: [^\n]*\(Caused by NameResolutionError"
)
"""How an AWS call fails in a container with no network (botocore, the CDK CLI on Node.js)."""
GATEWAY_CALL = re.compile(r"https?://[^ ]+ cannot be reached: <urlopen error \[Errno (?:111|101|99)\][^\n]*>")
"""How ``verify``'s first request fails when nothing answers (the harness's verify points at a closed port)."""
HARNESS_ENDPOINT = "http://127.0.0.1:9"
"""Where the harness's ``verify`` sends its checks: loopback's discard port, closed in a container."""
STEP_TIMEOUT_S = 3600.0
INIT = '["/usr/bin/tini", "--"]'
"""PID 1 of every step: the base's tini reaps what a step leaves detached, as an init under Dagger's execs does
(with the step itself as PID 1, the stack's detached servers stay zombies and
``bedrockgate-local-stack down`` sees them)."""

Kind = Literal["file", "directory", "image-archive"]


class HarnessError(PipelineError):
    """The harness cannot reproduce a function (a graph call it does not know, a missing tool or cache)."""


# --------------------------------------------------------------------------------------------------
# Graphs: what a Dagger function copies, mounts, sets and runs, read off its lazy call chain.


@dataclass(frozen=True)
class Step:
    """One ``withExec``: its argv, and the working directory, variables and secret names in force."""

    argv: tuple[str, ...]
    workdir: str
    env: tuple[tuple[str, str], ...] = ()
    secrets: tuple[str, ...] = ()
    privileged: bool = False
    """``insecure_root_capabilities``: the step runs containers itself (podman in the container)."""

    @property
    def holds_aws_credentials(self) -> bool:
        """A step with AWS credentials: with fake ones and no network it can get only as far as the AWS call."""
        return any(name.startswith("AWS_") for name in self.secrets)

    @property
    def remote(self) -> re.Pattern[str] | None:
        """How this step's first call to the outside fails with no network, when it holds credentials for one."""
        if self.holds_aws_credentials:
            return AWS_CALL
        if containers.GATEWAY_KEY in self.secrets:
            return GATEWAY_CALL
        return None


@dataclass(frozen=True)
class Produced:
    """A file or directory that another graph makes (``container.file(path)``), or an image built from one.

    An ``image-archive`` is ``container.directory(path).directory(context).docker_build(...).as_tarball()``:
    the harness keeps ``path`` (the build context and the ``build-args.json`` beside it, which the
    function reads its build arguments from), builds ``context`` with podman and saves an OCI archive.
    """

    graph: Graph
    path: str
    kind: Kind
    context: str = ""
    platform: str = ""


@dataclass(frozen=True)
class Graph:
    """One Dagger container: its image, apt packages, source copy, caches, files from other graphs, execs."""

    image: str
    packages: tuple[str, ...]
    """Debian packages its ``apt-get install`` steps add (the stage image has them baked in)."""
    mount: str
    """Where the source is copied (``/src``); empty when nothing is."""
    include: tuple[str, ...] | None
    """The source paths copied (``None``: the whole source)."""
    caches: tuple[str, ...]
    files: tuple[tuple[str, Produced], ...]
    steps: tuple[Step, ...]


_APT = re.compile(r"apt-get install (?:-\S+ )*(?P<packages>[a-z0-9.+-]+(?: [a-z0-9.+-]+)*)\s*$")


def _apt_packages(argv: Sequence[str]) -> tuple[str, ...] | None:
    """The packages of an ``sh -c "apt-get update && apt-get install ... PKGS"`` step, or None."""
    if len(argv) == 3 and argv[:2] == ["sh", "-c"] and argv[2].startswith("apt-get update"):
        found = _APT.search(argv[2])
        if found:
            return tuple(found["packages"].split())
    return None


def _selections(node: object) -> list[Any]:
    """The chained API calls of a lazy Dagger object (the SDK's query builder, read in this one place)."""
    context = getattr(node, "_ctx", None)
    if context is None:
        raise HarnessError(f"{type(node).__name__} is not a lazy Dagger object: the harness reads only graphs")
    return list(context.selections)


def read_graph(container: dagger.Container) -> Graph:
    """What ``container`` copies, mounts, sets and runs, from its call chain (no engine needed)."""
    return _read(_selections(container))


def _read(chain: Sequence[Any]) -> Graph:  # noqa: PLR0912 -- one branch per Dagger call reproduced
    image, mount, workdir = "", "", "/"
    include: tuple[str, ...] | None = None
    packages: list[str] = []
    caches: list[str] = []
    files: list[tuple[str, Produced]] = []
    steps: list[Step] = []
    env: dict[str, str] = {}
    secrets: list[str] = []
    for call in chain:
        name, args = str(call.name), dict(call.args)
        if name == "container":
            continue
        if name == "from":
            image = str(args["address"])
        elif name == "withExec":
            argv = [str(arg) for arg in args["args"]]
            apt = _apt_packages(argv)
            if apt is not None and not mount:
                packages.extend(apt)
            else:
                privileged = bool(args.get("insecureRootCapabilities"))
                steps.append(Step(tuple(argv), workdir, tuple(sorted(env.items())), tuple(secrets), privileged))
        elif name == "withMountedCache":
            caches.append(str(args["path"]))
        elif name == "withEnvVariable":
            env[str(args["name"])] = str(args["value"])
        elif name == "withSecretVariable":
            secrets.append(str(args["name"]))
        elif name == "withWorkdir":
            workdir = str(args["path"])
        elif name == "withDirectory" and not mount:
            if args.get("exclude"):
                raise HarnessError(f"withDirectory exclude={args['exclude']}: teach harness._read excludes")
            _source_directory(args["source"])
            mount = str(args["path"])
            include = tuple(str(p) for p in args["include"]) if args.get("include") else None
        elif name == "withFile":
            files.append((str(args["path"]), _produced(args["source"], "file")))
        else:
            raise HarnessError(
                f"the harness cannot reproduce Dagger's {name}({', '.join(args)}): teach harness._read this call"
            )
    return Graph(image, tuple(packages), mount, include, tuple(caches), tuple(files), tuple(steps))


def _source_directory(directory: object) -> None:
    chain = _selections(directory)
    if [str(call.name) for call in chain] != ["directory"]:
        raise HarnessError(
            "a graph copies a directory that is not the function's source: teach harness._read to produce it"
        )


def _produced(node: object, kind: Kind) -> Produced:
    chain = _selections(node)
    if chain and str(chain[-1].name) == "asTarball":
        return _image_archive(chain)
    if not chain or str(chain[-1].name) != kind:
        raise HarnessError(f"a {kind} input that no container produces: {[str(c.name) for c in chain]}")
    return Produced(_read(chain[:-1]), str(dict(chain[-1].args)["path"]), kind)


def _image_archive(chain: Sequence[Any]) -> Produced:
    """``container.directory(path)[.directory(sub)...].docker_build(...).as_tarball()``, read off its chain."""
    names = [str(call.name) for call in chain]
    if len(names) < 4 or names[-2] != "dockerBuild":
        raise HarnessError(f"as_tarball of something other than a docker_build of a made directory: {names}")
    first = len(names) - 2
    while first > 0 and names[first - 1] == "directory":
        first -= 1
    folders = [str(dict(call.args)["path"]) for call in chain[first:-2]]
    if not folders:
        raise HarnessError(f"docker_build of a directory no container makes: {names}")
    build = dict(chain[-2].args)
    if build.get("dockerfile", "Containerfile") != "Containerfile":
        raise HarnessError(f"docker_build(dockerfile={build['dockerfile']!r}): the harness builds Containerfile")
    return Produced(
        _read(list(chain)[:first]), folders[0], "image-archive", "/".join(folders[1:]), str(build.get("platform", ""))
    )


# --------------------------------------------------------------------------------------------------
# Functions: every Dagger function as the graphs it runs and what it returns.

Check = Callable[[Path], str | None]
"""A check on a finished function's source directory: None, or what is wrong."""


@dataclass(frozen=True)
class Function:
    """One ``dagger call``: the graphs it runs, in order, and the paths it returns (each must exist after)."""

    name: str
    stage: str
    graphs: tuple[Graph, ...]
    outputs: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    note: str = ""


QUICK = ("lint", "tests --package gateway-config", "lambda-zip", "synth")
"""``nox -s harness_quick``: cheap functions that still prove the entry point, a package's tests (with the root
``examples`` link), an artefact, and one function's input made by another (synth's Lambda zip)."""


def _provenance(architecture: str) -> Check:
    def check(source: Path) -> str | None:
        args_file = source / "dist" / "gateway-image" / architecture / "build-args.json"
        if not args_file.is_file():
            return None  # reported as a missing output
        built = json.loads(args_file.read_text(encoding="utf-8"))
        wrong = [
            f"{key}={built.get(key)!r}"
            for key, bad in (("REVISION", "unknown"), ("CREATED", "1970-01-01T00:00:00Z"))
            if built.get(key) == bad
        ]
        if wrong:
            return (
                f"the {architecture} image's provenance is lost ({', '.join(wrong)} in build-args.json): the "
                "function copies no .git, so the context step cannot read the commit or its time; pass them in "
                "(e.g. SOURCE_DATE_EPOCH and the revision as variables) or copy .git"
            )
        return None

    return check


def functions(*, architectures: Sequence[str] = ("arm64", "amd64"), commit: str | None = None) -> list[Function]:
    """Every Dagger function of the module, as the harness runs it (in an order where producers come first)."""
    source = dag.directory()
    commit = commit or _git(ROOT, "rev-parse", "HEAD").strip()

    def nox(name: str, *posargs: str) -> Graph:
        return read_graph(containers.nox_stage(source, stage(name), IMAGES, *posargs))

    credentials: dict[str, dagger.Secret | None] = {
        key.lower(): dag.set_secret(f"harness-{key.lower()}", value) for key, value in FAKE_SECRETS.items()
    }
    settings = "settings/dev.yaml"

    def bootstrap(account: str | None, region: str | None) -> Graph:
        explicit = {key: value for key, value in (("account", account), ("region", region)) if value}
        return read_graph(containers.bootstrap_container(
            source, IMAGES, credentials, region=region, settings=settings, context=explicit, run_id="harness",
        ))  # fmt: skip

    def deploy(account: str | None, region: str | None) -> Graph:
        context = deploy_context(gateway_image=FAKE_IMAGE, source_commit=commit, account=account, region=region)
        return read_graph(containers.deploy_container(
            source, IMAGES, credentials, region=region, settings=settings, context=context,
            lambda_zip=module._lambda_zip(source), run_id="harness",
        ))  # fmt: skip

    def evaluate() -> Graph:
        context, _ = module._image_variant(source, "amd64")
        archive = containers.gateway_image(context, "amd64", {}).as_tarball()  # build args: read as the function does
        return read_graph(containers.evaluate_stage(source, stage("evaluate"), IMAGES, archive))

    built = [
        Function("lint", "lint", (nox("lint"),)),
        Function("typecheck", "typecheck", (nox("typecheck"),)),
        *(
            Function(
                f"tests --package {package}",
                "tests",
                (read_graph(containers.tests_stage(source, stage("tests"), IMAGES, package)),),
            )
            for package in module.PACKAGES
        ),
        Function("pipeline", "pipeline", (nox("pipeline"),)),
        Function("build", "build", (nox("build"),), outputs=(f"{containers.WORKDIR}/dist",)),
        Function(
            "supply-chain",
            "supply_chain",
            (nox("supply_chain"),),
            outputs=(f"{containers.WORKDIR}/dist/sbom/audit-verdict.json",),
            note="offline, the audit records 'not run' (never a pass)",
        ),
        Function(
            "gateway-image",
            "gateway_image",
            tuple(nox("gateway_image", "context", arch) for arch in architectures),
            outputs=tuple(
                f"{containers.WORKDIR}/dist/gateway-image/{arch}/{name}"
                for arch in architectures
                for name in ("context/Containerfile", "build-args.json")
            ),
            checks=tuple(_provenance(arch) for arch in architectures),
            note="the context step only: docker_build, the smoke test and the push need an engine and a registry",
        ),
        Function(
            "lambda-zip",
            "lambda_zip",
            (read_graph(containers.nox_stage(source, stage("lambda_zip"), IMAGES)),),
            outputs=(f"{containers.WORKDIR}/{containers.LAMBDA_ZIP}",),
        ),
        Function(
            "synth",
            "synth",
            (read_graph(module._synth(source)),),
            outputs=(f"{containers.WORKDIR}/packages/infra/cdk.out/manifest.json",),
        ),
        Function(
            "evaluate", "evaluate", (evaluate(),), outputs=(f"{containers.WORKDIR}/dist/evaluate/results.json",),
            note="the amd64 image built from its context (podman for docker_build), run by a nested podman",
        ),
        Function("bootstrap", "bootstrap", (bootstrap(None, None),), note=UP_TO_AWS),
        Function(f"bootstrap --account {FAKE_ACCOUNT} --region {FAKE_REGION}", "bootstrap",
                 (bootstrap(FAKE_ACCOUNT, FAKE_REGION),), note=UP_TO_AWS),
        Function(
            "deploy", "deploy", (read_graph(containers.source_check(source, IMAGES)), deploy(None, None)),
            note="the source check, then preflight and cdk deploy up to the AWS call (ci, evaluate, the audit and "
                 "the push are the functions above)",
        ),
        Function(f"deploy --account {FAKE_ACCOUNT} --region {FAKE_REGION}", "deploy",
                 (deploy(FAKE_ACCOUNT, FAKE_REGION),),
                 note="preflight and cdk deploy with an explicit account and region (no STS lookup in the app)"),
        Function("verify", "verify", (read_graph(containers.verify_stage(
            source, stage("verify"), IMAGES, endpoint=HARNESS_ENDPOINT, config="examples/agents-gateway.yaml",
            api_key=dag.set_secret("harness-gateway-key", "sk-harness"), lex=None, run_id="harness")),),
            note="up to its first request (nothing listens in the container)"),
        Function("rehearse", "rehearse", (read_graph(containers.rehearse_stage(
            source, stage("rehearse"), IMAGES, run_id="harness")),),
            outputs=(f"{containers.WORKDIR}/dist/rehearsal/report.md",),
            note="the whole rehearsal in one privileged container: image, emulator, local stack"),
    ]  # fmt: skip
    covered = {f.stage for f in built}
    missing = [s.name for s in STAGES if s.name not in covered]
    if missing:
        raise HarnessError(f"stages with no harness function: {missing}: add them to harness.functions")
    return built


def dagger_ignore() -> tuple[str, ...]:
    """The module's ``Ignore`` patterns for its source (what Dagger leaves out before any include)."""
    for meta in typing.get_args(module.Source)[1:]:
        if isinstance(meta, dagger.Ignore):
            return tuple(meta.patterns)
    raise HarnessError("bedrockgate_pipeline.main.Source has no Ignore([...]): the harness reads its patterns there")


# --------------------------------------------------------------------------------------------------
# The source: exactly the commit's tracked files an include list selects.


def _segments_match(pattern: Sequence[str], path: Sequence[str]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_segments_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], head) and _segments_match(rest, path[1:])


def matches(pattern: str, path: str) -> bool:
    """Dagger's (Docker's) include/ignore rule: ``pattern`` matches ``path`` or one of its parent folders.

    Patterns are relative to the source's root: ``dist`` is only the top-level ``dist``; ``**`` spans
    any number of folders (``**/cdk.out``); ``*`` and ``?`` stay within one name.
    """
    if pattern.startswith("!"):
        raise HarnessError(f"include/ignore pattern {pattern!r}: negations are not supported by the harness")
    parts = [part for part in pattern.strip("/").split("/") if part not in ("", ".")]
    segments = path.split("/")
    return any(_segments_match(parts, segments[:depth]) for depth in range(1, len(segments) + 1))


def select(paths: Iterable[str], include: Sequence[str] | None, ignore: Sequence[str] = ()) -> list[str]:
    """The paths Dagger copies: those an include pattern matches (all when ``include`` is None), minus ignored."""
    return sorted(
        path
        for path in paths
        if (include is None or any(matches(p, path) for p in include)) and not any(matches(p, path) for p in ignore)
    )


Source = Literal["head", "worktree"]


def tracked(root: Path, revision: str = "HEAD", *, source: Source = "head") -> dict[str, str]:
    """Tracked path -> git mode (``100644``, ``100755``, ``120000`` for a symlink) of a commit or the work tree."""
    if source == "head":
        listing = _git(root, "ls-tree", "-r", "-z", "--full-tree", revision)
        entries = (line.split("\t", 1) for line in listing.split("\0") if line)
        return {path: meta.split()[0] for meta, path in entries if meta.split()[1] == "blob"}
    listing = _git(root, "ls-files", "-s", "-z")
    found = {}
    for line in listing.split("\0"):
        if line:
            meta, path = line.split("\t", 1)
            if os.path.lexists(root / path):  # deleted in the work tree: not there to copy
                found[path] = meta.split()[0]
    return found


def materialise(
    root: Path,
    dest: Path,
    include: Sequence[str] | None,
    *,
    ignore: Sequence[str] = (),
    revision: str = "HEAD",
    source: Source = "head",
) -> list[str]:
    """Write exactly the selected tracked files into the empty ``dest``; returns their paths.

    ``.git`` in the include list is the commit's own: a fresh clone of it (index at the commit, no
    other refs), as a checkout would have.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise HarnessError(f"{dest} is not empty: the harness materialises into an empty directory")
    modes = tracked(root, revision, source=source)
    chosen = set(select(modes, include, ignore))
    if source == "head":
        archive_argv = ["git", "-C", str(root), "archive", "--format=tar", revision]
        with subprocess.Popen(archive_argv, stdout=subprocess.PIPE) as archive:  # noqa: S603 -- fixed git argv
            if archive.stdout is None:
                raise HarnessError("git archive gave no output stream")
            with tarfile.open(fileobj=archive.stdout, mode="r|") as stream:
                for member in stream:
                    if member.name in chosen and (member.isfile() or member.issym()):
                        _extract(stream, member, dest)
            archive.stdout.read()  # the archive's padding, so that git finishes writing
        if archive.returncode != 0:
            raise HarnessError(f"git archive {revision} failed in {root} (exit {archive.returncode})")
    else:
        for path in sorted(chosen):
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if modes[path] == "120000":
                target.symlink_to(os.readlink(root / path))
            else:
                shutil.copy2(root / path, target)
    if include is not None and ".git" in include:
        _clone_commit(root, dest, revision)
    return sorted(chosen)


def _extract(stream: tarfile.TarFile, member: tarfile.TarInfo, dest: Path) -> None:
    """``extract`` with the ``data`` filter where this Python has it (3.11.4+; Debian's 3.11.2 has not)."""
    if hasattr(tarfile, "data_filter"):
        stream.extract(member, dest, filter="data")
    else:  # the members come from our own `git archive` of the commit
        stream.extract(member, dest)


def _clone_commit(root: Path, dest: Path, revision: str) -> None:
    commit = _git(root, "rev-parse", f"{revision}^{{commit}}").strip()
    _git(dest, "init", "--quiet")
    _git(dest, "fetch", "--quiet", "--depth=1", f"file://{root}", commit)
    _git(dest, "update-ref", "HEAD", commit)
    _git(dest, "reset", "--quiet")  # the index at the commit; the files on disk are the materialised ones


def _subprocess(argv: Sequence[str], **options: Any) -> subprocess.CompletedProcess[str]:
    """Every tool the harness runs to completion (git, podman, mmdebstrap, uv, pip, npm): a fixed argv, no shell."""
    return subprocess.run(list(argv), check=False, text=True, **options)  # noqa: S603 -- fixed argv, never a shell


def _git(cwd: Path, *args: str) -> str:
    done = _subprocess(["git", "-C", str(cwd), *args], capture_output=True)
    if done.returncode != 0:
        raise HarnessError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")
    return done.stdout


# --------------------------------------------------------------------------------------------------
# The stage image: the gateway image's base recipe plus what the functions install at run time.

_PACKAGES_ARRAY = re.compile(r"^\s*packages\+?=\((?P<body>[^)]*)\)", re.MULTILINE)


def system_deps_packages(script: Path = SYSTEM_DEPS) -> tuple[str, ...]:
    """The Debian packages ``scripts/system-deps.sh --containers`` installs (``./dev nox`` runs it)."""
    text = script.read_text(encoding="utf-8")
    found = [
        word
        for match in _PACKAGES_ARRAY.finditer(text)
        for word in re.sub(r"#[^\n]*", "", match["body"]).split()
    ]  # fmt: skip
    if "redis-server" not in found:
        raise HarnessError(f"no packages=(...) list with redis-server found in {script}: update system_deps_packages")
    return tuple(dict.fromkeys(found))


def stage_packages(graphs: Iterable[Graph]) -> tuple[str, ...]:
    """What the stage image adds to the base: every graph's apt packages and system-deps' containers list."""
    return tuple(sorted({*system_deps_packages(), *(p for graph in graphs for p in graph.packages)}))


def _all_graphs(graph: Graph) -> Iterator[Graph]:
    yield graph
    for _, produced in graph.files:
        yield from _all_graphs(produced.graph)


@dataclass(frozen=True)
class StageImage:
    """The clean container's image, from the base recipe and a package list."""

    tag: str
    recipe: str
    architecture: str
    packages: tuple[str, ...]
    manifest: Mapping[str, str]
    """Debian package -> version."""

    @property
    def python(self) -> str:
        """Debian's python3.11, e.g. ``3.11.2``: uv's markers are evaluated for it."""
        return self.manifest["python3.11"].split("-")[0]

    @property
    def glibc(self) -> str:
        """e.g. ``2.36``."""
        return ".".join(self.manifest["libc6"].split("-")[0].split(".")[:2])


def stage_recipe(recipe: bytes, packages: Sequence[str], architecture: str) -> str:
    """The stage image's cache key: the base recipe's bytes, the package list and the architecture."""
    key = json.dumps({"base.sh": hashlib.sha256(recipe).hexdigest(), "packages": sorted(packages),
                      "architecture": architecture, "version": 1})  # fmt: skip
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def harness_cache() -> Path:
    """The harness's own cache (stage tarballs, uv's bootstrap wheel): ``$BEDROCKGATE_HARNESS_CACHE`` or the user's."""
    configured = os.environ.get("BEDROCKGATE_HARNESS_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bedrockgate" / "harness"


def ensure_stage_image(
    packages: Sequence[str],
    *,
    architecture: str | None = None,
    recipe: Path = BASE_RECIPE,
    cache: Path | None = None,
    log: Callable[[str], None] = print,
) -> StageImage:
    """The stage image for ``packages``, built (mmdebstrap on the host, then ``podman import``) unless cached."""
    architecture = architecture or image_build.host_architecture()
    cache = cache or harness_cache()
    key = stage_recipe(recipe.read_bytes(), packages, architecture)
    tarball = cache / f"stage-bookworm-{architecture}-{key}.tar"
    manifest_file = Path(f"{tarball}.packages")
    tag = f"{STAGE_REPOSITORY}:{key}"
    if not (tarball.is_file() and manifest_file.is_file()):
        podman_.require("mmdebstrap")
        log(f"harness: building the stage image's root filesystem with mmdebstrap ({len(packages)} packages) ...")
        cache.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial.tar")
        started = time.monotonic()
        done = _subprocess(
            [str(recipe), architecture, str(partial), ",".join(packages)],
            env=dict(os.environ) | {"SOURCE_DATE_EPOCH": "0"}, capture_output=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise HarnessError(
                f"{recipe} {architecture} ... {','.join(packages)} failed ({done.returncode}): "
                f"{done.stderr.strip()[-2000:]}\nis Debian's mirror reachable from this host, and mmdebstrap "
                "installed (scripts/system-deps.sh --containers)?"
            )
        Path(f"{partial}.packages").replace(manifest_file)
        partial.replace(tarball)
        log(f"harness: root filesystem {tarball.name} in {time.monotonic() - started:.0f} s")
    manifest = dict(line.split("\t")[:2] for line in manifest_file.read_text(encoding="utf-8").splitlines() if line)
    podman_.require("podman")
    exists = _subprocess(["podman", "image", "exists", tag], env=podman_.environment())
    if exists.returncode != 0:
        log(f"harness: importing {tag} into podman ...")
        podman_.podman(
            "import", "--quiet", "--change", "ENV LANG=C.UTF-8", "--change", "WORKDIR /src",
            "--change", f"LABEL bedrockgate.stage.recipe={key}", "--change", 'CMD ["/bin/bash"]',
            str(tarball), tag, timeout=1800,
        )  # fmt: skip
    return StageImage(tag, key, architecture, tuple(packages), manifest)


# --------------------------------------------------------------------------------------------------
# Caches: the host's, prefetched for the stage image's interpreter, mounted so that nothing leaks back.


@dataclass(frozen=True)
class Caches:
    """Host paths of the caches a clean container reads."""

    uv: Path
    npm: Path
    pip: Path
    base: Path
    wheels: Path

    def mounts(self, graph_caches: Sequence[str]) -> list[tuple[Path, str, str]]:
        """(host path, container path, mode) of each cache: a Dagger cache volume as an overlay, ours read-only."""
        known = {containers.UV_CACHE: self.uv, containers.NPM_CACHE: self.npm}
        mounts = []
        for path in graph_caches:
            if path not in known:
                raise HarnessError(
                    f"a graph mounts a cache at {path}: give the harness a host cache for it (Caches.mounts)"
                )
            mounts.append((known[path], path, "O"))
        mounts += [(self.pip, PIP_WHEELS, "ro"), (self.base, BASE_TARBALLS, "ro"), (self.wheels, IMAGE_WHEELS, "ro")]
        return mounts


def _tool(name: str) -> str:
    found = shutil.which(name) or (str(ROOT / ".tools" / "bin" / name) if (ROOT / ".tools" / "bin" / name).exists()
                                   else None)  # fmt: skip
    if found is None:
        raise HarnessError(f"{name} not found on PATH: run the harness through ./dev nox -s harness")
    return found


def host_caches() -> Caches:
    """The host's caches: uv's (``uv cache dir``), npm's, the harness's pip wheels, the image's base and wheels."""
    uv_dir = _checked_output([_tool("uv"), "cache", "dir"]).strip()
    npm = shutil.which("npm")
    npm_dir = _checked_output([npm, "config", "get", "cache"]).strip() if npm else str(Path.home() / ".npm")
    return Caches(
        uv=Path(uv_dir), npm=Path(npm_dir), pip=harness_cache() / "pip",
        base=image_build.base_cache(), wheels=image_wheels.default_cache(),
    )  # fmt: skip


def cdk_cli_version(source: Path = CDK_CLI_SOURCE) -> str:
    """``aws-cdk``'s version that infra's ``bedrockgate-infra cdk`` runs through npx."""
    found = re.search(r'^CDK_CLI_VERSION(?::[^=]+)?=\s*"([^"]+)"', source.read_text(encoding="utf-8"), re.MULTILINE)
    if found is None:
        raise HarnessError(f'no CDK_CLI_VERSION = "..." in {source}: update harness.cdk_cli_version')
    return found[1]


def prefetch(caches: Caches, image: StageImage, *, architectures: Sequence[str], log: Callable[[str], None]) -> None:
    """Fill the host's caches with what the functions fetch at run time, for the stage image (host network)."""
    started = time.monotonic()
    took: dict[str, float] = {}
    machine = {"amd64": "x86_64", "arm64": "aarch64"}[image.architecture]
    # uv: every locked wheel for Debian's Python (markers such as python_full_version < '3.11.3' differ from
    # the host's interpreter), linked into a throwaway target so that uv downloads only what is missing; resolved
    # with dependencies, so that each wheel's metadata is cached too (build's `uv pip install` resolves offline).
    with tempfile.TemporaryDirectory(prefix="harness-prefetch-") as scratch:
        requirements = Path(scratch) / "locked.txt"
        requirements.write_text(
            _checked_output([_tool("uv"), "export", "--frozen", "--all-packages", "--all-groups", "--all-extras",
                             "--no-emit-workspace", *NOT_THE_PIPELINE, "--no-header", "--format",
                             "requirements.txt"], cwd=ROOT),
            encoding="utf-8",
        )  # fmt: skip
        _checked_output([
            _tool("uv"), "pip", "install", "--quiet", "--link-mode", "symlink",
            "--target", str(Path(scratch) / "target"), "--python-version", image.python,
            "--python-platform", f"{machine}-manylinux_{image.glibc.replace('.', '_')}", "-r", str(requirements),
        ], env={"UV_CACHE_DIR": str(caches.uv)})  # fmt: skip
    took["uv"] = time.monotonic() - started
    # pip: uv's wheel for ./dev's hash-checked bootstrap (the container has no index; pip installs from here).
    caches.pip.mkdir(parents=True, exist_ok=True)
    _checked_output([
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
        "--no-deps", "--require-hashes", "--platform", f"manylinux_2_17_{machine}", "--python-version", "3.11",
        "--implementation", "cp", "-r", str(BOOTSTRAP), "-d", str(caches.pip),
    ])  # fmt: skip
    took["pip"] = time.monotonic() - started - sum(took.values())
    # npm: the CDK CLI that infra runs through npx.
    npm = shutil.which("npm")
    if npm is None:
        raise HarnessError("npm not found: the harness prefetches the CDK CLI with it (apt-get install npm)")
    _checked_output([npm, "cache", "add", f"aws-cdk@{cdk_cli_version()}"], env={"npm_config_cache": str(caches.npm)})
    # ... and the replacement guard's diff engine (infra installs it from its lockfile with `npm ci`, offline here).
    with tempfile.TemporaryDirectory(prefix="harness-diff-engine-") as scratch:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(DIFF_ENGINE / name, Path(scratch) / name)
        _checked_output([npm, "ci", "--omit=peer", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=Path(scratch),
                        env={"npm_config_cache": str(caches.npm)})  # fmt: skip
    took["npm"] = time.monotonic() - started - sum(took.values())
    # The gateway image's context step: its Debian base tarballs and the lock's wheels for each architecture.
    epoch = image_build.source_date_epoch()
    for architecture in architectures:
        base = image_build.base(architecture, source_date_epoch=epoch)
        target = image_wheels.Target(architecture, base.python, base.glibc)
        locked = image_wheels.choose_wheels(ROOT / "uv.lock", image_wheels.closure(ROOT, target), target)
        with tempfile.TemporaryDirectory(prefix="harness-wheels-") as scratch:
            image_wheels.fetch(locked, Path(scratch), caches.wheels)
    took["gateway image"] = time.monotonic() - started - sum(took.values())
    spent = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in took.items())
    log(f"harness: caches ready in {time.monotonic() - started:.0f} s ({spent}; uv {caches.uv}, npm {caches.npm})")


def _checked_output(args: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    done = _subprocess(args, cwd=cwd, env=dict(os.environ) | dict(env or {}), capture_output=True)
    if done.returncode != 0:
        raise HarnessError(f"{' '.join(args[:4])} ... failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


# --------------------------------------------------------------------------------------------------
# Running a step: podman, no network, the caches, exactly the source.


def podman_argv(
    step: Step,
    *,
    image: str,
    source: Path,
    mount: str,
    mounts: Sequence[tuple[Path, str, str]],
    name: str,
) -> list[str]:
    """``podman run`` of one step: no network, tini as PID 1, the source read-write, each cache as its mode says.

    Secrets are named only (``--env NAME``): podman takes their values from its own environment.
    """
    argv = ["podman", "run", "--rm", "--pull=never", "--network=none", "--name", name, "--entrypoint", INIT]
    if step.privileged:
        argv.append("--privileged")
    if mount:
        argv += ["--volume", f"{source}:{mount}"]
    for host, path, mode in mounts:
        if mode not in ("O", "ro"):
            raise HarnessError(f"cache {host} -> {path}: mode {mode!r}; the harness mounts caches only as O or ro")
        argv += ["--volume", f"{host}:{path}:{mode}"]
    argv += ["--workdir", step.workdir]
    for key, value in {**OFFLINE_ENV, **dict(step.env)}.items():
        argv += ["--env", f"{key}={value}"]
    for secret in step.secrets:
        argv += ["--env", secret]
    return [*argv, image, *step.argv]


def secret_values(step: Step) -> dict[str, str]:
    """The fake value of each secret a step holds (podman passes them by name)."""
    return {name: FAKE_SECRETS.get(name, f"harness-fake-{name.lower()}") for name in step.secrets}


Verdict = Literal["passed", "stopped at the remote call", "failed"]


def verdict(step: Step, returncode: int, output: str) -> tuple[Verdict, str]:
    """A step's verdict: exit 0, or for a step holding AWS credentials, a failure at its first AWS call."""
    remote = step.remote
    if remote is None:
        return ("passed", "") if returncode == 0 else ("failed", f"exit {returncode}")
    call = remote.search(output)
    if returncode != 0 and call is not None:
        return "stopped at the remote call", call[0]
    if returncode == 0 and call is not None:
        return "failed", f"its AWS call failed ({call[0]}) but the step exited 0: a failure is swallowed"
    if returncode == 0:
        return "failed", "exited 0 with fake credentials and no network: it never called AWS"
    return "failed", f"exit {returncode} before any AWS call"


@dataclass
class StepResult:
    """One exec's outcome."""

    argv: tuple[str, ...]
    verdict: Verdict
    detail: str
    seconds: float
    log: Path


@dataclass
class FunctionResult:
    """One function's outcome and wall time (materialising included)."""

    name: str
    passed: bool
    seconds: float
    steps: list[StepResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    tail: str = ""
    note: str = ""
    cause: str = ""
    """The first failing step in one line: its command, verdict and the log's last error line."""

    @property
    def result(self) -> str:
        """``passed``, ``passed (stopped at the remote call)`` or ``FAILED``."""
        if not self.passed:
            return "FAILED"
        stopped = any(step.verdict == "stopped at the remote call" for step in self.steps)
        return "passed (up to the remote call)" if stopped else "passed"


@dataclass
class Harness:
    """Runs functions in clean containers and remembers what producers made for later consumers."""

    image: StageImage
    caches: Caches
    out: Path
    revision: str = "HEAD"
    source: Source = "head"
    keep: bool = False
    log: Callable[[str], None] = print
    produced: dict[tuple[Graph, str], Path] = field(default_factory=dict)
    wanted: dict[Graph, set[str]] = field(default_factory=dict)
    """Graph -> the paths later graphs copy out of it (``withFile``): a producer keeps those."""

    def expect(self, functions: Iterable[Function]) -> None:
        """Learn which graphs' outputs other graphs copy in, so that a producer keeps them for its consumers."""
        for function in functions:
            for top in function.graphs:
                for graph in _all_graphs(top):
                    for _, produced in graph.files:
                        self.wanted.setdefault(produced.graph, set()).add(produced.path)

    def run(self, function: Function) -> FunctionResult:
        """Materialise, run every graph's steps, check the outputs; never raises for a failing function."""
        started = time.monotonic()
        result = FunctionResult(function.name, passed=False, seconds=0.0, note=function.note)
        workdir = self.out / "work" / _slug(function.name)
        shutil.rmtree(workdir, ignore_errors=True)
        try:
            for index, graph in enumerate(function.graphs):
                source_dir = workdir / str(index)
                self._graph(graph, source_dir, function.name, result)
            made = [(workdir / str(index), graph.mount) for index, graph in enumerate(function.graphs)]
            for output in function.outputs:
                if not any((folder / _relative(output, mount)).exists() for folder, mount in made):
                    result.problems.append(f"{output} was not made (the function returns it)")
            problems = (check(folder) for check in function.checks for folder, _ in made)
            result.problems += list(dict.fromkeys(problem for problem in problems if problem))
        except (HarnessError, PipelineError, OSError, subprocess.SubprocessError) as error:
            result.problems.append(f"harness: {error}")
        finally:
            if not self.keep:
                shutil.rmtree(workdir, ignore_errors=True)
        result.passed = not result.problems and all(s.verdict != "failed" for s in result.steps)
        result.seconds = time.monotonic() - started
        return result

    def _graph(self, graph: Graph, source_dir: Path, function: str, result: FunctionResult) -> None:
        materialise(ROOT, source_dir, graph.include, ignore=dagger_ignore(), revision=self.revision,
                    source=self.source)  # fmt: skip
        for path, produced in graph.files:
            made = self._produce(produced)
            target = source_dir / _relative(path, graph.mount)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(made, target)
        for step in graph.steps:
            outcome = self._step(step, graph, source_dir, f"{_slug(function)}-{len(result.steps)}")
            result.steps.append(outcome)
            if outcome.verdict == "failed":
                result.problems.append(f"`{' '.join(step.argv)}` failed: {outcome.detail} (log: {outcome.log})")
                result.tail = _tail(outcome.log)
                result.cause = result.cause or f"{_short(step.argv)}: {outcome.detail}; {_cause(outcome.log)}"
                return
        self._keep_products(graph, source_dir)

    def _produce(self, produced: Produced) -> Path:
        key = (produced.graph, produced.path)
        if produced.kind == "image-archive":
            return self._image_archive(produced, self._made(produced, key))
        return self._made(produced, key)

    def _made(self, produced: Produced, key: tuple[Graph, str]) -> Path:
        if key not in self.produced:
            self.log(f"harness:   producing {produced.path} first (the graph that makes it)")
            maker = Function(f"producer of {Path(produced.path).name}", "", (produced.graph,))
            made = self.run(maker)
            if not made.passed:
                raise HarnessError(f"the graph that makes {produced.path} failed: {'; '.join(made.problems)}")
        if key not in self.produced:
            raise HarnessError(f"the graph that makes {produced.path} passed but did not make it")
        return self.produced[key]

    def _keep_products(self, graph: Graph, source_dir: Path) -> None:
        """Keep what this graph made for any consumer that asks for it later (``withFile`` of its output)."""
        stash = self.out / "products" / hashlib.sha256(repr(graph).encode()).hexdigest()[:16]
        for candidate in sorted(self.wanted.get(graph, ())):
            made = source_dir / _relative(candidate, graph.mount)
            kept = stash / Path(candidate).name
            if made.is_file():
                stash.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(made, kept)
            elif made.is_dir():
                shutil.rmtree(kept, ignore_errors=True)
                shutil.copytree(made, kept, symlinks=True)
            else:
                continue
            self.produced[(graph, candidate)] = kept

    def _image_archive(self, produced: Produced, folder: Path) -> Path:
        """What ``docker_build(...).as_tarball()`` gives: built with podman from the kept context, saved as OCI.

        The build arguments come from the ``build-args.json`` beside the context, where the function reads them.
        """
        archive = folder.parent / f"{folder.name}-image.tar"
        if archive.is_file():
            return archive
        context = folder / produced.context
        build_args = json.loads((folder / "build-args.json").read_text(encoding="utf-8"))
        iidfile = folder.parent / f"{folder.name}-image-id"
        platform = ["--platform", produced.platform] if produced.platform else []
        started = time.monotonic()
        podman_.podman(
            "build", *platform, "--pull=never", "--network=none", "--iidfile", str(iidfile),
            *(arg for key, value in sorted(build_args.items()) for arg in ("--build-arg", f"{key}={value}")),
            "--file", str(context / "Containerfile"), str(context), timeout=STEP_TIMEOUT_S,
        )  # fmt: skip
        image_id = iidfile.read_text(encoding="utf-8").strip()
        podman_.podman("save", "--quiet", "--format", "oci-archive", "--output", str(archive), image_id, timeout=1800)
        self.log(f"harness:   built and saved {produced.platform or 'the'} image {image_id[:19]} "
                 f"({time.monotonic() - started:.1f} s): {archive}")  # fmt: skip
        return archive

    def _step(self, step: Step, graph: Graph, source_dir: Path, name: str) -> StepResult:
        logs = self.out / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{name}.log"
        container = f"{CONTAINER_PREFIX}{name}-{os.getpid()}"
        argv = podman_argv(step, image=self.image.tag, source=source_dir, mount=graph.mount,
                           mounts=self.caches.mounts(graph.caches), name=container)  # fmt: skip
        env = podman_.environment() | secret_values(step)
        started = time.monotonic()
        with log_path.open("w", encoding="utf-8") as sink:
            sink.write(f"$ {' '.join(step.argv)}   (in {step.workdir})\n")
            sink.flush()
            returncode = _run_logged(argv, env, sink, container)
        seconds = time.monotonic() - started
        found, detail = verdict(step, returncode, log_path.read_text(encoding="utf-8", errors="replace"))
        self.log(f"harness:   {found:<24} {seconds:7.1f} s  {' '.join(step.argv)[:110]}")
        return StepResult(step.argv, found, detail, seconds, log_path)


def _run_logged(argv: Sequence[str], env: Mapping[str, str], sink: IO[str], container: str) -> int:
    process = subprocess.Popen(argv, env=dict(env), stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        return process.wait(timeout=STEP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _subprocess(["podman", "kill", container], env=dict(env), capture_output=True)
        process.wait()
        sink.write(f"\nharness: killed after {STEP_TIMEOUT_S:.0f} s\n")
        return 124


def _relative(path: str, mount: str) -> str:
    if not mount or not (path == mount or path.startswith(mount.rstrip("/") + "/")):
        raise HarnessError(f"{path} is outside the source mount {mount!r}: the harness reads outputs under it")
    return path[len(mount.rstrip("/")) :].lstrip("/")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


_ERROR_LINE = re.compile(r"error|aborted|failed|refus|cannot|not found|Traceback", re.IGNORECASE)
_NOX_FAILED = re.compile(r"nox > Session \S+ failed\.?$|nox > Command .* failed with exit code \d+:?$|no gate record:")


def _cause(log: Path) -> str:
    """The log's last line that reads like an error (nox's own "Session ... failed" lines skipped)."""
    lines = _tail(log, 200).splitlines()
    for line in reversed(lines):
        text = line.strip()
        if _ERROR_LINE.search(text) and not _NOX_FAILED.match(text):
            return text[:300]
    return lines[-1].strip()[:300] if lines else ""


def _short(argv: Sequence[str]) -> str:
    text = " ".join(argv)
    session = re.search(r"nox -s (\S+)", text)
    if session:
        return f"nox -s {session[1]}"
    command = re.search(r"bedrockgate-infra (?:cdk )?([a-z]+)(?=[\s);]|$)", text)
    return f"bedrockgate-infra {command[1]}" if command else text[:60]


def _tail(log: Path, lines: int = 25) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    return ""


# --------------------------------------------------------------------------------------------------
# The command line.


def table(results: Sequence[FunctionResult]) -> str:
    """Function, result, wall time, and what went wrong (first problem), one row each, and the total."""
    rows = [("function", "result", "wall time", "detail")]
    rows += [(r.name, r.result, f"{r.seconds:.0f} s", (r.cause or (r.problems[0] if r.problems else r.note))[:220])
             for r in results]  # fmt: skip
    rows.append(("total", f"{sum(r.passed for r in results)}/{len(results)} passed",
                 f"{sum(r.seconds for r in results):.0f} s", ""))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bedrockgate_pipeline.harness", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--only", action="append", default=[], help="a function by name (repeatable); see --list")
    parser.add_argument("--list", action="store_true", help="print the functions and their inputs, run nothing")
    parser.add_argument("--source", choices=["head", "worktree"], default="head",
                        help="the commit's files (default) or the work tree's tracked files")  # fmt: skip
    parser.add_argument("--revision", default="HEAD")
    parser.add_argument("--arch", action="append", choices=["amd64", "arm64"], default=None,
                        help="gateway image contexts to lay out (default: arm64 and amd64, as Dagger)")  # fmt: skip
    parser.add_argument("--add-package", action="append", default=[], metavar="DEBIAN_PACKAGE",
                        help="diagnosis: a stage image with this package too (not the functions)")  # fmt: skip
    parser.add_argument("--base-recipe", type=Path, default=BASE_RECIPE, help="the stage image's base recipe")
    parser.add_argument("--keep", action="store_true", help="keep each function's directory under OUT/work")
    parser.add_argument("--out", type=Path, default=OUT)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 when every chosen function passes."""
    args = _parser().parse_args(argv)
    log = _printer()
    try:
        commit = _git(ROOT, "rev-parse", f"{args.revision}^{{commit}}").strip()
        architectures = args.arch or ["arm64", "amd64"]
        every = functions(architectures=architectures, commit=commit)
        chosen = _choose(every, QUICK if args.quick else args.only)
        if args.list:
            for function in chosen:
                for graph in function.graphs:
                    log(f"{function.name}: copies {list(graph.include or ['<all>'])}; runs "
                        + " && ".join(" ".join(step.argv) for step in graph.steps))  # fmt: skip
            return 0
        graphs = [g for function in every for top in function.graphs for g in _all_graphs(top)]
        packages = tuple(sorted({*stage_packages(graphs), *args.add_package}))
        if args.add_package:
            log(f"harness: NOT the functions' image: {', '.join(args.add_package)} added for diagnosis")
        image = ensure_stage_image(packages, recipe=args.base_recipe, log=log)
        caches = host_caches()
        needs_image = any(f.stage == "gateway_image" for f in chosen)
        prefetch(caches, image, architectures=architectures if needs_image else [], log=log)
    except (HarnessError, PipelineError) as error:
        print(f"harness: {error}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    harness = Harness(image, caches, args.out, revision=commit, source=args.source, keep=args.keep, log=log)
    harness.expect(every)
    log(f"harness: {len(chosen)} functions of {commit[:12]} ({args.source}) in {image.tag}")
    results = []
    for function in chosen:
        log(f"harness: {function.name} ...")
        result = harness.run(function)
        results.append(result)
        log(f"harness: {function.name}: {result.result} in {result.seconds:.0f} s")
        for problem in result.problems:
            log(f"harness:   {problem}")
        if result.tail:
            log("harness:   last lines:\n" + "\n".join(f"    | {line}" for line in result.tail.splitlines()))
    report = [dataclasses.asdict(r) | {"result": r.result} for r in results]
    (args.out / "results.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    log("\n" + table(results))
    return 0 if all(r.passed for r in results) else 1


def _choose(every: Sequence[Function], names: Sequence[str]) -> list[Function]:
    if not names:
        return list(every)
    known = {f.name: f for f in every}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise HarnessError(f"no harness function named {unknown}; the functions are: {', '.join(known)}")
    return [known[n] for n in names]


def _printer() -> Callable[[str], None]:
    def log(line: str) -> None:
        print(line, flush=True)

    return log


if __name__ == "__main__":
    raise SystemExit(main())
