"""The gateway image's smoke test: run it as ECS would, behind the local stack's scripted emulator.

Each check raises :class:`ImageBuildError` naming what failed; the figures come back in a
:class:`SmokeReport`. What is checked, in order:

1. every callback and guardrail integration a config names imports inside the image, with the
   task's user and a read-only root filesystem (the baked config and every example);
2. the entrypoint refuses ``DATABASE_URL`` (no Prisma engines), a config whose sha256 is not
   ``BEDROCKGATE_CONFIG_SHA256``, and a ``NUM_WORKERS`` that is not a positive whole number;
3. the proxy starts from the image (``local-stack`` image mode: host network, the runtime config
   mounted), passes infra's own container health check (``podman exec`` of the exact command) and
   the ALB's path, answers a chat request, and its stdout holds the metrics callback's EMF record;
4. SIGTERM while a slow request is in flight: the request still gets its 200, and the container
   exits cleanly (code 0, or 143: the signal re-raised, never 137: killed), well inside ECS's stop
   timeout;
5. with ``workers`` > 1 (``NUM_WORKERS``, as infra sets it to the task's vCPUs), a second container
   on the same stack: it runs that many uvicorn workers (its process list), each of them starts,
   infra's health check and the ALB's path pass, requests are served, and check 4 holds again,
   with no process of the container left once it is gone.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from bedrockgate.infra.image_contract import (
    CONFIG_DIGEST_VARIABLE,
    DATABASE_VARIABLE,
    GATEWAY_USER,
    GATEWAY_WRITABLE_PATHS,
    HEALTH_PATH,
    health_check_command,
)
from bedrockgate.local_stack.stack import LocalStack, StackOptions

from bedrockgate_pipeline.errors import ImageBuildError
from bedrockgate_pipeline.image import podman as podman_

if TYPE_CHECKING:
    from bedrockgate.local_stack.processes import ManagedProcess
    from bedrockgate.local_stack.stack import StackInfo

EX_CONFIG = 78
SLOW_REQUEST_MS = 4000
CLEAN_EXITS = (0, 128 + signal.SIGTERM)
"""How the container may end after SIGTERM: one uvicorn process re-raises the signal (143, through tini), the
multi-worker supervisor returns (0); 137 would mean podman killed it at the stop timeout."""
RESPAWNED = r"Child process \[\d+\] died"
"""What uvicorn's supervisor logs when it killed a worker that did not answer its ping, and starts another."""
WORKER_MARK = "multiprocessing.spawn"
"""In a uvicorn worker's command line: the supervisor starts each with multiprocessing's spawn."""


@dataclass
class SmokeReport:
    """What the smoke test measured for one image."""

    reference: str
    integrations: dict[str, dict[str, str]] = field(default_factory=dict)
    start_to_healthy_s: float = 0.0
    chat_s: float = 0.0
    emf_records: int = 0
    sigterm_request_status: int = 0
    sigterm_to_exit_s: float = 0.0
    exit_code: int | None = None
    workers: int = 1
    """The second container's worker count (check 5); 1: not run."""
    workers_running: int = 0
    workers_start_to_healthy_s: float = 0.0
    workers_all_started_s: float = 0.0
    workers_requests: int = 0
    workers_sigterm_request_status: int = 0
    workers_sigterm_to_exit_s: float = 0.0
    workers_exit_code: int | None = None
    workers_check_s: float = 0.0
    """Wall-clock seconds check 5 added, its container's start included."""


