"""The gateway benchmark's measurements: overhead, CPU per request and requests per CPU-second, per proxy.

Two loads, both bounded and on loopback only:
- unsaturated: one client, requests in sequence; LiteLLM's own ``x-litellm-overhead-duration-ms``
  header per answer (its time minus the provider call), and the proxy's CPU time over the run;
- saturated: ``concurrency`` clients at once, a fixed number of requests; requests answered per
  CPU-second the proxy spent.

CPU time, not wall-clock throughput, is the figure that survives a noisy shared machine: it is
read from the kernel's accounting of the proxy's processes (the parent and every worker) before
and after a run (psutil, which reads ``/proc``), so another process's load changes the wall
clock, not the proxy's CPU seconds. Rounds are interleaved by the caller and summarised by their
median here.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

import httpx
import psutil
from bedrockgate.local_stack.containers import podman_environment
from bedrockgate.local_stack.exceptions import LocalStackError
from bedrockgate.local_stack.steadyload import percentile

OVERHEAD_HEADER: Final = "x-litellm-overhead-duration-ms"
PROMPT: Final = "Say hello to the benchmark in one short sentence."
MAX_TOKENS: Final = 16


@dataclass(frozen=True)
class Sample:
    """One request: its HTTP status (0: no answer), its seconds at the client and LiteLLM's overhead header."""

    status: int
    seconds: float
    overhead_ms: float | None

    @property
    def ok(self) -> bool:
        """Answered with a completion."""
        return self.status == 200


def _loopback(url: str) -> str:
    if urlsplit(url).hostname != "127.0.0.1":
        raise LocalStackError(f"the benchmark sends traffic to 127.0.0.1 only, not {url}")
    return url.rstrip("/")


def container_pid(name: str) -> int:
    """The host pid of a podman container's first process (the image's init), whose tree is the proxy."""
    found = subprocess.run(  # noqa: S603 -- fixed argv
        ["podman", "inspect", "--format", "{{.State.Pid}}", name],  # noqa: S607 -- podman from PATH, as the stack runs it
        env=podman_environment(),  # the stack's own podman settings: another storage would not know the container
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    pid = found.stdout.strip()
    if found.returncode != 0 or not pid.isdigit() or int(pid) == 0:
        raise LocalStackError(f"podman has no running container {name}: {found.stderr.strip() or pid}")
    return int(pid)


def tree(pid: int) -> list[psutil.Process]:
    """The process and every descendant (LiteLLM's worker processes with ``NUM_WORKERS`` > 1)."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of the process tree rooted at ``pid`` (processes alive now)."""
    total = 0.0
    for process in tree(pid):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:  # a worker that ended between the listing and the read
            continue
        total += times.user + times.system
    return total


def rss_mib(pid: int) -> list[float]:
    """Resident memory of each process of the tree, in MiB (parent first)."""
    return [process.memory_info().rss / 2**20 for process in tree(pid)]


def _body(model: str) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": MAX_TOKENS}


def _overhead(response: httpx.Response) -> float | None:
    try:
        return float(response.headers[OVERHEAD_HEADER])
    except (KeyError, ValueError):  # absent on errors; "None" when LiteLLM measured nothing
        return None


def sequential(url: str, key: str, model: str, requests: int, *, timeout_s: float = 60.0) -> list[Sample]:
    """``requests`` chat completions one after another on one kept-alive connection."""
    base = _loopback(url)
    samples = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=timeout_s) as client:
        for _ in range(requests):
            started = time.perf_counter()
            try:
                response = client.post("/v1/chat/completions", json=_body(model))
            except httpx.HTTPError:
                samples.append(Sample(0, time.perf_counter() - started, None))
                continue
            samples.append(Sample(response.status_code, time.perf_counter() - started, _overhead(response)))
    return samples


def saturated(
    url: str, key: str, model: str, requests: int, *, concurrency: int, timeout_s: float = 120.0
) -> list[Sample]:
    """``requests`` chat completions from ``concurrency`` clients at once, each sending its next on an answer."""
    if not 1 <= concurrency <= 64:
        raise LocalStackError(f"concurrency must be in 1..64 (loopback, 2 shared cores), not {concurrency}")
    return asyncio.run(_saturated(_loopback(url), key, model, requests, concurrency=concurrency, timeout_s=timeout_s))


async def _saturated(
    base: str, key: str, model: str, requests: int, *, concurrency: int, timeout_s: float
) -> list[Sample]:
    remaining = iter(range(requests))
    samples: list[Sample] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=timeout_s, limits=limits) as client:

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/chat/completions", json=_body(model))
                except httpx.HTTPError:
                    samples.append(Sample(0, time.perf_counter() - started, None))
                    continue
                samples.append(Sample(response.status_code, time.perf_counter() - started, _overhead(response)))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


