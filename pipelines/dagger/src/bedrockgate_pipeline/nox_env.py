"""The one way a nox session installs its environment: ``uv sync`` from the lock, exactly.

Every session in ``noxfile.py`` and ``pipelines/*_sessions.py`` calls :func:`sync` with the part of
the workspace it needs (a package and its groups, or groups only), so a session tests exactly what
``uv.lock`` pins and nothing a previous run left behind (``--exact``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # the Dagger module's runtime never imports this file; nox is the caller's
    import nox


NOT_THE_PIPELINE: Final = ("--no-emit-package", "bedrockgate-pipeline")
"""``uv export`` options that leave out the pipeline's own code (``pipelines/dagger``, an editable path in the
dev groups): no package depends on it, and a requirements list that names it is not the lock's: pip constraints
refuse an unnamed path and pip-audit a requirement without a hash (both failed ``build`` and ``supply_chain``)."""


def sync(session: nox.Session, *selection: str) -> None:
    """Install ``selection`` (e.g. ``--package X --group test``, ``--only-group lint``) into the session's venv."""
    session.run_install(
        *("uv", "sync", "--frozen", "--exact", *selection),
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        silent=True,
        external=True,
    )