def _readonly_run(reference: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``podman run`` with the task's user and read-only root filesystem (``/tmp`` writable)."""
    tmpfs = [arg for path in GATEWAY_WRITABLE_PATHS for arg in ("--tmpfs", f"{path}:rw,mode=1777")]
    names = [arg for key in sorted(env or {}) for arg in ("--env", key)]
    argv = ["podman", "run", "--rm", "--read-only", "--read-only-tmpfs=false", "--user", GATEWAY_USER,
            *tmpfs, *names, *args]  # fmt: skip
    return subprocess.run(argv, env=podman_.environment() | (env or {}), capture_output=True, text=True, check=False)


def check_integrations(reference: str, configs: dict[str, Path]) -> dict[str, dict[str, str]]:
    """Import every integration of the baked config and of each ``configs`` entry inside the image."""
    results: dict[str, dict[str, str]] = {}
    mounts = [arg for name, path in configs.items() for arg in ("--volume", f"{path.resolve()}:/mnt/{name}.yaml:ro")]
    targets = ["/app/config.yaml", *(f"/mnt/{name}.yaml" for name in configs)]
    script = (
        "import json, subprocess, sys\n"
        "out = {}\n"
        "for path in sys.argv[1:]:\n"
        "    done = subprocess.run([sys.executable, '/opt/bedrockgate/check_integrations.py', path],"
        " capture_output=True, text=True)\n"
        "    out[path] = {'code': done.returncode, 'stdout': done.stdout, 'stderr': done.stderr[-2000:]}\n"
        "print(json.dumps(out))\n"
    )
    done = _readonly_run(reference, *mounts, "--entrypoint", "/opt/venv/bin/python", reference, "-c", script, *targets)
    if done.returncode != 0:
        raise ImageBuildError(f"the integration check could not run in {reference}: {done.stderr.strip()[-2000:]}")
    for path, outcome in json.loads(done.stdout).items():
        if outcome["code"] != 0:
            raise ImageBuildError(
                f"{reference}: integrations of {path} do not import: {outcome['stdout']}{outcome['stderr']}"
            )
        results[path] = json.loads(outcome["stdout"])["integrations"]
    return results


def check_refusals(reference: str) -> None:
    """The entrypoint refuses DATABASE_URL, a config digest that does not match, and zero workers."""
    cases = {
        DATABASE_VARIABLE: {DATABASE_VARIABLE: "postgresql://user@127.0.0.1:5432/litellm"},
        CONFIG_DIGEST_VARIABLE: {CONFIG_DIGEST_VARIABLE: "0" * 64},
        "NUM_WORKERS": {"NUM_WORKERS": "0"},
    }
    for variable, env in cases.items():
        done = _readonly_run(reference, reference, env=env)
        if done.returncode != EX_CONFIG or variable not in done.stderr:
            raise ImageBuildError(
                f"{reference}: the entrypoint should refuse {variable} with exit code {EX_CONFIG}; it exited "
                f"{done.returncode} with: {done.stderr.strip()[-1000:]}"
            )


def serve_and_stop(reference: str, config: Path, state_dir: Path, *, timeout_s: float, workers: int = 1) -> SmokeReport:
    """Checks 3 and 4 (and 5 when ``workers`` > 1): serve through the image behind the scripted emulator, SIGTERM."""
    report = SmokeReport(reference)
    options = StackOptions(
        config=config, port=free_port(), backend="scripted", phoenix=False, state_dir=state_dir,
        startup_timeout_s=timeout_s, gateway_image=reference, master_key="sk-smoke-test",
    )  # fmt: skip
    stack = LocalStack(options)
    info = stack.start()
    try:
        report.start_to_healthy_s = info.ready_s["proxy"]
        proxy = stack.proxies[0]
        container = proxy.argv[proxy.argv.index("--name") + 1]
        _health_checks(reference, container, info.proxy_url)
        headers = {"Authorization": f"Bearer {info.master_key}"}
        body = {"model": "claude-primary", "messages": [{"role": "user", "content": "smoke test"}]}
        started = time.monotonic()
        answer = httpx.post(f"{info.proxy_url}/v1/chat/completions", json=body, headers=headers, timeout=120)
        report.chat_s = round(time.monotonic() - started, 2)
        if answer.status_code != 200 or "smoke test" not in answer.json()["choices"][0]["message"]["content"]:
            raise ImageBuildError(f"{reference}: chat request answered {answer.status_code}: {answer.text[:500]}")
        report.emf_records = _emf_records(proxy.log_path, "claude-primary", deadline=time.monotonic() + 30)
        report.sigterm_request_status, report.sigterm_to_exit_s, report.exit_code = _sigterm_mid_request(
            info, proxy, headers
        )
        if workers > 1:
            _check_workers(stack, info, workers, report)
    finally:
        stack.stop()
    return report


def _health_checks(reference: str, container: str, url: str) -> None:
    """Infra's container health check (``podman exec`` of its exact command) and the ALB's path answer."""
    port = int(url.rsplit(":", 1)[1])
    exec_code = subprocess.run(
        ["podman", "exec", container, *health_check_command(port=port)],
        env=podman_.environment(), capture_output=True, check=False,
    ).returncode  # fmt: skip
    if exec_code != 0:
        raise ImageBuildError(f"{reference}: infra's container health check failed inside {container}")
    if httpx.get(f"{url}{HEALTH_PATH}", timeout=10).status_code != 200:
        raise ImageBuildError(f"{reference}: {HEALTH_PATH} (the ALB's health check) did not answer 200 in {container}")


def _check_workers(stack: LocalStack, info: StackInfo, workers: int, report: SmokeReport) -> None:
    """Check 5: a container with ``workers`` uvicorn workers serves, passes the health checks and stops cleanly."""
    started = time.monotonic()
    report.workers = workers
    proxy = stack.start_proxy(workers=workers)
    report.workers_start_to_healthy_s = round(time.monotonic() - started, 1)
    container, url = proxy.container or "", proxy.url or ""
    deadline = time.monotonic() + stack.options.startup_timeout_s
    # The health route answers once the first worker serves; every worker must start, none be respawned.
    while proxy.log_path.read_text(encoding="utf-8", errors="replace").count("Application startup complete") < workers:
        if time.monotonic() > deadline:
            raise ImageBuildError(f"{container}: not all {workers} workers started; its log ends:\n{proxy.log_tail()}")
        time.sleep(0.5)
    report.workers_all_started_s = round(time.monotonic() - started, 1)
    respawned = re.findall(RESPAWNED, proxy.log_path.read_text(encoding="utf-8", errors="replace"))
    if respawned:
        raise ImageBuildError(
            f"{container}: uvicorn killed and respawned {len(respawned)} workers while they started (each must answer "
            "its ping within TIMEOUT_WORKER_HEALTHCHECK seconds: the image sets it, see the Containerfile)"
        )
    spawned = {hpid: args for hpid, args in _container_processes(container).items() if WORKER_MARK in args}
    report.workers_running = len(spawned)
    if len(spawned) != workers:
        raise ImageBuildError(f"{container}: NUM_WORKERS={workers}, but it runs {len(spawned)} workers: {spawned}")
    everything = _container_processes(container)
    _health_checks(stack.options.gateway_image or "", container, url)
    headers = {"Authorization": f"Bearer {info.master_key}"}
    for index in range(4 * workers):
        body = {"model": "claude-primary", "messages": [{"role": "user", "content": f"worker check {index}"}]}
        answer = httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=120)
        if (
            answer.status_code != 200
            or f"worker check {index}" not in answer.json()["choices"][0]["message"]["content"]
        ):
            raise ImageBuildError(f"{container}: request {index} answered {answer.status_code}: {answer.text[:500]}")
        report.workers_requests += 1
    status, exited, code = _sigterm_mid_request(info, proxy, headers)
    report.workers_sigterm_request_status, report.workers_sigterm_to_exit_s, report.workers_exit_code = (
        status, exited, code
    )  # fmt: skip
    left = [f"{hpid} {args}" for hpid, args in everything.items() if _running(hpid)]
    if left:
        raise ImageBuildError(f"{container} is gone but processes it ran are not: {left}")
    report.workers_check_s = round(time.monotonic() - started, 1)


