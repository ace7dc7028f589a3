"""The lock's wheels for one target platform, fetched on the host and checked against the lock's hashes.

Why not ``pip download --platform``: pip evaluates environment markers for the machine it runs on,
not for the target (``platform_machine``, ``python_full_version``), so a cross-architecture download
can pick the wrong set. Here the set comes from ``uv export`` of the ``gateway-image`` group, each
marker is evaluated for the target's interpreter, and the wheel is the lock's own file with the
lock's own hash: the image installs exactly what ``uv.lock`` says for that platform, nothing else.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import tomllib
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from bedrockgate_pipeline.errors import ImageBuildError

ARCHITECTURES: Mapping[str, str] = {"amd64": "x86_64", "arm64": "aarch64"}
"""OCI architecture -> the machine name in wheel tags and ``platform_machine``."""
GROUP = "gateway-image"


@dataclass(frozen=True)
class Target:
    """The interpreter a wheel set is for: Debian's python3 in the base, on one architecture."""

    architecture: str
    """``amd64`` or ``arm64``."""
    python: tuple[int, int, int]
    glibc: tuple[int, int]

    @property
    def machine(self) -> str:
        """``x86_64`` or ``aarch64``."""
        return ARCHITECTURES[self.architecture]

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker variables of the target, not of the machine this runs on."""
        major, minor, micro = self.python
        return {
            "implementation_name": "cpython",
            "implementation_version": f"{major}.{minor}.{micro}",
            "os_name": "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": f"{major}.{minor}.{micro}",
            "python_version": f"{major}.{minor}",
            "sys_platform": "linux",
            "extra": "",
        }

    def tags(self) -> list[Tag]:
        """Wheel tags the target accepts, most specific first (as pip would rank them)."""
        glibc_major, glibc_minor = self.glibc
        platforms = [f"manylinux_{glibc_major}_{m}_{self.machine}" for m in range(glibc_minor, 16, -1)]
        platforms.append(f"manylinux2014_{self.machine}")
        if self.machine == "x86_64":
            platforms += ["manylinux_2_12_x86_64", "manylinux2010_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64"]
        version = self.python[:2]
        return [
            *cpython_tags(version, abis=[f"cp{version[0]}{version[1]}", "abi3", "none"], platforms=platforms),
            *compatible_tags(version, interpreter=f"cp{version[0]}{version[1]}", platforms=platforms),
        ]


@dataclass(frozen=True)
class LockedWheel:
    """One wheel of the lock chosen for the target."""

    name: str
    version: str
    filename: str
    url: str
    sha256: str

    def requirement_line(self) -> str:
        """A ``--require-hashes`` line pinning exactly this file."""
        return f"{self.name}=={self.version} --hash=sha256:{self.sha256}"


def closure(root: Path, target: Target) -> dict[str, str]:
    """The ``gateway-image`` group's locked packages (name -> version) whose markers hold on the target."""
    exported = subprocess.run(
        ["uv", "export", "--frozen", "--only-group", GROUP, "--no-hashes", "--no-header", "--no-annotate",
         "--no-emit-workspace", "--format", "requirements.txt"],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if exported.returncode != 0:
        raise ImageBuildError(f"uv export of the {GROUP!r} group failed: {exported.stderr.strip()}")
    return select_for_target(exported.stdout.splitlines(), target)


def select_for_target(lines: Iterable[str], target: Target) -> dict[str, str]:
    """Requirement lines (``name==version ; marker``) reduced to those the target needs."""
    environment = target.marker_environment()
    chosen: dict[str, str] = {}
    for line in lines:
        text = line.strip()
        if not text or text.startswith(("#", "-")):
            continue
        requirement = Requirement(text)
        if requirement.marker is not None and not Marker(str(requirement.marker)).evaluate(environment):
            continue
        pins = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        if len(pins) != 1:
            raise ImageBuildError(f"uv export gave an unpinned requirement: {text!r}")
        name = str(canonicalize_name(requirement.name))
        if name in chosen and chosen[name] != pins[0]:
            raise ImageBuildError(f"two versions of {name} hold on {target.architecture}: {chosen[name]}, {pins[0]}")
        chosen[name] = pins[0]
    return chosen


def choose_wheels(lock_path: Path, packages: Mapping[str, str], target: Target) -> list[LockedWheel]:
    """For each package, the lock's best wheel for the target; an error names every package without one."""
    lock = tomllib.loads(lock_path.read_text(encoding="utf-8"))
    entries = {(str(canonicalize_name(p["name"])), p["version"]): p for p in lock["package"]}
    rank = {tag: index for index, tag in enumerate(target.tags())}
    chosen: list[LockedWheel] = []
    missing: list[str] = []
    for name, version in sorted(packages.items()):
        entry = entries.get((name, version))
        if entry is None:
            missing.append(f"{name}=={version} (not in uv.lock)")
            continue
        best: tuple[int, dict[str, str]] | None = None
        for wheel in entry.get("wheels", []):
            filename = wheel["url"].rsplit("/", 1)[-1]
            _, _, _, tags = parse_wheel_filename(filename)
            score = min((rank[tag] for tag in tags if tag in rank), default=None)
            if score is not None and (best is None or score < best[0]):
                best = (score, wheel)
        if best is None:
            missing.append(f"{name}=={version} (no wheel for linux/{target.architecture} cp311 in the lock)")
            continue
        wheel = best[1]
        algorithm, _, digest = wheel["hash"].partition(":")
        if algorithm != "sha256":
            raise ImageBuildError(f"{name}: the lock's hash is {algorithm}, not sha256")
        chosen.append(LockedWheel(name, version, wheel["url"].rsplit("/", 1)[-1], wheel["url"], digest))
    if missing:
        raise ImageBuildError(
            "the image cannot be installed from wheels alone: " + "; ".join(missing)
            + ". Pin a version with wheels for this platform in uv.lock (uv lock --upgrade-package NAME)."
        )  # fmt: skip
    return chosen


def default_cache() -> Path:
    """Where fetched wheels are kept, by hash (``$BEDROCKGATE_WHEEL_CACHE``, else the user's cache)."""
    configured = os.environ.get("BEDROCKGATE_WHEEL_CACHE")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "bedrockgate" / "wheels"


def fetch(wheels: Iterable[LockedWheel], into: Path, cache: Path) -> None:
    """Copy each wheel into ``into``, downloading it to the cache first when absent; every file's hash is checked."""
    into.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        cached = cache / wheel.sha256 / wheel.filename
        if not cached.is_file() or _sha256(cached) != wheel.sha256:
            _download(wheel, cached)
        shutil.copyfile(cached, into / wheel.filename)


def _download(wheel: LockedWheel, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as partial:
        try:
            with urllib.request.urlopen(wheel.url, timeout=120) as response:  # noqa: S310 -- the lock's https URL
                shutil.copyfileobj(response, partial)
        except OSError as error:
            Path(partial.name).unlink(missing_ok=True)
            raise ImageBuildError(f"could not fetch {wheel.filename} from the lock's URL ({error})") from error
    actual = _sha256(Path(partial.name))
    if actual != wheel.sha256:
        Path(partial.name).unlink(missing_ok=True)
        raise ImageBuildError(
            f"{wheel.filename}: sha256 {actual} does not match uv.lock's {wheel.sha256}; the file was not kept"
        )
    Path(partial.name).replace(destination)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """The file's sha256, hex."""
    return _sha256(path)
