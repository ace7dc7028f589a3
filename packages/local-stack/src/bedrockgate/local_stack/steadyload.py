"""Steady load on the gateway, for the fault campaign and the soak: open loop, bounded, loopback only.

Open loop: requests start at a fixed rate whatever the answers take, as independent clients send
them, so a fault that slows answers shows as latency and requests in flight, not as fewer
requests. Bounded: a cap on requests in flight, on requests in all and on seconds, and the target
must be 127.0.0.1. It runs in a thread of its own (an asyncio loop with one httpx client), so the
caller can stop and start the stack's processes meanwhile.

Every request ends as one ``Outcome``: served (200 with a completion), or an error of a named kind,
``http 503 json`` (a clean JSON error), ``http 500 not-json``, ``refused`` (nothing listens),
``disconnected`` (the connection dropped mid-answer) or ``timeout`` (no answer within the client's
timeout: a hang).
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
from bedrockgate.local_stack.exceptions import LocalStackError

LOOPBACK: Final = "127.0.0.1"
PROMPT: Final = "Summarise the benefits of an LLM gateway in one sentence."
OK: Final = "ok"


@dataclass(frozen=True)
class Outcome:
    """One request: when it started (monotonic seconds), how long it took, and how it ended."""

    started: float
    seconds: float
    kind: str
    """``ok`` or the error's kind (see the module's docstring)."""
    status: int | None = None
    served_by: str | None = None
    """The deployment that answered (LiteLLM's ``x-litellm-model-id``), e.g. ``claude-fallback-1``."""
    call_id: str | None = None
    """LiteLLM's ``x-litellm-call-id``: the metrics record of the request carries it."""

    @property
    def ok(self) -> bool:
        """Whether the client got its answer."""
        return self.kind == OK

    @property
    def clean_error(self) -> bool:
        """An error the client can act on: an HTTP status with a JSON error body (no hang, no dropped connection)."""
        return self.kind.startswith("http ") and self.kind.endswith(" json")

    @property
    def ended(self) -> float:
        """When the answer (or the error) arrived."""
        return self.started + self.seconds


def classify(status: int, body: bytes) -> tuple[str, str | None]:
    """The kind of an HTTP answer, and the completion's text if it is one."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return f"http {status} not-json", None
    if status == 200 and isinstance(document, dict) and document.get("choices"):
        choice = document["choices"][0]
        message = choice.get("message") if isinstance(choice, dict) else None
        text = message.get("content") if isinstance(message, dict) else None
        return OK, text if isinstance(text, str) else ""
    if isinstance(document, dict) and ("error" in document or "message" in document or "detail" in document):
        return f"http {status} json", None
    return f"http {status} not-json", None


@dataclass
class LoadSettings:
    """How much load, and its bounds."""

    rate: float = 5.0
    """Requests started per second."""
    model: str = "claude-primary"
    max_in_flight: int = 200
    client_timeout_s: float = 90.0
    max_requests: int = 100_000
    max_seconds: float = 3_600.0
    extra_body: Mapping[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Refuse load this machine (2 shared cores, loopback) is not meant for."""
        if not 0 < self.rate <= 50:
            raise LocalStackError(f"load rate {self.rate}/s is out of bounds: use 0 < rate <= 50")
        if not 0 < self.max_in_flight <= 500:
            raise LocalStackError(f"max_in_flight {self.max_in_flight} is out of bounds: use 1..500")


class SteadyLoad:
    """Chat completions at a fixed rate against one proxy until ``stop()``; ``outcomes()`` reads what happened."""

    def __init__(self, url: str, key: str, settings: LoadSettings | None = None) -> None:
        host = urlsplit(url).hostname
        if host != LOOPBACK:
            raise LocalStackError(f"the load generator only calls {LOOPBACK}, not {host!r} (from {url})")
        self.url = url.rstrip("/")
        self.settings = settings or LoadSettings()
        self.settings.check()
        self._key = key
        self._lock = threading.Lock()
        self._outcomes: list[Outcome] = []
        self._in_flight: dict[int, float] = {}
        self._sent = 0
        self._paused = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SteadyLoad:
        """Begin sending, from a thread of its own."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="steady-load", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop starting requests and wait for those in flight (each bounded by the client timeout)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.settings.client_timeout_s + 10)

    def pause(self) -> None:
        """Stop starting requests (the clock runs on: no burst when resumed)."""
        self._paused.set()

    def resume(self) -> None:
        """Start requests again."""
        self._paused.clear()

    def settle(self, before: float | None = None, timeout: float | None = None) -> bool:
        """Wait until every request started before ``before`` (default: now) has ended; ``False`` on timeout."""
        before = time.monotonic() if before is None else before
        deadline = time.monotonic() + (self.settings.client_timeout_s + 5 if timeout is None else timeout)
        while time.monotonic() < deadline:
            with self._lock:
                if not any(started < before for started in self._in_flight.values()):
                    return True
            time.sleep(0.05)
        return False

    def outcomes(self, start: float = -math.inf, end: float = math.inf) -> list[Outcome]:
        """The ended requests that started in ``[start, end)``."""
        with self._lock:
            return [o for o in self._outcomes if start <= o.started < end]

    def in_flight(self) -> int:
        """Requests sent and not yet answered."""
        with self._lock:
            return len(self._in_flight)

    async def _run(self) -> None:
        settings = self.settings
        limits = httpx.Limits(max_connections=settings.max_in_flight, max_keepalive_connections=settings.max_in_flight)
        headers = {"Authorization": f"Bearer {self._key}"}
        async with httpx.AsyncClient(timeout=settings.client_timeout_s, limits=limits, headers=headers) as client:
            tasks: set[asyncio.Task[None]] = set()
            began = time.monotonic()
            interval = 1.0 / settings.rate
            tick = 0
            while not self._stopping.is_set() and time.monotonic() - began < settings.max_seconds:
                tick += 1
                await asyncio.sleep(max(0.0, began + tick * interval - time.monotonic()))
                if self._paused.is_set() or self._stopping.is_set():
                    continue
                with self._lock:
                    if len(self._in_flight) >= settings.max_in_flight or self._sent >= settings.max_requests:
                        continue
                    self._sent += 1
                    number = self._sent
                task = asyncio.create_task(self._one(client, number))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.wait(tasks)

    async def _one(self, client: httpx.AsyncClient, number: int) -> None:
        body = {
            "model": self.settings.model,
            "messages": [{"role": "user", "content": f"{PROMPT} (request {number})"}],
            "max_tokens": 64,
            **self.settings.extra_body,
        }
        started = time.monotonic()
        with self._lock:
            self._in_flight[number] = started
        outcome: Outcome
        try:
            response = await client.post(f"{self.url}/v1/chat/completions", json=body)
        except httpx.TimeoutException:
            outcome = Outcome(started, time.monotonic() - started, "timeout")
        except httpx.ConnectError:
            outcome = Outcome(started, time.monotonic() - started, "refused")
        except httpx.TransportError:
            outcome = Outcome(started, time.monotonic() - started, "disconnected")
        else:
            kind, _text = classify(response.status_code, response.content)
            outcome = Outcome(
                started,
                time.monotonic() - started,
                kind,
                status=response.status_code,
                served_by=response.headers.get("x-litellm-model-id") if kind == OK else None,
                call_id=response.headers.get("x-litellm-call-id"),
            )
        with self._lock:
            self._outcomes.append(outcome)
            del self._in_flight[number]


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100): always one of the values."""
    if not values:
        raise ValueError("the percentile of no values is undefined")
    if not 0 < q <= 100:
        raise ValueError(f"q must be in (0, 100], got {q}")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class PhaseFigures:
    """One phase of a fault (before, during, after): what the clients saw."""

    name: str
    seconds: float
    requests: int
    served: int
    errors: dict[str, int]
    p50_ms: float | None
    p99_ms: float | None

    @property
    def served_pct(self) -> float | None:
        """Share of requests answered, in percent (``None`` without requests)."""
        return None if not self.requests else 100.0 * self.served / self.requests


def summarise(name: str, outcomes: Iterable[Outcome], seconds: float) -> PhaseFigures:
    """Requests, served, errors by kind and latency percentiles (of every request, errors included)."""
    rows = list(outcomes)
    latencies = [o.seconds * 1000 for o in rows]
    return PhaseFigures(
        name=name,
        seconds=round(seconds, 1),
        requests=len(rows),
        served=sum(o.ok for o in rows),
        errors=dict(sorted(Counter(o.kind for o in rows if not o.ok).items())),
        p50_ms=percentile(latencies, 50) if latencies else None,
        p99_ms=percentile(latencies, 99) if latencies else None,
    )


def render_table(title: str, phases: Sequence[PhaseFigures]) -> str:
    """A plain-text table, one row per phase."""

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    header = f"{'phase':<8} {'s':>6} {'requests':>8} {'served %':>8} {'p50 ms':>8} {'p99 ms':>8}  errors by kind"
    lines = [title, header, "-" * len(header)]
    for phase in phases:
        served = "-" if phase.served_pct is None else f"{phase.served_pct:.1f}"
        errors = ", ".join(f"{kind}: {count}" for kind, count in phase.errors.items()) or "none"
        lines.append(
            f"{phase.name:<8} {phase.seconds:>6.1f} {phase.requests:>8} {served:>8} "
            f"{ms(phase.p50_ms):>8} {ms(phase.p99_ms):>8}  {errors}"
        )
    return "\n".join(lines)


def least_squares_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """The slope of the least-squares line through the points (the soak's memory growth)."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError(f"a slope needs at least two (x, y) pairs, got {len(xs)} x and {len(ys)} y")
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        raise ValueError("a slope needs at least two distinct x values")
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
