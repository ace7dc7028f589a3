"""How many LiteLLM worker processes a gateway task runs, and what that asks of the config and the task.

LiteLLM's proxy reads ``NUM_WORKERS`` (``litellm --num_workers``, default 1): with more than one,
uvicorn runs that many worker processes under one parent, and the parent CLI process does the
config setup and the database migration once before they start (``litellm/proxy/proxy_cli.py``).
One worker uses one core, so a task of ``gateway_cpu`` CPU units runs ``gateway_cpu / 1024``
workers (256 and 512: one), unless ``sizes.gateway_workers`` says otherwise.

More workers ask two things of the deployment, which :func:`check_workers` refuses to synthesise
without:

- shared routing state: each worker is a process of its own, so its usage counters (usage-based
  routing's tpm/rpm), cooldowns and the deployments' rpm/tpm limits live in its memory, and N
  workers would each allow the whole limit. With ``router_settings.redis_host`` or ``redis_url``
  they live in Redis and every worker (and every task) shares them;
- memory: the task's memory must hold every worker, the parent and the rest
  (:data:`RSS_PER_WORKER_MIB`, :data:`MEMORY_HEADROOM_MIB`).

Pure: :func:`bedrockgate.infra.derivation.derive_deployment` calls these, and so do the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from bedrockgate.gateway_config import GatewayConfig
from bedrockgate.infra.exceptions import ConfigMismatchError, SettingsError
from bedrockgate.infra.settings import DeploymentSettings

__all__ = [
    "CPU_UNITS_PER_WORKER",
    "MEMORY_HEADROOM_MIB",
    "RSS_PER_WORKER_MIB",
    "WORKERS_VARIABLE",
    "GatewayWorkers",
    "check_workers",
    "gateway_workers",
    "required_memory_mib",
    "shares_routing_state",
    "sizing_summary",
]

WORKERS_VARIABLE: Final = "NUM_WORKERS"
"""The variable LiteLLM's CLI reads its worker count from (``--num_workers``, envvar ``NUM_WORKERS``)."""
CPU_UNITS_PER_WORKER: Final = 1024
"""One vCPU in ECS CPU units: one worker process per vCPU of the task."""
RSS_PER_WORKER_MIB: Final = 420
"""The resident memory of one LiteLLM worker process serving the production config, in MiB.

Measured by ``./dev nox -s bench_gateway``: its ``RSS production...`` line gives the resident memory
(psutil's ``rss``) of each process of the proxy serving the production config (agents-gateway.yaml:
Redis, the metrics and Phoenix callbacks, JSON logs, the guardrail), parent first, after the
interleaved unsaturated and saturated rounds. Measured on 2026-12-06 (LiteLLM 1.106.2, the amd64
image): 405 MiB with one worker, 401 and 391 MiB with two (their parent 305 MiB); 420 keeps about 4 %
over the largest, for growth in a long run (the soak measured a flat RSS). The one figure every
memory check uses: measure again when LiteLLM or the config changes.
"""
MEMORY_HEADROOM_MIB: Final = 512
"""Task memory beyond the workers' own, in MiB, whatever their number.

With more than one worker, uvicorn's supervising parent stays resident: it imported LiteLLM's proxy
(``from litellm.proxy.proxy_server import app``) before it spawned the workers, and measured here
with two workers it held about 310 MiB. With one worker uvicorn serves in that same process, and the
room is left for a burst (large requests and responses in flight). The rest (about 200 MiB) is for
tini and the entrypoint, the Prisma query engine's own process when the config uses a database, and
what Fargate counts against the task besides the container (its agent's share; the log driver's
non-blocking buffer of 25 MiB).
"""

WorkersOrigin = Literal["derived", "set"]


@dataclass(frozen=True, slots=True)
class GatewayWorkers:
    """The worker count of each gateway task and where it came from."""

    count: int
    origin: WorkersOrigin
    """``derived`` from ``sizes.gateway_cpu``, or ``set`` by ``sizes.gateway_workers``."""
    cpu: int
    """The task's CPU units (``sizes.gateway_cpu``)."""

    def describe(self) -> str:
        """Where the count came from, for an error message or the synth report."""
        if self.origin == "set":
            return f"{self.count} worker(s), set by sizes.gateway_workers"
        return f"{self.count} worker(s), derived from sizes.gateway_cpu {self.cpu} (one per 1024 CPU units)"


