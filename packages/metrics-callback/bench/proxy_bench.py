"""How much the metrics callback costs a real LiteLLM proxy: run by ``./dev nox -s bench_metrics``.

Three proxies run side by side on loopback with the same mock deployment: one with the metrics
callback (``litellm_settings.callbacks: bedrockgate.metrics_callback.metrics_logger``), one with
no callback, and one with a callback that does nothing. The last one separates LiteLLM's own
logging work (which any callback switches on: building the logging payload, its worker queue)
from this callback's. Each proxy writes stdout to a file, as a container's log driver takes it.

The same load (by default 2,000 chat completions per proxy at concurrency 16) is sent in short
rounds, one proxy at a time, rotating the order every round, so that the machine's drift (other
work on it) falls on all three alike. Ratios are taken within each round, between runs seconds
apart, and the median over rounds is reported.

It prints per proxy requests/s (median round) and p50/p99 latency over all rounds; the throughput
ratios and the p50 difference; that the callback wrote exactly one record per request; and the
callback's own cost per event, measured in-process on a payload from a real LiteLLM call: time on
the event loop, and CPU including the writer thread.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

CONFIG = textwrap.dedent(
    """\
    model_list:
      - model_name: claude-fast
        litellm_params:
          model: openai/gpt-4o-mini
          api_key: os.environ/MOCK_PROVIDER_KEY
          mock_response: "Hello from the mock deployment."
    general_settings:
      master_key: os.environ/LITELLM_MASTER_KEY
    """
)
CALLBACKS = {
    "without-callback": "",
    "noop-callback": "litellm_settings:\n  callbacks: noop_callback.noop_logger\n",
    "with-callback": "litellm_settings:\n  callbacks: bedrockgate.metrics_callback.metrics_logger\n",
}
# LiteLLM loads a dotted callback module from next to the config file first.
NOOP_CALLBACK = textwrap.dedent(
    """\
    from litellm.integrations.custom_logger import CustomLogger


    class NoopLogger(CustomLogger):
        async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
            pass

        async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
            pass


    noop_logger = NoopLogger()
    """
)
BODY = {"model": "claude-fast", "messages": [{"role": "user", "content": "Say hello in five words."}]}


@dataclass
class Proxy:
    """One running proxy and what the load measured on it."""

    name: str
    url: str
    key: str
    stdout: Path
    process: subprocess.Popen[bytes]
    sent: int = 0
    throughput: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def records(self) -> int:
        """The EMF records the proxy has written to stdout."""
        with self.stdout.open("rb") as out:
            return sum(1 for line in out if line.startswith(b'{"_aws"'))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_proxy(name: str, workdir: Path) -> Proxy:
    """Start ``litellm --config`` on a free loopback port, stdout to a file."""
    directory = workdir / name
    directory.mkdir()
    (directory / "config.yaml").write_text(CONFIG + CALLBACKS[name], encoding="utf-8")
    (directory / "noop_callback.py").write_text(NOOP_CALLBACK, encoding="utf-8")
    port = _free_port()
    key = "sk-" + secrets.token_hex(24)
    env = {
        **os.environ,
        "LITELLM_MASTER_KEY": key,
        "MOCK_PROVIDER_KEY": "sk-mock",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
    }
    env.pop("DATABASE_URL", None)
    stdout = directory / "stdout.log"
    with stdout.open("wb") as out, (directory / "stderr.log").open("wb") as err:
        process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [str(Path(sys.executable).with_name("litellm")), "--config", "config.yaml", "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=directory, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    return Proxy(name, f"http://127.0.0.1:{port}", key, stdout, process)


def wait_until_live(proxy: Proxy, timeout: float = 240) -> None:
    """Poll ``/health/liveliness`` until the proxy answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            raise SystemExit(f"proxy {proxy.name} exited with {proxy.process.returncode}; see {proxy.stdout.parent}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{proxy.url}/health/liveliness", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise SystemExit(f"proxy {proxy.name} did not come up in {timeout:.0f} s")


async def load(proxy: Proxy, requests: int, concurrency: int) -> tuple[float, list[float]]:
    """Send ``requests`` completions, ``concurrency`` at a time; requests/s and each latency (ms)."""
    latencies: list[float] = []
    remaining = iter(range(requests))
    headers = {"Authorization": f"Bearer {proxy.key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=proxy.url, headers=headers, limits=limits, timeout=60) as client:

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                response = await client.post("/v1/chat/completions", json=BODY)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{proxy.name}: HTTP {response.status_code}: {response.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    proxy.sent += requests
    return requests / elapsed, latencies


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` from 0 to 1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def callback_cost(events: int = 20_000) -> tuple[float, float]:
    """The callback's own cost per event, in µs: on the event loop, and CPU including its writer thread."""
    # LiteLLM's own pydantic warnings about its ReadOnly TypedDicts are not this benchmark's business.
    warnings.filterwarnings(
        "ignore", message=r"Items? .* (is|are) using the `ReadOnly` qualifier", category=UserWarning
    )
    import litellm  # noqa: PLC0415 - heavy, and only needed here
    from bedrockgate.metrics_callback import MetricsSettings  # noqa: PLC0415
    from bedrockgate.metrics_callback.logger import MetricsLogger  # noqa: PLC0415
    from litellm.integrations.custom_logger import CustomLogger  # noqa: PLC0415

    captured: list[dict[str, Any]] = []

    class Recorder(CustomLogger):
        async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            captured.append(kwargs)

    async def one_call() -> None:
        litellm.callbacks = [Recorder()]
        await litellm.acompletion(
            model="openai/gpt-4o-mini",
            messages=BODY["messages"],
            mock_response="Hello!",
            metadata={"user_api_key_alias": "agent-a"},
        )
        for _ in range(500):
            if captured:
                return
            await asyncio.sleep(0.01)

    asyncio.run(one_call())
    payload = captured[0]["standard_logging_object"]
    kwargs_list = []
    for _ in range(events):  # distinct events: the callback records a repeated one only once
        event = copy.copy(payload)
        event["litellm_call_id"] = str(uuid.uuid4())
        kwargs_list.append({"standard_logging_object": event})
    with open(os.devnull, "w") as devnull:
        logger = MetricsLogger(MetricsSettings(queue_size=events), stream=lambda: devnull)

        async def handle_all() -> float:
            loop_time = 0.0
            for kwargs in kwargs_list:
                started = time.perf_counter()
                await logger.async_log_success_event(kwargs=kwargs, response_obj=None, start_time=None, end_time=None)
                loop_time += time.perf_counter() - started
            return loop_time

        cpu_started = time.process_time()
        loop_time = asyncio.run(handle_all())
        logger.flush(timeout=60)
        cpu = time.process_time() - cpu_started
        stats = logger.stats()
        logger.close()
    if stats.sink is None or stats.sink.written != events:
        raise SystemExit(f"the callback did not write every event: {stats}")
    return loop_time / events * 1e6, cpu / events * 1e6


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per proxy (default 2000)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds to split them into (default 10)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests per proxy first (default 200)")
    args = parser.parse_args()
    per_round = max(1, args.requests // args.rounds)
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        proxies = [start_proxy(name, Path(tmp)) for name in CALLBACKS]
        without, noop, with_cb = proxies
        try:
            for proxy in proxies:
                wait_until_live(proxy)
            print(
                f"proxies up; per proxy {args.rounds} rounds x {per_round} requests at concurrency {args.concurrency}"
            )
            for proxy in proxies:
                asyncio.run(load(proxy, args.warmup, args.concurrency))
            for round_ in range(args.rounds):
                shift = round_ % len(proxies)
                for proxy in proxies[shift:] + proxies[:shift]:
                    rate, latencies = asyncio.run(load(proxy, per_round, args.concurrency))
                    proxy.throughput.append(rate)
                    proxy.latencies.extend(latencies)
                    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
                    print(
                        f"  round {round_ + 1:2} {proxy.name:17} {rate:7.1f} req/s"
                        f"  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
                    )
            time.sleep(1.0)  # the last records leave the writer thread within its 50 ms linger
            records = with_cb.records()
        finally:
            for proxy in proxies:
                proxy.process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proxy.process.wait(timeout=20)

    print()
    print(
        f"machine load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after,"
        f" on {os.cpu_count()} CPUs"
    )
    print(f"{'':18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for proxy in proxies:
        print(
            f"{proxy.name:18} {statistics.median(proxy.throughput):8.1f} {percentile(proxy.latencies, 0.5):8.2f}"
            f" {percentile(proxy.latencies, 0.99):8.2f}"
        )
    for baseline in (without, noop):
        ratio = statistics.median(a / b for a, b in zip(with_cb.throughput, baseline.throughput, strict=True))
        p50_delta = percentile(with_cb.latencies, 0.5) - percentile(baseline.latencies, 0.5)
        p99_delta = percentile(with_cb.latencies, 0.99) - percentile(baseline.latencies, 0.99)
        print(
            f"with-callback vs {baseline.name}: throughput ratio {ratio:.3f}"
            " (median of per-round ratios; goal >= 0.98),"
            f" p50 {p50_delta:+.2f} ms (goal < 1 ms), p99 {p99_delta:+.2f} ms"
        )
    print(f"records written by the callback: {records} for {with_cb.sent} requests")
    loop_us, cpu_us = callback_cost()
    print(
        f"callback cost per event: {loop_us:.1f} us on the event loop, {cpu_us:.1f} us CPU including the writer thread"
    )
    share = cpu_us * 1e-6 * statistics.median(with_cb.throughput)
    print(f"at the measured throughput that is {share:.2%} of one CPU core")
    # A single-worker proxy is bound by one core: work added per request can lower its throughput
    # by at most that work's share, whatever the noise in the end-to-end figures above.
    print(f"so its own work bounds the throughput ratio at >= {1 / (1 + share):.4f}")


if __name__ == "__main__":
    main()
