"""The proxy from the gateway image instead of the workspace's venv (``bedrockgate-local-stack up --gateway image``).

The container runs exactly as the ECS task does: the image's entrypoint, its fixed non-root user, a
read-only root filesystem with ``/tmp`` the only writable path, and LiteLLM's liveness route as the
health check. What differs is the runtime config: the local stack's (Bedrock pointed at the
emulator, no database), mounted read-only, with ``BEDROCKGATE_CONFIG_SHA256`` set to that file's
digest so the entrypoint's check runs as in production. Podman's settings come from one file
shipped here (``data/containers.conf``), never a user's global config; the host network reaches
the emulator, Redis and Phoenix on loopback.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import platform
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bedrockgate.local_stack.exceptions import StackConfigError

REPOSITORY: Final = "localhost/bedrockgate-gateway"
RUNTIME_CONFIG: Final = "/etc/bedrockgate/runtime-config.yaml"
IMAGE_USER: Final = "10001:10001"
WRITABLE_PATHS: Final = ("/tmp",)  # noqa: S108 -- the container's own /tmp, a tmpfs here and a task volume on ECS
_MACHINES: Final = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def containers_conf() -> Path:
    """The project's podman settings file (runc, cgroupfs, ulimits within the hard limits)."""
    return Path(str(importlib.resources.files("bedrockgate.local_stack").joinpath("data", "containers.conf")))


def podman_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for podman that uses the project's settings file."""
    return dict(base if base is not None else os.environ) | {"CONTAINERS_CONF": str(containers_conf())}


def host_architecture() -> str:
    """The OCI architecture of this machine (``amd64`` or ``arm64``)."""
    machine = platform.machine().lower()
    if machine not in _MACHINES:
        raise StackConfigError(f"no gateway image is built for {machine}: use --gateway venv")
    return _MACHINES[machine]


def default_image() -> str:
    """The newest image ``nox -s gateway_image`` built for this machine's architecture."""
    return f"{REPOSITORY}:latest-{host_architecture()}"


def require_image(reference: str) -> None:
    """Fail with the fix when podman or the image is missing."""
    if shutil.which("podman") is None:
        raise StackConfigError(
            "--gateway image needs podman: run scripts/system-deps.sh as root, or use --gateway venv"
        )
    found = subprocess.run(  # noqa: S603 -- fixed argv; podman from PATH, which require_image checked
        ["podman", "image", "exists", reference], env=podman_environment(), capture_output=True, check=False  # noqa: S607
    )  # fmt: skip
    if found.returncode != 0:
        raise StackConfigError(
            f"the gateway image {reference} is not in podman's storage: build it with "
            "`./dev nox -s gateway_image_amd64` (or `gateway_image` for both architectures), or name one with "
            "--gateway image=REF"
        )


@dataclass(frozen=True)
class ImageProxy:
    """How to run one proxy container: its argv and the environment podman passes into it by name."""

    argv: list[str]
    env: dict[str, str]
    container_name: str


def image_proxy(
    reference: str,
    *,
    config: Path,
    port: int,
    environment: Mapping[str, str],
    name: str,
    cpus: str | None = None,
) -> ImageProxy:
    """The ``podman run`` of the gateway image serving ``config`` on 127.0.0.1:``port``.

    Variables travel by name (``--env NAME``, value in podman's own environment), so no secret
    appears in a process list. ``cpus``: the CPUs the container may use (``--cpuset-cpus``).
    """
    passed = dict(environment) | {"BEDROCKGATE_CONFIG_SHA256": hashlib.sha256(config.read_bytes()).hexdigest()}
    argv = [
        "podman", "run", "--rm", "--replace", "--name", name, "--network=host",
        "--read-only", "--read-only-tmpfs=false", "--user", IMAGE_USER,
        *(arg for path in WRITABLE_PATHS for arg in ("--tmpfs", f"{path}:rw,mode=1777,size=512m")),
        "--volume", f"{config.resolve()}:{RUNTIME_CONFIG}:ro",
        "--stop-timeout", "30",
        *(["--cpuset-cpus", cpus] if cpus is not None else []),
        *(arg for key in sorted(passed) for arg in ("--env", key)),
        reference, "--config", RUNTIME_CONFIG, "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    return ImageProxy(argv=argv, env=podman_environment() | passed, container_name=name)


def remove_container(name: str, grace_s: int = 5) -> None:
    """Remove the container if it is still there (its podman process may have been killed).

    ``grace_s``: seconds between podman's SIGTERM and its SIGKILL.
    """
    subprocess.run(  # noqa: S603 -- fixed argv; podman from PATH
        ["podman", "rm", "--force", "--ignore", "--time", str(grace_s), name],  # noqa: S607
        env=podman_environment(), capture_output=True, check=False, timeout=60,
    )  # fmt: skip
