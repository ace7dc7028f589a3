"""Podman as this project runs it: one settings file for every call (``CONTAINERS_CONF``).

The file is the local stack's (``bedrockgate/local_stack/data/containers.conf``): the image build,
its smoke test and ``bedrockgate-local-stack up --gateway image`` run containers with the same settings.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from bedrockgate_pipeline.errors import ImageBuildError

ROOT = Path(__file__).resolve().parents[5]
CONTAINERS_CONF = ROOT / "packages" / "local-stack" / "src" / "bedrockgate" / "local_stack" / "data" / "containers.conf"


def environment() -> dict[str, str]:
    """The environment for a podman call: this project's settings file, nothing global."""
    return dict(os.environ) | {"CONTAINERS_CONF": str(CONTAINERS_CONF)}


def require(*binaries: str) -> None:
    """Fail naming each missing binary and the script that installs it."""
    missing = [binary for binary in binaries if shutil.which(binary) is None]
    if missing:
        raise ImageBuildError(
            f"{', '.join(missing)} not found: run scripts/system-deps.sh as root (./dev test does) to install them"
        )


def podman(*args: str, capture: bool = True, check: bool = True, timeout: float | None = None) -> str:
    """Run ``podman ARGS`` with the project's settings; its stdout, or an error with its stderr."""
    completed = subprocess.run(
        ["podman", *args], env=environment(), capture_output=capture, text=True, check=False, timeout=timeout
    )  # fmt: skip
    if check and completed.returncode != 0:
        detail = (completed.stderr or "").strip()[-2000:]
        raise ImageBuildError(f"podman {' '.join(args[:3])} ... failed ({completed.returncode}): {detail}")
    return completed.stdout or ""


def run_argv(*args: str) -> Sequence[str]:
    """The argv of ``podman ARGS`` for a caller that manages the process itself (use with :func:`environment`)."""
    return ["podman", *args]


def load(archive: Path) -> str:
    """Load an image archive (OCI or docker, e.g. Dagger's ``as_tarball``) into podman's storage: its reference.

    Podman prints ``Loaded image: REF``: a name when the archive carries one, else the image's id (returned bare).
    """
    if not archive.is_file():
        raise ImageBuildError(f"no image archive at {archive}: pass the file the gateway image was exported to")
    loaded = [
        line.split(":", 1)[1].strip()
        for line in podman("load", "--quiet", "--input", str(archive), timeout=1800).splitlines()
        if line.startswith("Loaded image")
    ]
    if len(loaded) != 1:
        raise ImageBuildError(f"{archive} holds {len(loaded)} images ({loaded}); the gate runs exactly one")
    reference = loaded[0].split(",")[0].strip()
    # An unnamed archive's image is printed by its id, as `sha256:ID` or (podman 4.3, --quiet) `localhost/sha256:ID`.
    return reference.removeprefix("localhost/").removeprefix("sha256:") if "sha256:" in reference else reference
