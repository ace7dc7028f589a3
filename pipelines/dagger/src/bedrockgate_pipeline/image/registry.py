"""A real registry on loopback (Debian's ``docker-registry``, the CNCF distribution registry) and the push.

No container registry is reachable from these machines; this one stands in for ECR in the same
flow: the multi-arch manifest list is pushed, and its digest is what synth and deploy receive.
It keeps running after the session (its state lives in ``.pipeline/registry``), so the printed
reference stays pullable; ``python -m bedrockgate_pipeline.image registry-stop`` stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass

from bedrockgate_pipeline.errors import ImageBuildError
from bedrockgate_pipeline.image import podman as podman_

STATE = podman_.ROOT / ".pipeline" / "registry"
DEFAULT_PORT = 5555
NAME = "bedrockgate-gateway"


@dataclass(frozen=True)
class Registry:
    """A running registry on 127.0.0.1."""

    port: int

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    def answers(self) -> bool:
        """Whether ``/v2/`` answers 200."""
        try:
            with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2) as response:
                return int(response.status) == 200
        except OSError:
            return False


def ensure_running(port: int | None = None) -> Registry:
    """The project's registry, started when it is not answering."""
    podman_.require("docker-registry")
    registry = Registry(port or int(os.environ.get("BEDROCKGATE_REGISTRY_PORT", DEFAULT_PORT)))
    if registry.answers():
        return registry
    STATE.mkdir(parents=True, exist_ok=True)
    config = STATE / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {STATE / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: {registry.host}\n",
        encoding="utf-8",
    )
    with (STATE / "registry.log").open("ab") as log:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    (STATE / "pid").write_text(str(process.pid), encoding="utf-8")
    deadline = time.monotonic() + 30
    while not registry.answers():
        if process.poll() is not None or time.monotonic() > deadline:
            raise ImageBuildError(f"the local registry did not start on {registry.host}; see {STATE / 'registry.log'}")
        time.sleep(0.2)
    return registry


def stop() -> bool:
    """Stop the registry this project started; whether one was running."""
    pid_file = STATE / "pid"
    if not pid_file.is_file():
        return False
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.killpg(int(pid_file.read_text(encoding="utf-8")), signal.SIGTERM)
    pid_file.unlink()
    return True


_LIST_TYPES = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json"


def _manifest(registry: Registry, digest: str) -> str:
    """The pushed manifest list as the registry serves it (podman 4.3's ``manifest inspect`` has no TLS flag)."""
    request = urllib.request.Request(
        f"http://{registry.host}/v2/{NAME}/manifests/{digest}", headers={"Accept": _LIST_TYPES}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 -- as above
        return str(response.read().decode("utf-8"))


def push_multi_arch(registry: Registry | str, images: dict[str, str], tag: str) -> str:
    """Push one manifest list of ``architecture -> image id``; the pushed reference by digest.

    ``registry`` is the local registry, or a remote repository (``ACCOUNT.dkr.ecr.REGION.amazonaws.com/
    bedrockgate-gateway``) that ``podman login`` has credentials for; the remote push verifies TLS.
    """
    local = f"localhost/{NAME}:{tag}-list"
    podman_.podman("manifest", "rm", local, check=False)
    podman_.podman("manifest", "create", local)
    for architecture, image_id in sorted(images.items()):
        podman_.podman(
            "manifest",
            "add",
            "--arch",
            architecture,
            "--os",
            "linux",
            local,
            f"containers-storage:{image_id.removeprefix('sha256:')}",
        )
    repository = f"{registry.host}/{NAME}" if isinstance(registry, Registry) else registry.rstrip("/")
    tls = "--tls-verify=false" if isinstance(registry, Registry) else "--tls-verify=true"
    STATE.mkdir(parents=True, exist_ok=True)
    digest_file = STATE / f"{tag}.digest"
    podman_.podman(
        "manifest", "push", "--all", tls, "--digestfile", str(digest_file), local, f"docker://{repository}:{tag}",
        timeout=1800,
    )  # fmt: skip
    digest = digest_file.read_text(encoding="utf-8").strip()
    reference = f"{repository}@{digest}"
    listed = (
        _manifest(registry, digest)
        if isinstance(registry, Registry)
        else podman_.podman("manifest", "inspect", reference)
    )
    platforms = {m.get("platform", {}).get("architecture") for m in json.loads(listed).get("manifests", [])}
    missing = sorted(set(images) - platforms)
    if missing:
        raise ImageBuildError(
            f"{reference} does not list linux/{', linux/'.join(missing)} after the push: {listed[:1000]}"
        )
    return reference
