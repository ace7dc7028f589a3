"""The orphan matrix: ``bedrockgate-local-stack up`` stopped by each signal in each phase, and what is left.

``run_case`` starts a real ``up`` (scripted models), waits for the phase, sends the signal to ``up``
alone (as a terminal does: its children are in sessions of their own) and watches for up to 15 s
what it started: every process seen below ``up`` while it ran (by pid and start time, so a reused
pid is not counted), every process whose command line names its state dir or proxy container, and
in image mode the container itself. Nothing else on the machine is looked at or signalled; what a
failing case leaves is killed afterwards, by those same records.

``python stack_signals.py [--image REF] [--no-phoenix]`` runs the 4 x 3 matrix and prints the table
(``nox -s stack_signals``); the package's suite runs two of its cases.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bedrockgate.local_stack.containers import podman_environment
from bedrockgate.local_stack.processes import free_port

PHASES: Final = ("starting", "asking", "serving")
SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL)
SETTLE_S: Final = 15.0
_ASK_LATENCY_MS: Final = 30_000  # keeps the first question in flight for the "asking" phase
_PROC: Final = Path("/proc")

Ident = tuple[int, int]  # (pid, start time in clock ticks): a pid the kernel reuses is another process


@dataclass(frozen=True)
class CaseResult:
    """One cell of the matrix."""

    signal: str
    phase: str
    exit_code: int | None
    processes: int
    containers: int
    clean_s: float | None
    leftovers: tuple[str, ...]

    @property
    def clean(self) -> bool:
        """Nothing of the stack left once it settled."""
        return self.processes == 0 and self.containers == 0


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, start time, state) of a process, None when it is gone."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    return int(fields[1]), int(fields[19]), fields[0]


def _pids() -> list[int]:
    return [int(entry.name) for entry in _PROC.iterdir() if entry.name.isdigit()]


def descendants(root: int) -> set[Ident]:
    """``root`` and every process below it now."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for pid in _pids():
        stat = _stat(pid)
        if stat is not None:
            children.setdefault(stat[0], []).append(pid)
            starts[pid] = stat[1]
    found, queue = set(), [root]
    while queue:
        pid = queue.pop()
        if pid in starts:
            found.add((pid, starts[pid]))
            queue.extend(children.get(pid, []))
    return found


def _alive(ident: Ident) -> bool:
    stat = _stat(ident[0])
    return stat is not None and stat[1] == ident[1] and stat[2] not in ("Z", "X")


