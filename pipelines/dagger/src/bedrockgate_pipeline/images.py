"""Every container image the pipeline uses, by digest, in one place.

A digest is written here only after it was read from the registry (``docker buildx imagetools
inspect IMAGE:TAG`` or ``crane digest IMAGE:TAG``): the build machines of this project cannot reach
a container registry, so the two below are still unpinned, and every function that would pull one
refuses with ``UnpinnedImageError`` naming it. Pin them where a registry is reachable. The gateway
image is not here: it is ours, built ``FROM scratch`` on a Debian base from ``pipelines/image``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bedrockgate_pipeline.errors import UnpinnedImageError

_DIGEST = re.compile(r"^[a-z0-9./-]+(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}$")
UNPINNED = "sha256:" + "0" * 64


@dataclass(frozen=True)
class Images:
    """The images by role; each reference is ``name:tag@sha256:<digest>``."""

    python: str
    """Where the nox stages run: the Python the project is tested with."""
    node: str
    """The CDK CLI's runtime for deploy (aws-cdk from npm)."""

    def references(self) -> dict[str, str]:
        """Role -> reference."""
        return {"python": self.python, "node": self.node}

    def require_pinned(self) -> None:
        """Refuse malformed or not yet pinned references, naming each."""
        bad = [f"{role} ({ref})" for role, ref in self.references().items() if not _DIGEST.match(ref)]
        unpinned = [
            f"{role} ({ref.split('@')[0]})" for role, ref in self.references().items() if ref.endswith(UNPINNED)
        ]
        if bad:
            raise UnpinnedImageError(f"not a name:tag@sha256:<64 hex> reference: {', '.join(bad)}")
        if unpinned:
            raise UnpinnedImageError(
                f"no verified digest yet for {', '.join(unpinned)}: read it with `docker buildx imagetools inspect` "
                "and set it in pipelines/dagger/src/bedrockgate_pipeline/images.py"
            )


IMAGES = Images(
    python=f"docker.io/library/python:3.11-slim@{UNPINNED}",
    node=f"docker.io/library/node:22-slim@{UNPINNED}",
)
