"""The local stack's own jobs, loaded by the root noxfile: the load test (figures, not a test)."""

from __future__ import annotations

from pathlib import Path

import nox

PACKAGE = Path(__file__).parent


@nox.session(python="3.11", default=False)
def load(session: nox.Session) -> None:
    """Locust against the local stack (scripted backend, fixed latency): req/s, p50/p95/p99, failures, overhead.

    ``./dev nox -s load`` runs 20 users for 30 s at 50 ms backend latency; pass
    ``-- --users N --duration 60s --backend-latency-ms 100`` to change that.
    """
    session.run_install(
        "uv", "sync", "--frozen", "--exact", "--package", "bedrockgate-local-stack",
        "--no-default-groups", "--group", "load",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}, silent=True, external=True,
    )  # fmt: skip
    session.run("python", str(PACKAGE / "load" / "run_load.py"), *session.posargs,
                env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"})  # fmt: skip
