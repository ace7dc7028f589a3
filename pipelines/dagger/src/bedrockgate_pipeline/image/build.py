"""Build the gateway image for one architecture: base step, hermetic context, ``podman build``.

The context holds everything the Containerfile reads, so the build itself needs no network:
Debian's root filesystem from ``base.sh``, the lock's wheels for the target with one hash each, the
metrics callback's wheel built from this checkout, the rendered config, the entrypoint.
``--timestamp SOURCE_DATE_EPOCH`` fixes every file time and the image's creation time, so two
builds of the same commit from the same base tarball give the same image.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bedrockgate_pipeline.errors import ImageBuildError
from bedrockgate_pipeline.image import podman as podman_
from bedrockgate_pipeline.image.wheels import Target, choose_wheels, closure, default_cache, fetch, sha256_file

ROOT = podman_.ROOT
RECIPE = ROOT / "pipelines" / "image"
REPOSITORY = "localhost/bedrockgate-gateway"
CONFIG_PATH = "/app/config.yaml"
CALLBACK = "bedrockgate-metrics-callback"


@dataclass(frozen=True)
class Base:
    """A base tarball and what it holds."""

    architecture: str
    tarball: Path
    sha256: str
    packages: dict[str, str]
    """Debian package -> version (the manifest recorded with the image)."""

    @property
    def python(self) -> tuple[int, int, int]:
        """Debian's python3 version in this base, e.g. (3, 11, 2)."""
        upstream = self.packages["python3.11"].split("-")[0]
        major, minor, micro = (int(part) for part in upstream.split(".")[:3])
        return major, minor, micro

    @property
    def glibc(self) -> tuple[int, int]:
        """The base's glibc, e.g. (2, 36): the newest manylinux tag its wheels may carry."""
        major, minor = self.packages["libc6"].split("-")[0].split(".")[:2]
        return int(major), int(minor)


@dataclass(frozen=True)
class BuiltImage:
    """One architecture's image in local storage, and the figures the session prints."""

    architecture: str
    tag: str
    image_id: str
    base: Base
    context: Path
    build_seconds: float
    config_sha256: str
    size_bytes: int


def host_architecture() -> str:
    """The OCI architecture of this machine: the one that runs without emulation."""
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def base_cache() -> Path:
    """Where base tarballs are kept between builds (``$BEDROCKGATE_BASE_CACHE``, else the user's cache)."""
    configured = os.environ.get("BEDROCKGATE_BASE_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bedrockgate" / "base"


def base(architecture: str, *, source_date_epoch: int, refresh: bool = False) -> Base:
    """The base tarball for ``architecture``: reused when this recipe built one before, else built now."""
    podman_.require("mmdebstrap")
    recipe = hashlib.sha256((RECIPE / "base.sh").read_bytes()).hexdigest()[:12]
    tarball = base_cache() / f"bookworm-{architecture}-{recipe}.tar"
    manifest = Path(f"{tarball}.packages")
    if refresh or not (tarball.is_file() and manifest.is_file()):
        tarball.parent.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial.tar")
        env = dict(os.environ) | {"SOURCE_DATE_EPOCH": str(source_date_epoch)}
        done = subprocess.run(
            [str(RECIPE / "base.sh"), architecture, str(partial)], env=env, capture_output=True, text=True, check=False
        )  # fmt: skip
        if done.returncode != 0:
            raise ImageBuildError(f"the base step failed for {architecture}: {done.stderr.strip()[-2000:]}")
        Path(f"{partial}.packages").replace(manifest)
        partial.replace(tarball)
    packages = dict(line.split("\t")[:2] for line in manifest.read_text(encoding="utf-8").splitlines() if line)
    return Base(architecture, tarball, sha256_file(tarball), packages)


def source_date_epoch() -> int:
    """The commit's time (``$SOURCE_DATE_EPOCH`` when set): every timestamp in the image."""
    configured = os.environ.get("SOURCE_DATE_EPOCH")
    if configured:
        return int(configured)
    shown = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True, check=False)
    return int(shown.stdout.strip()) if shown.returncode == 0 and shown.stdout.strip() else 0