def _container_processes(container: str) -> dict[int, str]:
    """Host pid -> command line of every process in the container (``podman top``)."""
    listed = podman_.podman("top", container, "hpid", "args")
    rows = [line.split(None, 1) for line in listed.splitlines()[1:] if line.strip()]
    return {int(row[0]): row[1] if len(row) > 1 else "" for row in rows}


def _running(pid: int) -> bool:
    """Whether host pid ``pid`` is a live process (a zombie, or a pid nobody holds, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _emf_records(log: Path, model_group: str, *, deadline: float) -> int:
    """How many EMF records for ``model_group`` the container printed (waits for the first)."""
    while True:
        records = [
            line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.startswith('{"_aws"') and f'"ModelGroup":"{model_group}"' in line
        ]  # fmt: skip
        if records or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not records:
        raise ImageBuildError(f"no metrics-callback EMF record for {model_group} in the container's stdout ({log})")
    return len(records)


def _sigterm_mid_request(info: StackInfo, proxy: ManagedProcess, headers: dict[str, str]) -> tuple[int, float, int]:
    """A request that takes SLOW_REQUEST_MS; SIGTERM half-way; its status, the seconds to exit, the exit code."""
    container, model_id = proxy.container or "", info.model_ids["claude-fast"][0]
    faults = f"{info.emulator_url}/_emulator/faults/{model_id}"
    httpx.put(faults, json={"latency_ms": SLOW_REQUEST_MS}, timeout=10)
    outcome: dict[str, int] = {}

    def call() -> None:
        body = {"model": "claude-fast", "messages": [{"role": "user", "content": "in flight"}]}
        try:
            outcome["status"] = httpx.post(
                f"{proxy.url}/v1/chat/completions", json=body, headers=headers, timeout=60
            ).status_code
        except httpx.HTTPError:
            outcome["status"] = 0

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(SLOW_REQUEST_MS / 2000)
    signalled = time.monotonic()
    podman_.podman("kill", "--signal", "TERM", container)
    while _exists(container) and time.monotonic() - signalled < 120:  # --rm: gone once it exited
        time.sleep(0.2)
    exited = round(time.monotonic() - signalled, 2)
    caller.join(timeout=60)
    httpx.delete(faults, timeout=10)
    status = outcome.get("status", 0)
    if status != 200:
        raise ImageBuildError(f"{container}: the request in flight at SIGTERM got {status or 'no answer'}, not 200")
    code = _exit_code(proxy)
    if code not in CLEAN_EXITS:
        raise ImageBuildError(f"{container} exited {code} after SIGTERM, not {' or '.join(map(str, CLEAN_EXITS))}")
    return status, exited, code


def _exit_code(proxy: ManagedProcess) -> int:
    """The container's exit code: its ``podman run`` client exits with it (-1 when it did not exit in 60 s)."""
    if proxy.process is None:
        return -1
    try:
        return proxy.process.wait(60)
    except subprocess.TimeoutExpired:
        return -1


def _exists(container: str) -> bool:
    done = subprocess.run(["podman", "container", "exists", container], env=podman_.environment(), check=False)
    return done.returncode == 0


def free_port() -> int:
    """A port nothing listens on now, on loopback."""
    import socket  # noqa: PLC0415 -- only here

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