def _cmdline(pid: int) -> str:
    try:
        return (_PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def naming(marks: tuple[str, ...]) -> set[Ident]:
    """Live processes whose command line contains one of ``marks`` (never this process)."""
    found = set()
    for pid in _pids():
        stat = _stat(pid)
        if pid != os.getpid() and stat is not None and stat[2] != "Z" and any(m in _cmdline(pid) for m in marks):
            found.add((pid, stat[1]))
    return found


def containers(name: str) -> list[str]:
    """Podman containers (running or not) named exactly ``name``; none when podman is not installed."""
    try:
        listed = subprocess.run(
            ["podman", "ps", "--all", "--format", "{{.Names}}", "--filter", f"name=^{name}$"],  # noqa: S607
            env=podman_environment(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        return []
    return [line for line in listed.stdout.split() if line == name]


def _wait_for_phase(phase: str, up: subprocess.Popen[bytes], out: Path, state: Path, seen: set[Ident]) -> None:
    """Poll until ``up`` is in ``phase``, recording its descendants all along."""
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        seen |= descendants(up.pid)
        text = out.read_text(errors="replace") if out.exists() else ""
        if up.poll() is not None:
            raise AssertionError(f"up exited ({up.returncode}) before {phase}:\n{text[-3000:]}")
        if phase == "starting" and (state / "logs" / "proxy.log").exists():
            return
        if phase == "asking" and "Ctrl-C stops everything." in text:
            time.sleep(1.0)  # the question is asked right after the banner; it takes _ASK_LATENCY_MS
            return
        if phase == "serving" and "  -> " in text:
            time.sleep(0.5)
            return
        time.sleep(0.1)
    raise AssertionError(f"up did not reach {phase} in 400 s")


def run_case(
    signum: signal.Signals, phase: str, workdir: Path, *, image: str | None = None, phoenix: bool = False
) -> CaseResult:
    """Start ``up``, send ``signum`` in ``phase``, and count what of its stack is left within SETTLE_S."""
    port, state, out = free_port(), workdir / "state", workdir / "up.out"
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "bedrockgate.local_stack.cli", "up", "--backend", "scripted",
            "--port", str(port), "--state-dir", str(state), "--timeout", "300"]  # fmt: skip
    if not phoenix:
        argv.append("--no-phoenix")
    if image is not None:
        argv += ["--gateway", f"image={image}"]
    if phase == "asking":
        settings = workdir / "slow.yaml"
        settings.write_text(
            "rules:\n  - {match: '*embed*', backend: scripted-embedding}\n  - {match: '*', backend: scripted}\n"
            f"scripted_latency_ms: {_ASK_LATENCY_MS}\n",
            encoding="utf-8",
        )
        argv += ["--emulator-settings", str(settings)]
    container = f"bedrockgate-proxy-{port}"
    env = os.environ | {"LITELLM_MASTER_KEY": "sk-signal-matrix", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    seen: set[Ident] = set()
    with out.open("wb") as output:
        up = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        _wait_for_phase(phase, up, out, state, seen)
        seen |= descendants(up.pid)
        os.kill(up.pid, signum)
        sent = time.monotonic()
        marks = (str(state), container)
        left: set[Ident] = set()
        boxes: list[str] = []
        clean_s = None
        while time.monotonic() - sent < SETTLE_S:
            up.poll()
            seen |= descendants(up.pid) if up.returncode is None else set()
            left = {i for i in seen if _alive(i)} | naming(marks)
            boxes = containers(container) if image is not None else []
            if not left and not boxes:
                clean_s = round(time.monotonic() - sent, 1)
                break
            time.sleep(0.2)
        leftovers = tuple(sorted(f"{pid} {_cmdline(pid)[:100]}" for pid, _ in left)) + tuple(boxes)
        return CaseResult(signum.name, phase, up.poll(), len(left), len(boxes), clean_s, leftovers)
    finally:
        _clean_up(up, seen | naming((str(state), container)), container if image else None)


def _clean_up(up: subprocess.Popen[bytes], seen: set[Ident], container: str | None) -> None:
    """Kill what a case left (only the processes recorded for it) and remove its container."""
    for ident in seen:
        if _alive(ident):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(ident[0], signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        up.wait(30)
    if container is not None:
        subprocess.run(
            ["podman", "rm", "--force", "--ignore", container],  # noqa: S607
            env=podman_environment(), capture_output=True, timeout=60, check=False,
        )  # fmt: skip


def table(results: list[CaseResult], title: str) -> str:
    """The matrix as text: signal x phase -> exit code, leftovers, seconds until clean."""
    lines = [title, f"{'signal':<8} {'phase':<9} {'exit':>5} {'processes':>9} {'containers':>10} {'clean after':>11}"]
    for r in results:
        clean = f"{r.clean_s:.1f} s" if r.clean_s is not None else f"> {SETTLE_S:.0f} s"
        lines.append(f"{r.signal:<8} {r.phase:<9} {r.exit_code!s:>5} {r.processes:>9} {r.containers:>10} {clean:>11}")
        lines += [f"    left: {leftover}" for leftover in r.leftovers]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the matrix (once per mode asked for), print the tables; 1 if any cell left something."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--image", default=None, help="also run the matrix with the proxy from this gateway image")
    parser.add_argument("--no-phoenix", action="store_true", help="leave Phoenix out (faster)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/stack-signals"))  # noqa: S108 -- a scratch dir
    args = parser.parse_args(argv)
    modes: list[str | None] = [None, *([args.image] if args.image else [])]
    failed = False
    for image in modes:
        results = []
        for signum in SIGNALS:
            for phase in PHASES:
                workdir = args.workdir / ("image" if image else "venv") / f"{signum.name}-{phase}"
                result = run_case(signum, phase, workdir, image=image, phoenix=not args.no_phoenix)
                print(f"  {result.signal} {result.phase}: {result.processes} processes, "
                      f"{result.containers} containers left, clean after {result.clean_s} s", flush=True)  # fmt: skip
                results.append(result)
        mode = f"proxy from the image {image}" if image else "proxy from the venv"
        phoenix = "off" if args.no_phoenix else "on"
        print(table(results, f"\nbedrockgate-local-stack up, {mode}, Phoenix {phoenix}:"), flush=True)
        failed = failed or not all(r.clean for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