def revision() -> str:
    """The commit, with ``-dirty`` when the tree has changes (the image then says so).

    ``$BEDROCKGATE_REVISION`` when set: ``pin_source()`` fixes it once per run, so every build of a run
    (the reproducibility check's two) names the same commit even if HEAD moves meanwhile.
    """
    pinned = os.environ.get("BEDROCKGATE_REVISION")
    if pinned:
        return pinned
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False)
    commit = head.stdout.strip() or "unknown"
    return commit + ("-dirty" if dirty.stdout.strip() else "")


def pin_source() -> None:
    """Fix this process's commit, version label and timestamp before the first build (see ``revision``)."""
    os.environ["SOURCE_DATE_EPOCH"] = str(source_date_epoch())
    os.environ["BEDROCKGATE_REVISION"] = revision()
    os.environ["BEDROCKGATE_IMAGE_VERSION"] = _image_version(os.environ["BEDROCKGATE_REVISION"])


def lay_out_context(target_dir: Path, base_: Base, config_text: str, *, epoch: int) -> tuple[Path, str]:
    """Write the build context; returns it and the baked config's sha256."""
    shutil.rmtree(target_dir, ignore_errors=True)
    wheels = target_dir / "wheels"
    wheels.mkdir(parents=True)
    target = Target(base_.architecture, base_.python, base_.glibc)
    locked = choose_wheels(ROOT / "uv.lock", closure(ROOT, target), target)
    fetch(locked, wheels, default_cache())
    callback = _build_callback_wheel(wheels, epoch)
    lines = [wheel.requirement_line() for wheel in locked]
    lines.append(f"{CALLBACK}=={_wheel_version(callback)} --hash=sha256:{sha256_file(callback)}")
    (wheels / "requirements.txt").write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    try:
        os.link(base_.tarball, target_dir / "base.tar")
    except OSError:
        shutil.copyfile(base_.tarball, target_dir / "base.tar")
    (target_dir / "config.yaml").write_text(config_text, encoding="utf-8")
    config_sha256 = hashlib.sha256(config_text.encode()).hexdigest()
    facts = {"database": "unavailable", "config_path": CONFIG_PATH, "config_sha256": config_sha256}
    (target_dir / "image.json").write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for name in ("Containerfile", "entrypoint.py", "check_integrations.py"):
        shutil.copyfile(RECIPE / name, target_dir / name)
    return target_dir, config_sha256


