"""The gateway benchmark (``./dev nox -s bench_gateway``): what LiteLLM costs per request, and what each feature adds.

One local stack (scripted emulator at a fixed latency, Redis, Phoenix), then one proxy per
variant (``bedrockgate.local_stack.bench_variants``: LiteLLM's own baseline, ``bedrock``, one
feature at a time, production without and with its guardrails, production with two workers), all
running side by side so that rounds interleave: each round measures every variant once, in an
order rotated per round, and each figure is the median over rounds. The proxies are pinned to
CPU 0 (two workers: CPUs 0 and 1); this process (the load), the emulator, Redis and Phoenix run on
CPU 1. The proxies come from the gateway image when it is built (``--gateway image``, the default
when ``localhost/bedrockgate-gateway:latest-<arch>`` exists), else from the workspace's venv.

Every proxy gets the environment infra gives the gateway task (``PRODUCTION_ENVIRONMENT``), so the
figures are the deployed gateway's. Figures, not a test: bounded (loopback, a fixed number of
requests) and not part of ``./dev test``; ``tests/test_bench.py`` runs a small one and asserts it
measures.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import yaml
from bedrockgate.gateway_config import example_path
from bedrockgate.local_stack.bench import (
    Measured,
    RoundFigures,
    VariantFigures,
    container_pid,
    measure,
    render,
    requests_per_cpu_second,
    rss_mib,
    saturated,
    sequential,
    summarise,
    unsaturated_figures,
)
from bedrockgate.local_stack.bench_variants import (
    FEATURES,
    TUNING_REFERENCE,
    Variant,
    run_config,
    tuning_variants,
    variants,
    with_workers,
)
from bedrockgate.local_stack.campaign import stack_options
from bedrockgate.local_stack.containers import default_image, podman_environment
from bedrockgate.local_stack.processes import ManagedProcess
from bedrockgate.local_stack.settings import SCRIPTED_RULES, EmulatorSettings
from bedrockgate.local_stack.stack import LocalStack

PRODUCTION_ENVIRONMENT: Final = {"LITELLM_MODE": "PRODUCTION", "LITELLM_LOG": "ERROR"}
"""What infra's gateway task sets that changes the proxy's work per request (packages/infra derivation.py)."""
PROXY_CPUS: Final = "0"
LOAD_CPU: Final = 1
TWO_WORKER_CPUS: Final = "0,1"
Proxies = dict[str, tuple[Variant, ManagedProcess, int]]
"""Each variant's proxy: its variant, its process and the pid whose process tree is the proxy's CPU."""
GOALS: Final = {"overhead_p50_ms": 5.0, "overhead_p99_ms": 15.0, "cpu_vs_baseline": 1.5, "worker_efficiency": 0.9}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=500, help="sequential requests per variant and round")
    parser.add_argument("--saturated-requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16, help="clients of the saturated run")
    parser.add_argument("--warmup", type=int, default=40, help="requests per proxy before the first round")
    parser.add_argument("--backend-latency-ms", type=int, default=20)
    parser.add_argument("--model", default="claude-fast")
    parser.add_argument("--features", default=",".join(FEATURES), help=f"comma list of {', '.join(FEATURES)}")
    parser.add_argument("--no-workers", action="store_true", help="skip the two-worker production proxy")
    parser.add_argument("--tuning", action="store_true", help="also the tuning experiments (bench_variants.py)")
    parser.add_argument("--gateway", default="auto", help="auto (the image when built), venv, image or image=REF")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 20 or not 1 <= args.requests <= 5000 or not 0 <= args.saturated_requests <= 5000:
        parser.error("--rounds 1..20, --requests 1..5000, --saturated-requests 0..5000 (loopback, bounded)")
    return args


def _gateway_image(choice: str) -> str | None:
    if choice == "venv":
        return None
    if choice.startswith("image="):
        return choice.removeprefix("image=")
    reference = default_image()
    present = subprocess.run(  # noqa: S603 -- fixed argv
        ["podman", "image", "exists", reference], env=podman_environment(), capture_output=True, check=False,  # noqa: S607
        timeout=60,
    ).returncode == 0  # fmt: skip
    if choice == "image" or present:
        return reference
    print(f"no {reference}: the proxies run from the workspace's venv (build it with `./dev nox -s gateway_image`)")
    return None


def _cpu_root(proxy: ManagedProcess) -> int:
    if proxy.container is not None:
        return container_pid(proxy.container)
    assert proxy.pid is not None  # noqa: S101 -- started
    return proxy.pid


def _round(proxies: Proxies, order: Sequence[str], key: str, args: argparse.Namespace) -> dict[str, RoundFigures]:
    figures = {}
    for name in order:
        variant, proxy, pid = proxies[name]
        url, model = proxy.url or "", variant.model
        unsaturated: Measured = measure(pid, functools.partial(sequential, url, key, model, args.requests))
        per_cpu = None
        if args.saturated_requests:
            load = functools.partial(saturated, url, key, model, args.saturated_requests, concurrency=args.concurrency)
            per_cpu = requests_per_cpu_second(measure(pid, load))
        figures[name] = dataclasses.replace(unsaturated_figures(unsaturated), requests_per_cpu_second=per_cpu)
        f = figures[name]
        print(f"  {name:<28} overhead p50 {f.overhead_p50_ms or 0:6.2f} ms  CPU {f.cpu_ms_per_request or 0:6.2f} "
              f"ms/req  {per_cpu or 0:6.1f} req/CPU-s  errors {f.errors or 'none'}")  # fmt: skip
    return figures


def _goals(by_name: dict[str, VariantFigures]) -> list[str]:
    """Each goal of issue 18 with its figure; a goal whose variants did not run is said so."""
    lines = []
    bare, whole = by_name.get("production-no-guardrails"), by_name.get("production")
    if bare is not None and bare.overhead_p50_ms is not None and bare.overhead_p99_ms is not None:
        p50, p99 = bare.overhead_p50_ms, bare.overhead_p99_ms
        met = p50 <= GOALS["overhead_p50_ms"] and p99 <= GOALS["overhead_p99_ms"]
        lines.append(
            f"production overhead (guardrails excluded): p50 {p50:.2f} ms, p99 {p99:.2f} ms "
            f"(goal <= 5 / <= 15): {'met' if met else 'MISSED'}"
        )
    if bare is not None and whole is not None:
        client = (whole.client_p50_ms or 0) - (bare.client_p50_ms or 0)
        header = (whole.overhead_p50_ms or 0) - (bare.overhead_p50_ms or 0)
        cpu = (whole.cpu_ms_per_request or 0) - (bare.cpu_ms_per_request or 0)
        lines.append(
            "the guardrail round trips (production minus production-no-guardrails): "
            f"client p50 {client:+.2f} ms, overhead header p50 {header:+.2f} ms, CPU {cpu:+.2f} ms/req"
        )
    for base in (by_name.get("litellm-endpoint"), by_name.get("litellm-mock")):
        if whole is not None and base is not None and whole.cpu_ms_per_request and base.cpu_ms_per_request:
            ratio = whole.cpu_ms_per_request / base.cpu_ms_per_request
            lines.append(f"production CPU per request: {ratio:.2f} x LiteLLM's baseline {base.name} (goal <= 1.5): "
                         f"{'met' if ratio <= GOALS['cpu_vs_baseline'] else 'MISSED'}")  # fmt: skip
    two = by_name.get("production-2w")
    if whole is not None and two is not None and whole.requests_per_cpu_second and two.requests_per_cpu_second:
        efficiency = two.requests_per_cpu_second / whole.requests_per_cpu_second
        lines.append(f"per-worker efficiency 1 -> 2 workers (req/CPU-s ratio): {efficiency:.2f} (goal >= 0.9): "
                     f"{'met' if efficiency >= GOALS['worker_efficiency'] else 'MISSED'}")  # fmt: skip
    return lines


def _chosen(args: argparse.Namespace, production: dict[str, object]) -> list[Variant]:
    chosen = variants(production, args.model, features=tuple(f for f in args.features.split(",") if f))
    if not args.no_workers:
        chosen.append(with_workers(chosen[-1], 2))
    if args.tuning:
        chosen += tuning_variants(production, args.model)
    return chosen


def _start(stack: LocalStack, chosen: list[Variant], scratch: Path, timeout_s: float) -> Proxies:
    """Every variant's proxy at once (their imports overlap), pinned, then awaited healthy."""
    proxies = {}
    for variant in chosen:
        cpus = TWO_WORKER_CPUS if variant.workers > 1 else PROXY_CPUS
        proxy = stack.start_proxy(run_config=run_config(stack, variant, scratch), cpus=cpus, wait=False)
        proxies[variant.name] = (variant, proxy)
    deadline = time.monotonic() + timeout_s
    for _variant, proxy in proxies.values():
        proxy.wait_healthy(deadline)
    return {name: (v, p, _cpu_root(p)) for name, (v, p) in proxies.items()}