def gateway_workers(settings: DeploymentSettings) -> GatewayWorkers:
    """The task's worker count: ``sizes.gateway_workers`` when set, else one per vCPU (at least one)."""
    sizes = settings.sizes
    if sizes.gateway_workers is not None:
        return GatewayWorkers(count=sizes.gateway_workers, origin="set", cpu=sizes.gateway_cpu)
    return GatewayWorkers(
        count=max(1, sizes.gateway_cpu // CPU_UNITS_PER_WORKER), origin="derived", cpu=sizes.gateway_cpu
    )


def required_memory_mib(workers: int) -> int:
    """The task memory ``workers`` worker processes need: each one's RSS, plus the fixed headroom."""
    return workers * RSS_PER_WORKER_MIB + MEMORY_HEADROOM_MIB


def sizing_summary(settings: DeploymentSettings, workers: GatewayWorkers) -> str:
    """One line for the synth report: the workers, and the memory they need against the task's."""
    memory = settings.sizes.gateway_memory_mib
    needed = required_memory_mib(workers.count)
    return (
        f"gateway workers: {workers.describe()} (NUM_WORKERS); task memory {memory} MiB >= {needed} MiB needed "
        f"({workers.count} x {RSS_PER_WORKER_MIB} MiB per worker + {MEMORY_HEADROOM_MIB} MiB headroom)"
    )


def shares_routing_state(config: GatewayConfig) -> bool:
    """Whether the config's router keeps its usage counters, cooldowns and limits in Redis."""
    router = config.router_settings
    return router is not None and (router.redis_host is not None or router.redis_url is not None)


def check_workers(settings: DeploymentSettings, config: GatewayConfig, workers: GatewayWorkers) -> None:
    """Refuse more than one worker without Redis in router_settings, and a task memory that cannot hold them.

    Raises ConfigMismatchError (naming the settings file and the config) for the first, SettingsError
    for the second; each message names the figures and the fixes.
    """
    settings_file = _settings_file(settings)
    if workers.count > 1 and not shares_routing_state(config):
        raise ConfigMismatchError(
            f"{settings_file} runs {workers.describe()}, but the gateway config {settings.gateway_config} keeps "
            "its routing state in memory (router_settings has no redis_host or redis_url): each worker process "
            "would count usage, cool deployments down and enforce rpm/tpm limits on its own, so every limit "
            f"would allow {workers.count} times its value.\n"
            "Either add Redis to the config's router_settings (redis_host: os.environ/REDIS_HOST, redis_port: "
            "os.environ/REDIS_PORT, redis_password: os.environ/REDIS_PASSWORD: infra provides the three), or set "
            f"sizes.gateway_workers: 1 in {settings_file}."
        )
    needed = required_memory_mib(workers.count)
    memory = settings.sizes.gateway_memory_mib
    if memory < needed:
        fits = (memory - MEMORY_HEADROOM_MIB) // RSS_PER_WORKER_MIB
        fewer = f", or run fewer workers (sizes.gateway_workers: {fits} or fewer)" if 1 <= fits < workers.count else ""
        raise SettingsError(
            f"{settings_file}: sizes.gateway_memory_mib {memory} cannot hold {workers.describe()}: they need "
            f"{workers.count} x {RSS_PER_WORKER_MIB} MiB (the measured RSS of one worker) + {MEMORY_HEADROOM_MIB} "
            f"MiB (the parent process, tini, Fargate's share) = {needed} MiB.\n"
            f"Give the task more memory (sizes.gateway_memory_mib: {needed} or more, within what Fargate allows for "
            f"gateway_cpu {settings.sizes.gateway_cpu}){fewer}."
        )


def _settings_file(settings: DeploymentSettings) -> str:
    """The settings file named in an error (the settings may come from context alone)."""
    file: Path | None = settings.settings_file
    return f"the deployment settings {file}" if file is not None else "the deployment settings"
