"""The harness's sessions: every Dagger function's command in a clean container with exactly its inputs.

The root noxfile loads this file. Neither session is a default one: ``nox -s harness`` reruns every
function (tens of minutes), ``nox -s harness_quick`` only the cheap ones in ``harness.QUICK`` (lint,
one package's tests, the Lambda zip, synth: a few minutes once the stage image is built). Both need root
podman and mmdebstrap (``scripts/system-deps.sh --containers``) and, the first time, Debian's mirror
and the package registries on the host to build the stage image and fill the caches; the containers
themselves run with no network. Posargs go to ``python -m bedrockgate_pipeline.harness``
(``--only NAME``, ``--list``, ``--keep``, ``--source worktree``).
"""

from __future__ import annotations

import nox
from bedrockgate_pipeline.nox_env import sync

PYTHON = "3.11"


def _harness(session: nox.Session, *args: str) -> None:
    sync(session, "--only-group", "pipelines")  # the pipeline's code is in that group
    session.run("python", "-m", "bedrockgate_pipeline.harness", *args, *session.posargs)


@nox.session(python=PYTHON, default=False)
def harness(session: nox.Session) -> None:
    """Every Dagger function's command in a clean podman container with exactly its inputs; a table of results."""
    _harness(session)


@nox.session(python=PYTHON, default=False)
def harness_quick(session: nox.Session) -> None:
    """The harness for the quick functions only (lint, tests of gateway-config, lambda-zip, synth)."""
    _harness(session, "--quick")