def _build_callback_wheel(into: Path, epoch: int) -> Path:
    env = dict(os.environ) | {"SOURCE_DATE_EPOCH": str(epoch)}
    done = subprocess.run(
        ["uv", "build", "--package", CALLBACK, "--no-sources", "--wheel", "--out-dir", str(into), "--quiet"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise ImageBuildError(f"building the {CALLBACK} wheel failed: {done.stderr.strip()}")
    built = sorted(into.glob(f"{CALLBACK.replace('-', '_')}-*.whl"))
    if len(built) != 1:
        raise ImageBuildError(f"expected one {CALLBACK} wheel, found {[p.name for p in built]}")
    return built[0]


def _wheel_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


@dataclass(frozen=True)
class Prepared:
    """A laid-out build context and the build arguments the Containerfile takes."""

    architecture: str
    context: Path
    base: Base
    config_sha256: str
    epoch: int
    build_args: dict[str, str]


def prepare(architecture: str, config_text: str, out: Path) -> Prepared:
    """Everything a build needs, on disk: the same for ``podman build`` here and Dagger's ``docker_build``."""
    epoch = source_date_epoch()
    base_ = base(architecture, source_date_epoch=epoch)
    context, config_sha256 = lay_out_context(out / architecture / "context", base_, config_text, epoch=epoch)
    commit = revision()
    created = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    build_args = {
        "BASE_SHA256": base_.sha256,
        "CONFIG_SHA256": config_sha256,
        "DATABASE": "unavailable",
        "VERSION": _image_version(commit),
        "REVISION": commit,
        "CREATED": created,
        "SOURCE": "https://github.com/bedrockgate/bedrockgate",
    }
    (out / architecture / "build-args.json").write_text(json.dumps(build_args, indent=2) + "\n", encoding="utf-8")
    (out / architecture / "base-packages.txt").write_text(
        "".join(f"{name}\t{version}\n" for name, version in sorted(base_.packages.items())), encoding="utf-8"
    )
    return Prepared(architecture, context, base_, config_sha256, epoch, build_args)


def build(
    architecture: str, config_text: str, out: Path, *, no_cache: bool = False, tag_suffix: str = ""
) -> BuiltImage:
    """Build the image for ``architecture`` from ``config_text`` (rendered and validated)."""
    podman_.require("podman")
    prepared = prepare(architecture, config_text, out)
    commit = prepared.build_args["REVISION"]
    tag = f"{REPOSITORY}:{commit[:12]}{'-dirty' if commit.endswith('-dirty') else ''}-{architecture}{tag_suffix}"
    iidfile = out / architecture / "image-id"
    started = time.monotonic()
    podman_.podman(
        "build", f"--platform=linux/{architecture}", "--timestamp", str(prepared.epoch), "--pull=never",
        "--network=none",  # hermetic: no step of the build can reach the network
        *(["--no-cache"] if no_cache else []), "--iidfile", str(iidfile), "--tag", tag,
        *(arg for key, value in prepared.build_args.items() for arg in ("--build-arg", f"{key}={value}")),
        "--file", str(prepared.context / "Containerfile"), str(prepared.context),
        timeout=3600,
    )  # fmt: skip
    seconds = time.monotonic() - started
    image_id = iidfile.read_text(encoding="utf-8").strip()
    size = int(podman_.podman("image", "inspect", "--format", "{{.Size}}", image_id).strip())
    built = BuiltImage(
        architecture, tag, image_id, prepared.base, prepared.context, seconds, prepared.config_sha256, size
    )
    retag(built)
    return built


def retag(image: BuiltImage) -> None:
    """Point the commit's tag and ``latest-<arch>`` (``bedrockgate-local-stack up --gateway image`` runs it) here."""
    podman_.podman("tag", image.image_id, image.tag, f"{REPOSITORY}:latest-{image.architecture}")


def prune_older(keep: BuiltImage) -> list[str]:
    """Untag this repository's other ``-<arch>`` images and prune what no tag or container still holds.

    Each build tags its commit, so without this every run keeps another ~900 MB image: a CI machine that
    builds on each push fills its disk (it did: a ``./dev test`` failed with "no space left on device").
    ``latest-<arch>`` and the image just built stay; other architectures, manifest lists and images a
    container still runs (``bedrockgate-local-stack up --gateway image``) are untouched.
    """
    listed = podman_.podman(
        "images", "--no-trunc", "--filter", f"reference={REPOSITORY}", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"
    )
    stale = sorted(
        reference
        for image_id, _, reference in (line.partition(" ") for line in listed.splitlines() if line.strip())
        if reference.endswith(f"-{keep.architecture}") and _bare(image_id) != _bare(keep.image_id)
    )
    for reference in stale:
        podman_.podman("untag", reference, reference)
    podman_.podman("image", "prune", "--force", "--filter", "label=org.opencontainers.image.title=bedrockgate-gateway")
    return stale


def _bare(image_id: str) -> str:
    return image_id.removeprefix("sha256:")


def _image_version(commit: str) -> str:
    pinned = os.environ.get("BEDROCKGATE_IMAGE_VERSION")
    if pinned:
        return pinned
    described = subprocess.run(
        ["git", "describe", "--tags", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False
    )  # fmt: skip
    return described.stdout.strip() or commit[:12]
