"""Child processes of the stack: started in their own process group, stopped with everything below.

Each child gets its own session (``start_new_session``), so stopping it signals the whole group:
a proxy's workers or Phoenix's children cannot outlive the stack.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from bedrockgate.local_stack.exceptions import StartupError

HealthCheck = Callable[[], bool]
_POLL_S = 0.1
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
    """Healthy when ``url`` answers 200."""

    def check() -> bool:
        try:
            return httpx.get(url, headers=dict(headers or {}), timeout=2.0).status_code == 200
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

    def start(self) -> None:
        """Start it, output to its log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 -- fixed argv built by the stack, no shell
                list(self.argv),
                env=dict(self.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

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
        if self.process is None:
            return
        stop_group(self.process.pid, timeout, wait=self.process.wait)
        if self.after_stop is not None:
            self.after_stop()

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of its log (for errors)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def stop_group(pgid: int, timeout: float, wait: Callable[[float], object] | None = None) -> None:
    """Stop a process group politely, then firmly; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    if wait is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            wait(timeout)
    while time.monotonic() < deadline and group_alive(pgid):
        time.sleep(_POLL_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    if wait is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            wait(timeout)


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is left."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
