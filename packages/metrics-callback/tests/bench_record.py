"""The record's own cost, per line (printed, never asserted): ``python tests/bench_record.py``.

Times what the callback does for each event after LiteLLM hands it over, on the recorded
payloads of ``payloads.py`` (success with key and team, streamed, failure):

1. ``read_facts``: reading the payload;
2. ``render_line``: the line the callback writes, from the facts (the record built from
   ``FIELDS`` and encoded by the standard library, its directive's JSON encoded once per kind);
3. its parts: ``build_record``, and ``encode_record`` of the record (the directive encoded each time);
4. ``json.dumps(record, separators=(",", ":"))`` and ``orjson.dumps(record)`` (when orjson is
   importable: LiteLLM's proxy extra brings it) on the same record, and whether their bytes are
   the line's (orjson's are not: it writes ``1.35e-05`` as ``0.0000135``).

``./dev nox -s bench_metrics`` runs this first, then the proxy benchmark, whose figures say
whether microseconds here matter next to a request through the proxy.
"""

from __future__ import annotations

import functools
import importlib
import json
import statistics
import time
from collections.abc import Callable

from bedrockgate.metrics_callback import MetricsSettings, build_record, encode_record, read_facts
from bedrockgate.metrics_callback.emf import render_line
from payloads import failure_payload, success_payload

ROUNDS = 7
CALLS = 20_000


def best_us(work: Callable[[], object]) -> tuple[float, float]:
    """The median and best of ``ROUNDS`` rounds of ``CALLS`` calls, in microseconds per call."""
    figures = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(CALLS):
            work()
        figures.append((time.perf_counter() - start) / CALLS * 1e6)
    return statistics.median(figures), min(figures)


def main() -> None:
    settings = MetricsSettings()
    now = time.time()
    cases = {
        "success": (success_payload(), False),
        "streamed": (
            success_payload(stream=True, startTime=now - 2.0, completionStartTime=now - 1.5, endTime=now),
            False,
        ),
        "failure": (failure_payload(), True),
    }
    try:
        orjson = importlib.import_module("orjson")
    except ImportError:
        orjson = None
    print(f"per call, median (best) of {ROUNDS} rounds of {CALLS:,}, in us")
    for name, (payload, failed) in cases.items():
        facts = read_facts(payload, failed=failed)
        record = build_record(facts, settings, now=now)
        line = render_line(facts, settings, now=now)
        figures = {
            "read_facts": best_us(functools.partial(read_facts, payload, failed=failed)),
            "render_line": best_us(functools.partial(render_line, facts, settings, now=now)),
            "build_record": best_us(functools.partial(build_record, facts, settings, now=now)),
            "encode_record": best_us(functools.partial(encode_record, record)),
            "json.dumps": best_us(functools.partial(json.dumps, record, separators=(",", ":"))),
        }
        same = {
            "encode_record": encode_record(record) == line,
            "json.dumps": json.dumps(record, separators=(",", ":")) == line,
        }
        if orjson is not None:
            figures["orjson"] = best_us(functools.partial(orjson.dumps, record))
            same["orjson"] = orjson.dumps(record).decode() == line
        row = "  ".join(f"{key} {median:5.1f} ({best:4.1f})" for key, (median, best) in figures.items())
        print(f"{name:9} {row}\n          byte-identical to the line: {same}")


if __name__ == "__main__":
    main()
