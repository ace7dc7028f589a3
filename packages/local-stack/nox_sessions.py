"""The local stack's own jobs, loaded by the root noxfile: the load test, the fault campaign and the soak (figures)."""

from __future__ import annotations

from pathlib import Path

import nox
from bedrockgate_pipeline.nox_env import sync

PACKAGE = Path(__file__).parent


@nox.session(python="3.11", default=False)
def load(session: nox.Session) -> None:
    """Locust against the local stack (scripted backend, fixed latency): req/s, p50/p95/p99, failures, overhead.

    ``./dev nox -s load`` runs 20 users for 30 s at 50 ms backend latency; pass
    ``-- --users N --duration 60s --backend-latency-ms 100`` to change that.
    """
    sync(session, "--package", "bedrockgate-local-stack", "--no-default-groups", "--group", "load")
    session.run("python", str(PACKAGE / "load" / "run_load.py"), *session.posargs,
                env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"})  # fmt: skip


def _sync_stack(session: nox.Session) -> None:
    """The package with Phoenix, no embedded models (the scripted backend answers): from the lock."""
    sync(session, "--package", "bedrockgate-local-stack", "--no-default-groups", "--extra", "phoenix")


@nox.session(python="3.11", default=False)
def faults(session: nox.Session) -> None:
    """The full fault campaign: steady load through the real proxy, one fault at a time; a table per fault.

    Primary down, primary slow, every model slow, Redis killed, the metrics sink full, Phoenix
    killed, the proxy restarted (about 10 minutes at 2.5 req/s), then a bare proxy whose stdout
    nobody reads. ``-- --rate 2 --during 30`` changes the bounds, ``-- --faults redis,phoenix``
    picks faults. ``./dev test`` runs a short campaign (tests/test_fault_campaign.py) that asserts
    the promises.
    """
    _sync_stack(session)
    session.run("python", str(PACKAGE / "load" / "run_faults.py"), *session.posargs,
                env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"})  # fmt: skip
    # Not a fault of the stack's: a bare proxy whose stdout nobody reads (the awslogs driver's blocking mode).
    session.run("python", str(PACKAGE / "load" / "stdout_block.py"))


@nox.session(python="3.11", default=False)
def soak(session: nox.Session) -> None:
    """Ten minutes of steady load, production config: the proxy's RSS slope (MB per 10,000 requests) and fds.

    ``-- --minutes 3`` for a quicker run, ``-- --rate 5`` for less load.
    """
    _sync_stack(session)
    session.run("python", str(PACKAGE / "load" / "run_soak.py"), *session.posargs,
                env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"})  # fmt: skip


@nox.session(python="3.11", default=False)
def bench_gateway(session: nox.Session) -> None:
    """The gateway's cost per request: LiteLLM's own baseline, each feature alone, production, two workers.

    The real proxy (the gateway image when built, else the workspace's), pinned to CPU 0, the
    load on CPU 1; overhead header p50/p95/p99 and proxy CPU ms per request (500 sequential
    requests), requests per proxy CPU-second (saturated), medians over 3 interleaved rounds
    (about 25 minutes). ``-- --rounds 1 --requests 100`` for a quick look, ``-- --gateway venv``,
    ``-- --json figures.json``.
    """
    _sync_stack(session)
    session.run("python", str(PACKAGE / "load" / "run_bench.py"), *session.posargs,
                env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"})  # fmt: skip