def _warm(proxies: Proxies, key: str, requests: int) -> bool:
    """Each proxy's first requests (imports, caches, connections), checked: a failing variant stops the run."""
    for name, (variant, proxy, _pid) in proxies.items():
        failed = [s.status for s in sequential(proxy.url or "", key, variant.model, requests) if not s.ok]
        if failed:
            print(f"{name}: {len(failed)} of {requests} warm-up requests failed ({failed[:5]}); "
                  f"see {proxy.log_path}", file=sys.stderr)  # fmt: skip
            return False
    return True


def _report(args: argparse.Namespace, chosen: list[Variant], summary: list[VariantFigures],
            memory: dict[str, list[float]]) -> None:  # fmt: skip
    print(
        f"\n=== gateway benchmark: medians over {args.rounds} interleaved rounds; {args.requests} sequential "
        f"requests, then {args.saturated_requests} from {args.concurrency} clients, per variant and round ==="
    )
    print(render(summary))
    print("\nshare: CPU ms per request over 'bedrock' (the feature's own cost); req/CPU-s: saturated run")
    for variant in chosen:
        print(f"  {variant.name:<28} {variant.description}")
    for name, sizes in memory.items():
        print(f"RSS {name}: " + " + ".join(f"{size:.0f}" for size in sizes) + " MiB (parent first)")
    by_name = {f.name: f for f in summary}
    print("\n" + "\n".join(_goals(by_name)))
    reference = by_name.get(TUNING_REFERENCE)
    for tuned in (f for f in summary if f.name.startswith("tune-")):
        if reference is not None and reference.cpu_ms_per_request and tuned.cpu_ms_per_request:
            change = tuned.cpu_ms_per_request / reference.cpu_ms_per_request - 1
            print(f"tuning {tuned.name}: CPU per request {change:+.1%} against {TUNING_REFERENCE}")
    if args.json is not None:
        record = {"figures": [dataclasses.asdict(f) for f in summary], "rss_mib": memory, "arguments": vars(args)}
        args.json.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")


