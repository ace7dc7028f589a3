"""The fault campaign: steady load through the real proxy while one part of the stack fails at a time.

``nox -s faults`` runs every fault with long phases and prints a table per fault; the package's
tests run a short campaign and assert the promises (``tests/test_fault_campaign.py``). The stack
is the local one with the scripted backend at a fixed latency, Redis and Phoenix, and the
production config (``agents-gateway.yaml``) with two changes, printed with the tables:
``claude-primary`` and ``claude-fallback`` time out after ``TIMEOUT_S`` seconds instead of 120
(a latency fault past 120 s would make each request last minutes), and a ``claude-limited`` group
with a low rpm limit is added, so the Redis fault can show the deployment limits working again.

Each fault has three phases, by the time a request started: before, during (from the fault until
the part is back and healthy), after. Only the stack's own processes are killed and restarted,
by the process groups the stack recorded; the emulator's faults go through its admin API.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import signal
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx
import yaml
from bedrockgate.gateway_config import example_path
from bedrockgate.local_stack.exceptions import LocalStackError
from bedrockgate.local_stack.processes import ManagedProcess, free_port
from bedrockgate.local_stack.settings import SCRIPTED_RULES, EmulatorSettings
from bedrockgate.local_stack.stack import STOP_GRACE_S, LocalStack, StackOptions
from bedrockgate.local_stack.steadyload import Outcome, PhaseFigures, SteadyLoad, render_table, summarise

PRIMARY: Final = "claude-primary"
FALLBACK: Final = "claude-fallback"
LIMITED: Final = "claude-limited"
FALLBACK_DEPLOYMENT: Final = "claude-fallback-1"
LIMITED_RPM: Final = 12
TIMEOUT_S: Final = 2
SLOW_MS: Final = 4_000
"""The latency fault: twice the campaign config's timeout."""
BACKEND_LATENCY_MS: Final = 50
MASTER_KEY: Final = "sk-local-fault-campaign"
CONFIG_CHANGES: Final = (
    f"{PRIMARY}/{FALLBACK}: timeout and stream_timeout {TIMEOUT_S} s (production: 120/60 s), "
    "so a latency fault times out in seconds, not minutes",
    f"{LIMITED} added (rpm {LIMITED_RPM}): the deployment-level rpm limit the Redis fault checks",
)


def campaign_config(directory: Path) -> Path:
    """The production config with the campaign's two changes (``CONFIG_CHANGES``), written in ``directory``."""
    document = yaml.safe_load(example_path("agents-gateway").read_text(encoding="utf-8"))
    for deployment in document["model_list"]:
        if deployment["model_name"] in (PRIMARY, FALLBACK):
            deployment["litellm_params"] |= {"timeout": TIMEOUT_S, "stream_timeout": TIMEOUT_S}
    document["model_list"].append(
        {
            "model_name": LIMITED,
            "litellm_params": {
                "model": "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0",
                "aws_region_name": "os.environ/AWS_REGION",
                "rpm": LIMITED_RPM,
            },
            "model_info": {"id": f"{LIMITED}-1", "mode": "chat"},
        }
    )
    path = directory / "fault-campaign-gateway.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def rpm_limit(config: Path, alias: str) -> float:
    """The rpm limit of a model group's deployments in ``config`` (summed; infinite when none is set).

    A load above it is refused by the router (429 after its retries wait for the next minute), so
    the campaign and the soak keep their rate under it: a limit, not a fault, is not what they measure.
    """
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    limits = [d["litellm_params"].get("rpm") for d in document["model_list"] if d["model_name"] == alias]
    if not limits:
        raise LocalStackError(f"{config} has no model group {alias!r}")
    return math.inf if any(limit is None for limit in limits) else float(sum(limits))


def stack_options(directory: Path, config: Path | None = None, **overrides: Any) -> StackOptions:
    """The campaign's (and the soak's) stack: scripted backend at a fixed latency, Redis, Phoenix, a free port."""
    options: dict[str, Any] = {
        "config": config or campaign_config(directory),
        "port": free_port(),
        "backend": "scripted",
        "emulator_settings": EmulatorSettings(rules=SCRIPTED_RULES, scripted_latency_ms=BACKEND_LATENCY_MS),
        "redis": True,
        "phoenix": True,
        "state_dir": directory / "state",
        "master_key": MASTER_KEY,
        "startup_timeout_s": 300,
    }
    return StackOptions(**(options | overrides))


