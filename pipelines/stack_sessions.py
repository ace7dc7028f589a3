"""The local stack's orphan matrix: ``nox -s stack_signals`` (not a default session: about 10 minutes per mode).

``bedrockgate-local-stack up`` is sent SIGINT, SIGTERM, SIGHUP and SIGKILL while starting, while asking its
first question and while serving; the session prints, per signal and phase, what of the stack is
left 15 s later (processes, and containers in image mode) and how long it took to be clean, and
fails if any cell is not zero. Phoenix is on (``-- --no-phoenix`` leaves it out). When podman holds
the gateway image for this machine (``nox -s gateway_image_amd64`` builds it), the matrix runs again
with the proxy from that image. The package's own suite runs two of these cases.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox
from bedrockgate_pipeline.nox_env import sync

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "3.11"
IMAGE = "localhost/bedrockgate-gateway:latest-amd64"


def _image_present() -> bool:
    """Whether podman has the gateway image (no podman: no image mode)."""
    if shutil.which("podman") is None:
        return False
    conf = ROOT / "packages/local-stack/src/bedrockgate/local_stack/data/containers.conf"  # the stack's podman settings
    found = subprocess.run(  # noqa: S603 -- fixed argv
        ["podman", "image", "exists", IMAGE],  # noqa: S607 -- podman from PATH, checked above
        env=os.environ | {"CONTAINERS_CONF": str(conf)}, capture_output=True, check=False,
    )  # fmt: skip
    return found.returncode == 0


@nox.session(python=PYTHON, default=False)
def stack_signals(session: nox.Session) -> None:
    """Every stop signal in every phase of ``bedrockgate-local-stack up``: nothing of the stack may be left."""
    sync(session, "--package", "bedrockgate-local-stack", "--no-default-groups", "--group", "test")
    image = ["--image", IMAGE] if _image_present() else []
    if not image:
        session.log(f"{IMAGE} is not in podman's storage: the image mode is skipped (nox -s gateway_image_amd64)")
    workdir = Path(session.create_tmp()) / "stack-signals"
    shutil.rmtree(workdir, ignore_errors=True)
    session.run(
        "python", str(ROOT / "packages/local-stack/tests/stack_signals.py"), *image, "--workdir", str(workdir),
        *session.posargs, env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )  # fmt: skip
