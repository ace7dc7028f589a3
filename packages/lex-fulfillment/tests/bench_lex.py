"""Benchmark figures for the Lex handler (printed, never asserted): run ``./dev nox -s bench_lex``.

1. Import time, the handler's share of a cold start: the zip is built and extracted, and fresh
   interpreters (``python -I -S -B``: no site-packages, no bytecode cache, as in ``/var/task``)
   import the handler. The Lambda Python runtime has already imported ``importlib``, ``json``,
   ``logging``, ``os``, ``sys``, ``time`` and ``traceback`` when it imports a handler
   (awslambdaric ``bootstrap.py``), so those are loaded first; the figure with nothing loaded
   and the figure with ``--bytecode`` are printed too.
2. The Lambda zip's size, with and without ``--bytecode``.
3. Per-invocation overhead without the gateway: a realistic event with three remembered turns,
   answered by an in-process transport that returns a canned completion at once; what remains
   is this package's work (reading the event and the memory, building and parsing JSON,
   splitting, logging, building the response).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bedrockgate.lex_fulfillment import Fulfiller, JsonLog, Settings, bundle
from bedrockgate.lex_fulfillment.transport import RawResponse

IMPORT_RUNS = 21
TURNS = 5000
LAMBDA_PRELOADED = "import importlib, json, logging, os, sys, time, traceback"
MEASURE = """
import sys
{preload}
sys.path.insert(0, sys.argv[1])
from time import perf_counter
start = perf_counter()
import bedrockgate.lex_fulfillment
print((perf_counter() - start) * 1000)
"""

REPLY = (
    "Amazon Bedrock is a fully managed service that offers a choice of foundation models through one API, "
    "with the capabilities you need to build generative AI applications with security and privacy. "
) * 3
CANNED = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "claude-fast",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 90, "total_tokens": 210},
    }
).encode()
MEMORY = json.dumps(
    {"v": 1, "turns": [[f"Earlier question number {n}?", f"Earlier answer number {n}. " * 8] for n in range(3)]},
    separators=(",", ":"),
)
EVENT = {
    "messageVersion": "1.0",
    "invocationSource": "FulfillmentCodeHook",
    "inputMode": "Text",
    "responseContentType": "text/plain; charset=utf-8",
    "sessionId": "bench-session-0001",
    "inputTranscript": "And how does it compare with running the models myself?",
    "bot": {
        "id": "ABCDEFGHIJ",
        "name": "GatewayAssistant",
        "localeId": "en_US",
        "version": "1",
        "aliasId": "X",
        "aliasName": "live",
    },
    "interpretations": [
        {
            "intent": {"name": "FallbackIntent", "slots": {}, "state": "ReadyForFulfillment"},
            "interpretationSource": "Lex",
        }
    ],
    "requestAttributes": None,
    "sessionState": {
        "sessionAttributes": {"customerId": "42", "bedrockgate_history": MEMORY},
        "intent": {"name": "FallbackIntent", "slots": {}, "state": "ReadyForFulfillment", "confirmationState": "None"},
        "originatingRequestId": "a3b2b2a2-4603-4687-9f92-ef2c986dac77",
    },
}


class Context:
    aws_request_id = "bench-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


def import_times(directory: Path, preload: str) -> list[float]:
    code = MEASURE.format(preload=preload)
    runs = []
    for _ in range(IMPORT_RUNS):
        completed = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", code, str(directory)], capture_output=True, text=True, check=True
        )
        runs.append(float(completed.stdout.strip()))
    return runs


def per_invocation_overhead() -> list[float]:
    def transport(*args: object) -> RawResponse:
        return RawResponse(200, {"content-type": "application/json"}, CANNED)

    lines: list[str] = []
    settings = Settings(endpoint="https://gateway.example.com", model="claude-fast", api_key="sk-bench-key-0000")
    handler = Fulfiller(settings, transport=transport, log=JsonLog(lines.append))
    context = Context()
    for _ in range(200):  # warm up: first-use imports, caches
        handler(EVENT, context)
    timings = []
    for _ in range(TURNS):
        start = time.perf_counter_ns()
        handler(EVENT, context)
        timings.append((time.perf_counter_ns() - start) / 1e6)
        lines.clear()
    return timings


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-lex-") as scratch:
        root = Path(scratch)
        plain = bundle.build_zip(root / "plain")
        with_bytecode = bundle.build_zip(root / "bytecode", bytecode=True)
        for path, name in ((plain, "plain"), (with_bytecode, "bytecode")):
            zipfile.ZipFile(path).extractall(root / f"{name}-task")
        lambda_like = import_times(root / "plain-task", LAMBDA_PRELOADED)
        bare = import_times(root / "plain-task", "")
        bytecode = import_times(root / "bytecode-task", LAMBDA_PRELOADED)
        plain_size, bytecode_size = plain.stat().st_size, with_bytecode.stat().st_size
    overhead = per_invocation_overhead()
    p99 = statistics.quantiles(overhead, n=100)[98]

    print(f"lex-fulfillment benchmark: Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    print(
        f"  import time (cold-start share): {statistics.median(lambda_like):.1f} ms "
        f"(median of {IMPORT_RUNS} fresh interpreters, sources compiled as from the zip)  [goal < 30 ms]"
    )
    print(
        f"      with nothing preloaded: {statistics.median(bare):.1f} ms; "
        f"with --bytecode for Python {sys.version_info[0]}.{sys.version_info[1]}: {statistics.median(bytecode):.1f} ms"
    )
    print(f"  Lambda zip size: {plain_size:,} bytes ({plain_size / 1024:.1f} KiB)  [goal < 50 KB]")
    print(f"      with --bytecode: {bytecode_size:,} bytes ({bytecode_size / 1024:.1f} KiB)")
    print(
        f"  per-invocation overhead, gateway excluded: {statistics.median(overhead):.3f} ms median, "
        f"{p99:.3f} ms p99 over {TURNS:,} turns  [goal < 1 ms]"
    )


if __name__ == "__main__":
    main()
