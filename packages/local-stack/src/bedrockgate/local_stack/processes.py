"""Child processes of the stack: started in their own process group, stopped with everything below.

Each child gets its own session (``start_new_session``), so stopping it signals the whole group:
a proxy's workers or Phoenix's children cannot outlive the stack. Each child also dies with its
parent, whatever the parent dies of: on Linux the kernel sends it SIGKILL when the parent goes
(``PR_SET_PDEATHSIG``, armed between fork and exec), and the lifeline (``lifeline.py``) stops its
group and container. A detached stack's children skip the first: they are meant to outlive ``up``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import httpx
from bedrockgate.local_stack.exceptions import LifelineError, StartupError

if TYPE_CHECKING:
    from bedrockgate.local_stack.lifeline import Lifeline

HealthCheck = Callable[[], bool]
STOP_SIGNALS: Final = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
"""What stops ``bedrockgate-local-stack up``: Ctrl-C, ``kill``, a closed terminal."""
_PR_SET_PDEATHSIG: Final = 1  # <linux/prctl.h>
_LIBC: Final = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_POLL_S = 0.1
_PROC: Final = Path("/proc")
_LOG_TAIL_LINES = 25


def free_port() -> int:
    """A port nothing listens on now, on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether ``port`` on loopback can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def http_ok(url: str, headers: Mapping[str, str] | None = None) -> HealthCheck:
    """Healthy when ``url`` answers 200.

    One client for every poll: ``httpx.get`` builds a client, and its TLS context, per call (about
    40 ms of CPU), which at 10 polls a second took a third of a core from the proxy starting beside it.
    No keep-alive, so no idle connection of ours is open on the server when it is stopped.
    """
    client = httpx.Client(timeout=2.0, headers=dict(headers or {}), limits=httpx.Limits(max_keepalive_connections=0))

    def check() -> bool:
        try:
            return client.get(url).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def redis_ok(port: int, password: str) -> HealthCheck:
    """Healthy when Redis answers AUTH and PING (a raw RESP exchange: no client library needed)."""

    def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
                sock.sendall(f"AUTH {password}\r\nPING\r\n".encode())
                reply = b""
                while b"PONG" not in reply and len(reply) < 256:
                    chunk = sock.recv(256)
                    if not chunk:
                        break
                    reply += chunk
                return b"+OK" in reply and b"+PONG" in reply
        except OSError:
            return False

    return check


@dataclass
class ManagedProcess:
    """One child of the stack, its log file and how to tell it is healthy."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    health: HealthCheck
    url: str | None = None
    after_stop: Callable[[], None] | None = None
    """Run once the process is gone (e.g. remove a container its podman process left behind)."""
    container: str | None = None
    """The podman container this process runs, if any."""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    lifeline: Lifeline | None = field(default=None, repr=False)

    def start(self, lifeline: Lifeline | None = None, *, outlive_parent: bool = False) -> None:
        """Start it, output to its log file, tied to this process unless ``outlive_parent``.

        The stop signals are held from before the fork until the lifeline knows the child, so a
        stop request cannot fall in between and leave a child nobody stops.
        """
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log, signals_held() as mask:
            if lifeline is not None and self.container is not None:
                lifeline.watch_container(self.container)  # before podman runs: it may die creating it
            self.process = subprocess.Popen(  # noqa: S603 -- fixed argv built by the stack, no shell
                list(self.argv),
                env=dict(self.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_child_setup(mask, None if outlive_parent else os.getpid()),  # noqa: PLW1509 -- safe here
            )
            if lifeline is not None:
                lifeline.watch_group(self.process.pid)
                self.lifeline = lifeline

    @property
    def pid(self) -> int | None:
        """The child's pid (also its process group id)."""
        return None if self.process is None else self.process.pid

    def wait_healthy(self, deadline: float) -> float:
        """Poll the health check until it passes; the seconds it took. Raises if it dies or times out."""
        started = time.monotonic()
        while True:
            if self.health():
                return time.monotonic() - started
            if self.process is not None and self.process.poll() is not None:
                raise StartupError(
                    f"{self.name} exited with code {self.process.returncode} before it was healthy; "
                    f"its log ({self.log_path}) ends with:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise StartupError(
                    f"{self.name} was not healthy in time; its log ({self.log_path}) ends with:\n{self.log_tail()}"
                )
            time.sleep(_POLL_S)

    def alive(self) -> bool:
        """Whether it is still running."""
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM its process group, then SIGKILL what is left after ``timeout`` seconds."""
        stop_processes([self], timeout)

    def _stopped(self) -> None:
        """Its group is gone: clean up after it, and tell the lifeline never to signal its pid again."""
        if self.after_stop is not None:
            self.after_stop()
        if self.process is not None and self.lifeline is not None and self.lifeline.pipe is not None:
            with contextlib.suppress(LifelineError):  # a watcher already gone has nothing to forget
                self.lifeline.forget_group(self.process.pid)
                if self.container is not None:
                    self.lifeline.forget_container(self.container)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of its log (for errors)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def stop_processes(processes: Sequence[ManagedProcess], timeout: float) -> None:
    """Stop several children at once: one grace period for all of them, not one after another."""
    started = [(p, p.process) for p in processes if p.process is not None]

    def reap(limit: float) -> None:
        deadline = time.monotonic() + limit
        for _, child in started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(max(0.0, deadline - time.monotonic()))

    stop_groups([child.pid for _, child in started], timeout, wait=reap)
    for process, _ in started:
        process._stopped()


def stop_group(pgid: int, timeout: float, wait: Callable[[float], object] | None = None) -> None:
    """Stop a process group politely, then firmly; a group already gone is fine."""
    stop_groups([pgid], timeout, wait)


def stop_groups(pgids: Collection[int], timeout: float, wait: Callable[[float], object] | None = None) -> None:
    """SIGTERM every group, SIGKILL what is left after ``timeout`` seconds (``wait`` reaps our own child)."""
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    if wait is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            wait(timeout)
    while time.monotonic() < deadline and any(group_alive(pgid) for pgid in pgids):
        time.sleep(_POLL_S)
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    if wait is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            wait(timeout)


@contextlib.contextmanager
def signals_held() -> Iterator[set[int | signal.Signals]]:
    """Hold the stop signals (they wait, pending) inside the block; yields the mask to restore in children."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield previous
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _child_setup(mask: set[int | signal.Signals], parent: int | None) -> Callable[[], None]:
    """What the child runs between fork and exec: the parent's usual signal mask and, if tied, the death signal.

    ``preexec_fn`` is unsafe only with threads that hold locks at the fork; this calls nothing
    that takes one (the libc handle and the mask are made before). The signal fires when the
    *thread* that forked the child exits: start the stack from the thread that lives as long.
    """

    def setup() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if parent is not None and _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if os.getppid() != parent:  # the parent died before the signal was armed
                os.kill(os.getpid(), signal.SIGKILL)

    return setup


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is left, zombies not counted.

    A zombie is dead and only waits for init to reap it. A proxy with several workers leaves one:
    multiprocessing's resource tracker outlives the supervisor by an instant and is reparented to
    init, which may reap it seconds later; counting it made every stop wait out its whole grace.
    """
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    members = group_members(pgid)
    return members is None or bool(members)


def group_members(pgid: int) -> list[int] | None:
    """The pids of the group's processes that are not zombies (from ``/proc``); None without ``/proc``."""
    if not _PROC.is_dir():
        return None
    members = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text(encoding="ascii", errors="replace")
            fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, pgrp, ...
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
        except (OSError, ValueError, IndexError):  # gone meanwhile (an empty read)
            continue
    return members
