"""The soak (``./dev nox -s soak [-- --minutes N]``): steady load for N minutes (default 10), memory watched.

The stack is the local one with the production config unchanged (``agents-gateway.yaml``: the
metrics callback and ``arize_phoenix`` on, Redis, both guardrails), the scripted backend at a
fixed latency, and chat completions to ``claude-fast`` (rpm limit 1000) at a fixed rate under its
limit. Every ``--sample-s`` seconds it reads the proxy's resident memory (``VmRSS`` in ``/proc/<pid>/status``) and the
requests answered so far; it prints the least-squares slope of RSS against requests (MB per 10,000
requests), the RSS at start and end, and the proxy's open file descriptors (``/proc/<pid>/fd``) at
start and end. Figures, not a test: bounded (loopback, a fixed rate) and not part of ``./dev test``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bedrockgate.gateway_config import example_path
from bedrockgate.local_stack.campaign import rpm_limit, running_load, stack_options
from bedrockgate.local_stack.stack import LocalStack
from bedrockgate.local_stack.steadyload import LoadSettings, least_squares_slope, percentile, summarise


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (``VmRSS``, kB in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS line")


def open_fds(pid: int) -> int:
    """Open file descriptors of ``pid``."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> int:
    """Run the soak and print its figures (line by line: a soak is long)."""
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # a TextIOWrapper here
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=8.0, help="requests started per second (default 8)")
    parser.add_argument("--model", default="claude-fast", help="the alias to call (default claude-fast: rpm 1000)")
    parser.add_argument("--sample-s", type=float, default=10.0)
    parser.add_argument("--warmup-s", type=float, default=20.0, help="load before the first sample (imports, caches)")
    args = parser.parse_args()
    if not 0 < args.minutes <= 120:
        parser.error("--minutes must be in (0, 120]")
    if not 0 < args.rate <= 30:
        parser.error("--rate must be in (0, 30] (2 shared cores, loopback only)")

    config = example_path("agents-gateway")
    limit = rpm_limit(config, args.model)
    if args.rate * 60 >= limit:
        parser.error(f"--rate {args.rate}/s is over {args.model}'s rpm limit ({limit:.0f}/min): "
                     "the router would refuse the excess; lower --rate or pick another --model")  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="soak-") as scratch,
        LocalStack(stack_options(Path(scratch), config=config)) as stack,
    ):
        if stack.info is None:
            return 1
        pid = stack.info.pids["proxy"]
        print(f"stack healthy in {stack.info.startup_s:.1f} s; soak: {args.minutes} min at {args.rate}/s to "
              f"{args.model}, production config (metrics and arize_phoenix callbacks), proxy pid {pid}")  # fmt: skip
        settings = LoadSettings(
            rate=args.rate, model=args.model, max_seconds=args.warmup_s + args.minutes * 60 + 60, client_timeout_s=60
        )
        with running_load(stack, settings) as load:
            time.sleep(args.warmup_s)
            began = time.monotonic()
            fds_start = open_fds(pid)
            samples: list[tuple[float, int, float]] = []
            while True:
                answered = len(load.outcomes())
                samples.append((time.monotonic() - began, answered, rss_mb(pid)))
                elapsed, _, resident = samples[-1]
                print(
                    f"  t={elapsed:6.0f} s  requests {answered:6d}  rss {resident:7.1f} MB  fds {open_fds(pid)}",
                    flush=True,
                )
                if elapsed >= args.minutes * 60:
                    break
                time.sleep(min(args.sample_s, max(0.1, args.minutes * 60 - elapsed)))
            fds_end = open_fds(pid)
        outcomes = load.outcomes()
    requests = [s[1] for s in samples]
    rss = [s[2] for s in samples]
    slope = least_squares_slope(requests, rss) * 10_000
    soaked = [o for o in outcomes if o.started >= began]
    figures = summarise("soak", soaked, samples[-1][0])
    latencies = [o.seconds * 1000 for o in soaked if o.ok]
    print(f"\n=== soak: {samples[-1][0] / 60:.1f} min, {figures.requests} requests "
          f"({figures.requests / samples[-1][0]:.1f}/s), served {figures.served_pct or 0:.2f} %, "
          f"errors {figures.errors or 'none'} ===")  # fmt: skip
    if latencies:
        print(f"latency ms       p50 {percentile(latencies, 50):.0f}  p99 {percentile(latencies, 99):.0f}")
    print(f"proxy RSS        {rss[0]:.1f} MB at start, {rss[-1]:.1f} MB at end, {len(samples)} samples")
    print(f"RSS slope        {slope:+.2f} MB per 10,000 requests (least squares over the samples)")
    print(f"open fds         {fds_start} at start, {fds_end} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
