"""Start the local stack (scripted backend, fixed latency), run Locust headless against it, print figures.

Bounded: loopback only, a fixed number of users and a fixed duration. Figures are printed, not
asserted: this machine is shared and small.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bedrockgate.gateway_config import example_path
from bedrockgate.local_stack.processes import free_port
from bedrockgate.local_stack.settings import SCRIPTED_RULES, EmulatorSettings
from bedrockgate.local_stack.stack import LocalStack, StackOptions

HERE = Path(__file__).parent


def main() -> int:
    """Parse the bounds, run the load, print the figures; exit 1 if any request failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", default="30s")
    parser.add_argument("--backend-latency-ms", type=int, default=50)
    parser.add_argument("--config", type=Path, default=example_path("agents-gateway"))
    args = parser.parse_args()
    if args.users > 200:
        parser.error("--users is capped at 200 (2-core machines, loopback only)")

    with tempfile.TemporaryDirectory() as scratch:
        options = StackOptions(
            config=args.config, port=free_port(), backend="scripted", phoenix=False,
            emulator_settings=EmulatorSettings(rules=SCRIPTED_RULES, scripted_latency_ms=args.backend_latency_ms),
            state_dir=Path(scratch) / "state", master_key="sk-load-test", startup_timeout_s=300,
        )  # fmt: skip
        with LocalStack(options) as stack:
            if stack.info is None:
                return 1
            print(f"stack healthy in {stack.info.startup_s:.1f} s; load: {args.users} users for {args.duration}, "
                  f"scripted backend at {args.backend_latency_ms} ms")  # fmt: skip
            prefix = Path(scratch) / "locust"
            subprocess.run(  # noqa: S603 -- fixed argv
                [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless",
                 "-u", str(args.users), "-r", str(args.spawn_rate), "-t", args.duration,
                 "--host", stack.info.proxy_url, "--csv", str(prefix), "--only-summary", "--stop-timeout", "10"],
                env={**os.environ, "LITELLM_MASTER_KEY": "sk-load-test"}, check=False,
            )  # fmt: skip
            return _report(Path(f"{prefix}_stats.csv"))


def _report(stats_csv: Path) -> int:
    rows = {row["Name"]: row for row in csv.DictReader(stats_csv.open(encoding="utf-8"))}
    chat, overhead = rows.get("chat"), rows.get("litellm overhead")
    if chat is None:
        print("no chat requests were recorded", file=sys.stderr)
        return 1
    print("\n--- load figures ---")
    print(f"requests        {chat['Request Count']}  failures {chat['Failure Count']}")
    print(f"throughput      {float(chat['Requests/s']):.1f} req/s")
    print(f"latency ms      p50 {chat['50%']}  p95 {chat['95%']}  p99 {chat['99%']}  max {chat['Max Response Time']}")
    if overhead is not None:
        print(f"litellm overhead ms  p50 {overhead['50%']}  p95 {overhead['95%']}  p99 {overhead['99%']}")
    return 0 if chat["Failure Count"] == "0" else 1


if __name__ == "__main__":
    sys.exit(main())