@dataclass(frozen=True)
class Timing:
    """Seconds of each phase: the short campaign (tests) and the full one (``nox -s faults``) differ only here."""

    before_s: float = 10.0
    during_s: float = 15.0
    after_s: float = 10.0
    restart_phoenix: bool = True
    check_rpm: bool = True


SHORT: Final = Timing(before_s=1.5, during_s=2.5, after_s=2.0, restart_phoenix=False, check_rpm=False)
"""The tests' campaign: no Phoenix restart (about 40 s on a loaded machine) and no wait for LiteLLM's Redis breaker."""


@dataclass(frozen=True)
class FaultResult:
    """One fault: its phases' figures, the requests that started during it, and what was checked."""

    name: str
    description: str
    phases: tuple[PhaseFigures, ...]
    during: tuple[Outcome, ...]
    after: tuple[Outcome, ...]
    checks: dict[str, Any] = field(default_factory=dict)

    def table(self) -> str:
        """The fault's table, and its checks as ``name: value`` lines."""
        lines = [render_table(f"== {self.name}: {self.description}", self.phases)]
        lines += [f"  {name}: {value}" for name, value in self.checks.items()]
        return "\n".join(lines)


class Campaign:
    """Faults, one at a time, against a running stack under a running ``SteadyLoad``."""

    def __init__(self, stack: LocalStack, load: SteadyLoad, timing: Timing, log: Callable[[str], None] = print) -> None:
        if stack.info is None or stack.run_config is None:
            raise LocalStackError("start the stack before the campaign")
        self.stack, self.load, self.timing, self.log = stack, load, timing, log
        self.info = stack.info
        self.primary_id = stack.info.model_ids[PRIMARY][0]
        self.fallback_id = stack.info.model_ids[FALLBACK][0]

    # -- the faults ----------------------------------------------------------------------------

    def primary_down(self) -> FaultResult:
        """claude-primary's model answers 503: the fallback must serve every request."""
        return self._primary_fault("primary down", "answers 503 ServiceUnavailable (emulator fault down=true)",
                                   {"down": True})  # fmt: skip

    def primary_slow(self) -> FaultResult:
        """claude-primary answers after its timeout: served by the fallback within the retry budget."""
        return self._primary_fault("primary slow", f"answers after {SLOW_MS} ms, past its {TIMEOUT_S} s timeout",
                                   {"latency_ms": SLOW_MS})  # fmt: skip

    def _primary_fault(self, name: str, what: str, faults: dict[str, Any]) -> FaultResult:
        return self._fault(
            name,
            f"{self.primary_id} {what}",
            apply=lambda: self._set_faults(self.primary_id, faults),
            revert=self._clear_faults,
            drain=True,
            check=self._served_by_fallback,
        )

    def all_slow(self) -> FaultResult:
        """Every chat model past its timeout: nothing can serve, so every request must end in a clean error."""
        return self._fault(
            "all models slow",
            f"every model answers after {SLOW_MS} ms, past the {TIMEOUT_S} s timeout: clean errors expected",
            apply=lambda: self._set_faults("*", {"latency_ms": SLOW_MS}),
            revert=self._clear_faults,
            drain=True,
            check=_clean_errors,
        )

    def redis_killed(self) -> FaultResult:
        """Redis gets SIGKILL and comes back: requests keep being served; the rpm limit holds again after.

        LiteLLM stops calling a Redis that failed five times (its circuit breaker) and tries again
        60 s after the last failure (``REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT``): until then the
        router counts in memory, per process. So the full campaign waits for the router's rpm
        counters to be back in Redis before it checks the limit.
        """
        redis = self._process("redis")
        back: list[float] = []

        def revert() -> None:
            redis.start(self.stack.lifeline)
            redis.wait_healthy(time.monotonic() + 60)
            back.append(time.monotonic())

        result = self._fault(
            "redis killed",
            "redis-server gets SIGKILL, and is started again (empty: it keeps no data) after the during phase",
            apply=lambda: _kill(redis),
            revert=revert,
        )
        if self.timing.check_rpm:
            result.checks["proxy writes to redis again after s"] = self.wait_for_keys("*", back[0], 180)
            result.checks["router's rpm counters in redis again after s"] = self.wait_for_keys("*:rpm:*", back[0], 180)
            result.checks.update(self.rpm_limit_check())
        return result

    def phoenix_killed(self) -> FaultResult:
        """Phoenix gets SIGKILL: no request may fail; with a restart, traces must resume."""
        phoenix = self._process("phoenix")
        back_at: list[str] = []

        def revert() -> None:
            if self.timing.restart_phoenix:
                phoenix.start(self.stack.lifeline)
                phoenix.wait_healthy(time.monotonic() + 180)
                back_at.append(datetime.now(UTC).isoformat())

        result = self._fault(
            "phoenix killed",
            "phoenix gets SIGKILL" + (", then is started again" if self.timing.restart_phoenix else ""),
            apply=lambda: _kill(phoenix),
            revert=revert,
        )
        if back_at:
            result.checks["spans after phoenix returned"] = self.wait_for_spans(back_at[0])
        return result

    def metrics_sink_full(self) -> FaultResult:
        """The proxy's stdout (the metrics callback's sink, a file) refuses every write: no request may fail."""
        proxy = self.stack.proxies[0]
        pid = proxy.pid
        if pid is None:
            raise LocalStackError("the proxy is not running")
        soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        log_path = proxy.log_path

        def apply() -> None:
            # The kernel refuses every write that would grow the proxy's log (EFBIG, as a full disk
            # refuses with ENOSPC): the callback's lines and LiteLLM's own log lines alike.
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (log_path.stat().st_size, hard))

        result = self._fault(
            "metrics sink full",
            "the proxy's stdout (its log file, where the metrics callback writes) refuses every write (RLIMIT_FSIZE)",
            apply=apply,
            revert=lambda: resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard)),
        )
        result.checks.update(self.record_counts(result.during, result.after))
        return result

    def proxy_restarted(self) -> FaultResult:
        """The proxy stops (SIGTERM, as ECS stops a task) and starts again on its port: how long clients see errors."""
        proxy = self.stack.proxies[0]
        timings: dict[str, float] = {}

        def apply() -> None:
            started = time.monotonic()
            proxy.stop(STOP_GRACE_S)
            timings["stopped after s"] = round(time.monotonic() - started, 1)
            started = time.monotonic()
            proxy.start(self.stack.lifeline)
            proxy.wait_healthy(time.monotonic() + 300)
            timings["healthy again after s"] = round(time.monotonic() - started, 1)

        result = self._fault(
            "proxy restarted",
            "the proxy gets SIGTERM, then is started again on the same port",
            apply=apply,
            revert=lambda: None,
            during_s=0.0,
        )
        errors = [o for o in (*result.during, *result.after) if not o.ok]
        window = max(o.ended for o in errors) - min(o.started for o in errors) if errors else 0.0
        result.checks.update(timings | {"error window s": round(window, 1)})
        return result

    # -- checks --------------------------------------------------------------------------------

    def _served_by_fallback(self, during: Sequence[Outcome]) -> dict[str, Any]:
        served = [o for o in during if o.ok]
        by_fallback = sum(o.served_by == FALLBACK_DEPLOYMENT for o in served)
        return {"served by claude-fallback": f"{by_fallback} of {len(served)} served ({len(during)} sent)"}

    def wait_for_keys(self, pattern: str, since: float, timeout: float) -> float | None:
        """Seconds from ``since`` until Redis holds a key matching ``pattern``; ``None`` if it never did."""
        deadline = since + timeout
        while True:
            reply = self.redis_command("KEYS", pattern)
            if isinstance(reply, list) and reply:
                return round(time.monotonic() - since, 1)
            if time.monotonic() > deadline:
                return None
            time.sleep(1.0)

    def redis_command(self, *args: str) -> object:
        """One command to the stack's Redis, with its password (never printed)."""
        if self.info.redis_port is None or self.stack.run_config is None:
            raise LocalStackError("this stack runs without Redis")
        password = self.stack.run_config.environment["REDIS_PASSWORD"]
        return resp_command(self.info.redis_port, password, *args)

    def rpm_limit_check(self) -> dict[str, Any]:
        """Twice the limit, one after another, to claude-limited within one minute: how many were served."""
        seconds_into_minute = time.time() % 60
        if seconds_into_minute > 40:  # the limit counts per calendar minute: start a fresh one
            time.sleep(60.5 - seconds_into_minute)
        minute = int(time.time() // 60)
        statuses: list[int] = []
        headers = {"Authorization": f"Bearer {MASTER_KEY}"}
        with httpx.Client(timeout=60, headers=headers) as client:
            for index in range(2 * LIMITED_RPM):
                body = {
                    "model": LIMITED,
                    "messages": [{"role": "user", "content": f"limited {index}"}],
                    "num_retries": 0,  # no router retries: an over-limit request would wait for the next minute
                }
                statuses.append(client.post(f"{self.info.proxy_url}/v1/chat/completions", json=body).status_code)
        same_minute = int(time.time() // 60) == minute
        counter = self.redis_command("KEYS", f"{LIMITED}-1:*:rpm:*")
        return {
            "rpm limit after restart": f"{statuses.count(200)} served, {statuses.count(429)} refused (429) "
            f"of {len(statuses)} (limit {LIMITED_RPM}/min{'' if same_minute else ', crossed a minute'})",
            "rpm served": statuses.count(200),
            "rpm refused": statuses.count(429),
            "claude-limited rpm counters in redis": len(counter) if isinstance(counter, list) else 0,
        }

    def record_counts(self, during: Sequence[Outcome], after: Sequence[Outcome]) -> dict[str, Any]:
        """Metrics records of the requests during and after the fault (the log is read once the sink drained)."""
        time.sleep(1.0)  # the callback's writer lingers 50 ms; give it room on a loaded machine
        recorded = record_call_ids(self.stack.proxies[0].log_path)
        lost = [o for o in during if o.call_id is not None and o.call_id not in recorded]
        kept = [o for o in after if o.call_id is not None and o.call_id in recorded]
        own_count = callback_loss_report(self.stack.proxies[0].log_path)
        return {
            "records lost during (counted from outside)": f"{len(lost)} of {len(during)}",
            "records written after": f"{len(kept)} of {len(after)}",
            "lost": len(lost),
            "written after": len(kept),
            "callback's own count (its last warning)": own_count or "none yet",
        }

    def wait_for_spans(self, since_iso: str, timeout: float = 60.0) -> int:
        """Spans Phoenix holds that started after ``since_iso`` (it batches: wait for some)."""
        deadline = time.monotonic() + timeout
        count = 0
        while time.monotonic() < deadline:
            count = count_spans(self.info.phoenix_url or "", since_iso)
            if count:
                return count
            time.sleep(2)
        return count

    # -- the phases ----------------------------------------------------------------------------

    def _fault(
        self,
        name: str,
        description: str,
        *,
        apply: Callable[[], object],
        revert: Callable[[], object],
        drain: bool = False,
        check: Callable[[Sequence[Outcome]], dict[str, Any]] | None = None,
        during_s: float | None = None,
    ) -> FaultResult:
        """Before, apply, during, (drain), revert, after: phases by when each request started.

        ``during_s=0`` marks a fault whose ``apply`` is itself the fault (a restart): its during
        phase starts when ``apply`` does and ends when it returns.

        ``drain`` stops new requests at the end of the during phase and waits for those in flight
        before reverting, so every request counted as during saw only the fault.
        """
        timing = self.timing
        self.log(f"-- {name}: before ({timing.before_s:.0f} s)")
        t0 = time.monotonic()
        time.sleep(timing.before_s)
        self.log(f"-- {name}: fault on")
        applying = time.monotonic()
        apply()
        # During starts once the fault is surely on (a request sent while the emulator was still
        # being told counts as before); a restart's during starts as it begins.
        t1 = applying if during_s == 0 else time.monotonic()
        time.sleep(timing.during_s if during_s is None else during_s)
        if drain:
            self.load.pause()
            self.load.settle()
        revert()
        if drain:
            self.load.resume()
        t2 = time.monotonic()
        self.log(f"-- {name}: fault off after {t2 - t1:.1f} s; after ({timing.after_s:.0f} s)")
        time.sleep(timing.after_s)
        t3 = time.monotonic()
        self.load.settle(t3)
        before, during, after = self.load.outcomes(t0, t1), self.load.outcomes(t1, t2), self.load.outcomes(t2, t3)
        result = FaultResult(
            name=name,
            description=description,
            phases=(
                summarise("before", before, t1 - t0),
                summarise("during", during, t2 - t1),
                summarise("after", after, t3 - t2),
            ),
            during=tuple(during),
            after=tuple(after),
            checks=check(during) if check else {},
        )
        self.log(result.table())
        return result

    def _process(self, name: str) -> ManagedProcess:
        found = [p for p in self.stack.processes if p.name == name]
        if not found:
            raise LocalStackError(f"the stack runs no {name}: start it with {name} on")
        return found[0]

    def _set_faults(self, model_id: str, faults: dict[str, Any]) -> None:
        response = httpx.put(f"{self.info.emulator_url}/_emulator/faults/{model_id}", json=faults, timeout=10)
        response.raise_for_status()

    def _clear_faults(self) -> None:
        httpx.delete(f"{self.info.emulator_url}/_emulator/faults", timeout=10).raise_for_status()


def _clean_errors(during: Sequence[Outcome]) -> dict[str, Any]:
    errors = [o for o in during if not o.ok]
    return {"clean JSON errors": f"{sum(o.clean_error for o in errors)} of {len(errors)} errors"}


def _kill(process: ManagedProcess) -> None:
    """SIGKILL the process's group (it is killed, not stopped), then reap it and tell the lifeline."""
    if process.pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.stop(timeout=1.0)


def record_call_ids(log: Path) -> set[str]:
    """The ``litellm_call_id`` of every metrics record (EMF line) in a proxy log."""
    found = set()
    with log.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith('{"_aws"'):
                with contextlib.suppress(ValueError):
                    call_id = json.loads(line).get("litellm_call_id")
                    if isinstance(call_id, str):
                        found.add(call_id)
    return found


def callback_loss_report(log: Path) -> str | None:
    """The metrics callback's last "lines lost" warning in a proxy log (it warns at most once a minute)."""
    last = None
    with log.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if "metrics lines lost so far" in line:
                last = line.strip()
    if last is None:
        return None
    start = last.find("metrics lines lost so far")
    return last[start : last.find("; requests", start)] if "; requests" in last else last[start:][:200]


def count_spans(phoenix_url: str, since_iso: str) -> int:
    """Spans in every Phoenix project that started at or after ``since_iso``."""
    try:
        projects = httpx.get(f"{phoenix_url}/v1/projects", timeout=10).json().get("data", [])
        total = 0
        for project in projects:
            response = httpx.get(
                f"{phoenix_url}/v1/projects/{project['name']}/spans",
                params={"start_time": since_iso, "limit": 1000},
                timeout=10,
            )
            if response.status_code == 200:
                total += len(response.json().get("data", []))
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return 0
    return total


def resp_command(port: int, password: str, *args: str) -> object:
    """Send one command to Redis on loopback (AUTH first) and decode its reply (RESP2)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock, sock.makefile("rb") as reader:
        for command in (("AUTH", password), args):
            sock.sendall(_encode(command))
            reply = _decode(reader)
        return reply


def _encode(args: Sequence[str]) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _decode(reader: Any) -> object:
    line: bytes = reader.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise LocalStackError(f"redis answered an error: {rest.decode()[:100]}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else reader.read(size + 2)[:-2].decode()
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [_decode(reader) for _ in range(size)]
    raise LocalStackError(f"unexpected reply from redis: {line[:40]!r}")


@contextlib.contextmanager
def running_load(stack: LocalStack, load_settings: Any) -> Iterator[SteadyLoad]:
    """A ``SteadyLoad`` on the stack's proxy for the block, stopped (and its requests awaited) at the end."""
    if stack.info is None:
        raise LocalStackError("start the stack before the load")
    load = SteadyLoad(stack.info.proxy_url, stack.info.master_key, load_settings).start()
    try:
        yield load
    finally:
        load.stop()