@dataclass(frozen=True)
class Measured:
    """One run's samples and the proxy's CPU seconds over it."""

    samples: tuple[Sample, ...]
    cpu_s: float
    wall_s: float

    @property
    def served(self) -> int:
        """Requests answered with a completion."""
        return sum(sample.ok for sample in self.samples)

    @property
    def errors(self) -> dict[str, int]:
        """Failed requests by HTTP status (``no answer``: the connection failed)."""
        return dict(Counter(str(s.status or "no answer") for s in self.samples if not s.ok))


def measure(pid: int, run: Callable[[], list[Sample]]) -> Measured:
    """Run the load and read the proxy tree's CPU time around it."""
    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    samples = run()
    wall, cpu_after = time.perf_counter() - started, cpu_seconds(pid)
    return Measured(tuple(samples), max(0.0, cpu_after - cpu_before), wall)


@dataclass(frozen=True)
class RoundFigures:
    """One variant in one round: the unsaturated figures and, when run, the saturated one."""

    overhead_p50_ms: float | None
    overhead_p95_ms: float | None
    overhead_p99_ms: float | None
    client_p50_ms: float | None
    cpu_ms_per_request: float | None
    requests_per_cpu_second: float | None = None
    errors: dict[str, int] = field(default_factory=dict)


def unsaturated_figures(run: Measured) -> RoundFigures:
    """Overhead percentiles over the answers that carry the header; CPU per answered request."""
    overheads = [s.overhead_ms for s in run.samples if s.ok and s.overhead_ms is not None]
    latencies = [s.seconds * 1000 for s in run.samples if s.ok]

    def pct(values: Sequence[float], q: float) -> float | None:
        return percentile(values, q) if values else None

    return RoundFigures(
        overhead_p50_ms=pct(overheads, 50),
        overhead_p95_ms=pct(overheads, 95),
        overhead_p99_ms=pct(overheads, 99),
        client_p50_ms=pct(latencies, 50),
        cpu_ms_per_request=run.cpu_s * 1000 / run.served if run.served else None,
        errors=run.errors,
    )


def requests_per_cpu_second(run: Measured) -> float | None:
    """Answered requests per CPU-second of the proxy (``None`` when it spent none: nothing measured)."""
    return run.served / run.cpu_s if run.cpu_s > 0 and run.served else None


@dataclass(frozen=True)
class VariantFigures:
    """A variant's figures: the median of each over the rounds (rounds where it was measured)."""

    name: str
    rounds: int
    overhead_p50_ms: float | None
    overhead_p95_ms: float | None
    overhead_p99_ms: float | None
    client_p50_ms: float | None
    cpu_ms_per_request: float | None
    requests_per_cpu_second: float | None
    errors: dict[str, int]


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarise(name: str, rounds: Sequence[RoundFigures]) -> VariantFigures:
    """Medians over rounds; errors summed (a round's error is never hidden by a median)."""
    errors: Counter[str] = Counter()
    for figures in rounds:
        errors.update(figures.errors)
    return VariantFigures(
        name=name,
        rounds=len(rounds),
        overhead_p50_ms=_median([r.overhead_p50_ms for r in rounds]),
        overhead_p95_ms=_median([r.overhead_p95_ms for r in rounds]),
        overhead_p99_ms=_median([r.overhead_p99_ms for r in rounds]),
        client_p50_ms=_median([r.client_p50_ms for r in rounds]),
        cpu_ms_per_request=_median([r.cpu_ms_per_request for r in rounds]),
        requests_per_cpu_second=_median([r.requests_per_cpu_second for r in rounds]),
        errors=dict(errors),
    )


def _cell(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(figures: Sequence[VariantFigures], *, reference: str = "bedrock") -> str:
    """The table: one line per variant, and each one's CPU share over ``reference`` (its feature's cost)."""
    by_name = {f.name: f for f in figures}
    base = by_name.get(reference)
    header = (
        f"{'variant':<28} {'ovh p50':>8} {'p95':>6} {'p99':>6} {'client p50':>10} "
        f"{'CPU ms/req':>10} {'share':>7} {'req/CPU-s':>9}  errors"
    )
    lines = [header, "-" * len(header)]
    for f in figures:
        share = None
        if base is not None and f is not base and f.cpu_ms_per_request is not None and base.cpu_ms_per_request:
            share = f.cpu_ms_per_request - base.cpu_ms_per_request
        lines.append(
            f"{f.name:<28} {_cell(f.overhead_p50_ms):>8} {_cell(f.overhead_p95_ms):>6} {_cell(f.overhead_p99_ms):>6} "
            f"{_cell(f.client_p50_ms):>10} {_cell(f.cpu_ms_per_request, 2):>10} "
            f"{('+' + _cell(share, 2)) if share is not None and share >= 0 else _cell(share, 2):>7} "
            f"{_cell(f.requests_per_cpu_second):>9}  {f.errors or 'none'}"
        )
    return "\n".join(lines)
