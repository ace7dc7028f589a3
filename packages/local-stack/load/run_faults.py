"""The full fault campaign (``./dev nox -s faults``): steady load through the real proxy, one fault at a time.

Starts the local stack (scripted backend at a fixed latency, Redis, Phoenix, the production config
with the campaign's two changes, printed below), sends chat completions to ``claude-primary`` at a
fixed rate, and runs each fault with before, during and after phases; prints a table per fault and
a summary of the promises. Bounded: loopback only, a fixed rate, a cap on requests in flight and
on the whole run's duration. Exit 1 if a promise is broken.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bedrockgate.local_stack.campaign import (
    CONFIG_CHANGES,
    FALLBACK,
    LIMITED_RPM,
    PRIMARY,
    Campaign,
    FaultResult,
    Timing,
    callback_loss_report,
    campaign_config,
    rpm_limit,
    running_load,
    stack_options,
)
from bedrockgate.local_stack.stack import LocalStack
from bedrockgate.local_stack.steadyload import LoadSettings

FAULTS = ("primary-down", "primary-slow", "all-slow", "redis", "metrics", "phoenix", "proxy-restart")


def main() -> int:
    """Parse the bounds, run the campaign, print the tables; exit 1 if a promise is broken."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=2.5, help="requests started per second (default 2.5)")
    parser.add_argument("--before", type=float, default=10.0, help="seconds before each fault")
    parser.add_argument("--during", type=float, default=15.0, help="seconds of each fault")
    parser.add_argument("--after", type=float, default=10.0, help="seconds after each fault")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, from {', '.join(FAULTS)}")
    parser.add_argument("--max-minutes", type=float, default=20.0, help="cap on the load's duration")
    parser.add_argument(
        "--warmup", type=float, default=15.0, help="seconds of load before the first fault (not counted)"
    )
    args = parser.parse_args()
    chosen = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = sorted(set(chosen) - set(FAULTS))
    if unknown:
        parser.error(f"unknown faults {unknown}; choose from {', '.join(FAULTS)}")
    if not 0 < args.rate <= 20:
        parser.error("--rate must be in (0, 20] (2 shared cores, loopback only)")

    timing = Timing(before_s=args.before, during_s=args.during, after_s=args.after)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fault-campaign-") as scratch:
        config = campaign_config(Path(scratch))
        for alias, seconds in ((PRIMARY, 60.0), (FALLBACK, args.during + 10)):
            limit = rpm_limit(config, alias)
            if args.rate * seconds >= limit:
                parser.error(f"--rate {args.rate}/s sends {args.rate * seconds:.0f} requests to {alias} in "
                             f"{seconds:.0f} s, over its rpm limit ({limit:.0f}/min in agents-gateway.yaml): the "
                             "router would refuse them (a limit, not the fault); lower --rate or --during")  # fmt: skip
        with LocalStack(stack_options(Path(scratch), config=config)) as stack:
            return _campaign(
                stack, chosen, args.rate, args.max_minutes, timing=timing, started=started, warmup=args.warmup
            )


def _campaign(stack: LocalStack, chosen: list[str], rate: float, max_minutes: float, *, timing: Timing,
              started: float, warmup: float) -> int:  # fmt: skip
    """Run the chosen faults under load on the running stack; print the tables and the promises."""
    if stack.info is None:
        return 1
    print(f"stack healthy in {stack.info.startup_s:.1f} s (ready: {stack.info.ready_s}); load: {rate}/s "
          "to claude-primary; production config with: " + "; ".join(CONFIG_CHANGES), flush=True)  # fmt: skip
    results: list[FaultResult] = []
    with running_load(stack, LoadSettings(rate=rate, max_seconds=max_minutes * 60, client_timeout_s=120)) as load:
        campaign = Campaign(stack, load, timing, log=lambda line: print(line, flush=True))
        time.sleep(warmup)  # the first requests of a fresh proxy are slow (imports, clients): not a fault's
        runs = {
            "primary-down": campaign.primary_down,
            "primary-slow": campaign.primary_slow,
            "all-slow": campaign.all_slow,
            "redis": campaign.redis_killed,
            "metrics": campaign.metrics_sink_full,
            "phoenix": campaign.phoenix_killed,
            "proxy-restart": campaign.proxy_restarted,
        }
        for name in FAULTS:
            if name in chosen:
                results.append(runs[name]())
            if name == "phoenix" and "metrics" in chosen:  # the callback warns at most once a minute
                report = callback_loss_report(stack.proxies[0].log_path) or "none"
                print(f"metrics callback's own loss count, later: {report}")
    print(f"\n=== fault campaign: {len(results)} faults in {time.monotonic() - started:.0f} s "
          f"(stack start included), {rate}/s ===")  # fmt: skip
    for result in results:
        print("\n" + result.table())
    return _verdict(results)


def _verdict(results: list[FaultResult]) -> int:
    """Print each promise with its verdict; 1 if any is broken."""
    broken = 0

    def promise(text: str, kept: bool) -> None:
        nonlocal broken
        broken += not kept
        print(f"{'kept  ' if kept else 'BROKEN'}  {text}")

    print("\n=== promises ===")
    for result in results:
        during, after = result.during, result.after
        errors = [o for o in (*during, *after) if not o.ok]
        if result.name in ("primary down", "primary slow"):
            promise(f"{result.name}: every request served, by claude-fallback",
                    all(o.ok and o.served_by == "claude-fallback-1" for o in during))  # fmt: skip
        elif result.name == "all models slow":
            promise("all models slow: every error a clean JSON error (no hang)", all(o.clean_error for o in errors))
        elif result.name == "redis killed":
            promise("redis killed: requests keep being served (during and after)", not errors)
            if "rpm served" in result.checks:
                checks = result.checks
                promise("redis back: the router's counters are in Redis again, the rpm limit holds (at most the limit, "
                        "+1 for counts in flight; the rest 429)",
                        checks["claude-limited rpm counters in redis"] > 0 and checks["rpm served"] <= LIMITED_RPM + 1
                        and checks["rpm served"] + checks["rpm refused"] == 2 * LIMITED_RPM)  # fmt: skip
        elif result.name == "phoenix killed":
            promise("phoenix killed: no failed request", not errors)
            if "spans after phoenix returned" in result.checks:
                promise("phoenix back: traces resume", result.checks["spans after phoenix returned"] > 0)
        elif result.name == "metrics sink full":
            promise("metrics sink full: no failed request", not errors)
            promise("metrics sink full: records written again after", result.checks["written after"] > 0)
        elif result.name == "proxy restarted":
            promise("proxy restarted: every error a clean error or a refused connection (no hang)",
                    all(o.clean_error or o.kind == "refused" for o in errors))  # fmt: skip
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