def main() -> int:
    """Start the stack and the proxies, run the rounds, print the table and the goals."""
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # a TextIOWrapper here
    args = _arguments()
    if len(os.sched_getaffinity(0)) < 2:
        print("the benchmark needs 2 CPUs: one for the proxy, one for the load", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {LOAD_CPU})  # the load, and every child started below unless pinned elsewhere
    image = _gateway_image(args.gateway)
    production_path = example_path("agents-gateway")
    chosen = _chosen(args, yaml.safe_load(production_path.read_text(encoding="utf-8")))
    emulator = EmulatorSettings(rules=SCRIPTED_RULES, scripted_latency_ms=args.backend_latency_ms)
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as scratch_name:
        scratch = Path(scratch_name)
        options = stack_options(scratch, config=production_path, emulator_settings=emulator, gateway_image=image,
                                proxy_env=PRODUCTION_ENVIRONMENT, startup_timeout_s=900)  # fmt: skip
        with LocalStack(options) as stack:
            assert stack.info is not None  # noqa: S101 -- start() succeeded
            started = time.monotonic()
            proxies = _start(stack, chosen, scratch, options.startup_timeout_s)
            print(f"{len(proxies)} proxies healthy in {time.monotonic() - started:.0f} s "
                  f"({'image ' + image if image else 'workspace venv'}); proxies on CPU {PROXY_CPUS} "
                  f"(two workers: {TWO_WORKER_CPUS}), load, emulator, Redis and Phoenix on CPU {LOAD_CPU}; "
                  f"backend latency {args.backend_latency_ms} ms")  # fmt: skip
            if not _warm(proxies, stack.info.master_key, args.warmup):
                return 1
            names = list(proxies)
            rounds: dict[str, list[RoundFigures]] = {name: [] for name in names}
            for number in range(args.rounds):
                print(f"round {number + 1} of {args.rounds}")
                order = names[number % len(names) :] + names[: number % len(names)]
                for name, figures in _round(proxies, order, stack.info.master_key, args).items():
                    rounds[name].append(figures)
            memory = {name: rss_mib(pid) for name, (_v, _p, pid) in proxies.items() if name.startswith("production")}
    _report(args, chosen, [summarise(name, rounds[name]) for name in names], memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
