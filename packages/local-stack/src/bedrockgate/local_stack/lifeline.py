"""The lifeline: a watcher process that stops the stack when the process that started it dies, however it dies.

The kernel's parent-death signal (``processes.py``) kills each direct child when its parent goes, but
nothing below it: not a child's own children, and not a proxy container, which podman's conmon keeps
running after the ``podman run`` client is killed. So the stack also starts this watcher first, in a
session of its own (a closed terminal's SIGHUP does not reach it). It holds the read end of a pipe
whose only write end is the parent's; the parent tells it each process group and container as it
starts them. End of file without ``release`` means the parent is gone: the watcher stops every group
(SIGTERM, then SIGKILL) and removes every container, then exits. A clean stop, or ``--detach`` once
the stack is up, sends ``release`` and the watcher exits touching nothing.

Hand-written because no kept tool covers it: ``podman run --rm`` removes a container only once it
has exited, systemd scopes need a user systemd (absent in containers and CI) and do not follow a
parent's death, and a parent-death signal stops one process, not a group or a container.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

from bedrockgate.local_stack.containers import remove_container
from bedrockgate.local_stack.exceptions import LifelineError
from bedrockgate.local_stack.processes import stop_groups

RELEASE: Final = "release"
WATCHER: Final = "import sys; from bedrockgate.local_stack.lifeline import main; sys.exit(main())"
"""The watcher's ``python -c`` (``-m`` would import this module twice: the package's ``__init__`` imports it)."""
_KINDS: Final = ("group", "container")
GRACE_S: Final = 5.0
"""Seconds the groups get to exit on SIGTERM before SIGKILL."""


def message(verb: str, kind: str, value: int | str) -> str:
    """One protocol line: ``watch|forget group|container VALUE``; container names have no whitespace."""
    text = str(value)
    if verb not in ("watch", "forget") or kind not in _KINDS or not text or any(c.isspace() for c in text):
        raise LifelineError(f"cannot send {verb!r} {kind!r} {text!r} to the lifeline: not a valid message")
    return f"{verb} {kind} {text}\n"


@dataclass
class Watched:
    """What the watcher will stop if the parent dies: the state the protocol's lines build up."""

    groups: set[int] = field(default_factory=set)
    containers: set[str] = field(default_factory=set)
    released: bool = False

    def apply(self, line: str) -> None:
        """Apply one line; a malformed one is ignored (the parent sends only ``message``'s lines)."""
        parts = line.split()
        if parts == [RELEASE]:
            self.released = True
            return
        if len(parts) != 3 or parts[0] not in ("watch", "forget"):
            return
        verb, kind, value = parts
        if kind == "group" and value.isdigit():
            (self.groups.add if verb == "watch" else self.groups.discard)(int(value))
        elif kind == "container":
            (self.containers.add if verb == "watch" else self.containers.discard)(value)


def watch(lines: IO[str]) -> Watched:
    """Read the parent's lines until it releases the stack or dies (end of file); then stop what is watched."""
    watched = Watched()
    for line in lines:
        watched.apply(line)
        if watched.released:
            return watched
    stop_groups(sorted(watched.groups), GRACE_S)
    for name in sorted(watched.containers):
        remove_container(name)
    return watched


class Lifeline:
    """The parent's end: start the watcher, tell it what to stop, release it."""

    def __init__(self, log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 -- this interpreter and a fixed script
                [sys.executable, "-c", WATCHER],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                text=True,
            )
        self.pipe: IO[str] | None = self.process.stdin

    def send(self, line: str) -> None:
        """Send one line now (a line buffered in this process would die with it)."""
        if self.pipe is None:
            raise LifelineError("the lifeline was released: start the stack again to watch new processes")
        try:
            self.pipe.write(line)
            self.pipe.flush()
        except OSError as error:
            raise LifelineError(
                f"the lifeline watcher (pid {self.process.pid}) is gone ({error}); "
                "nothing would stop the stack if this process died: stop it and start it again"
            ) from error

    def watch_group(self, pgid: int) -> None:
        """Stop this process group if the parent dies."""
        self.send(message("watch", "group", pgid))

    def forget_group(self, pgid: int) -> None:
        """The group was stopped: never signal its id again (it may be reused)."""
        self.send(message("forget", "group", pgid))

    def watch_container(self, name: str) -> None:
        """Remove this podman container if the parent dies."""
        self.send(message("watch", "container", name))

    def forget_container(self, name: str) -> None:
        """The container was removed."""
        self.send(message("forget", "container", name))

    def release(self, timeout: float = 10.0) -> None:
        """Let the watcher go without stopping anything (the stack was stopped, or is detached)."""
        if self.pipe is None:
            return
        with contextlib.suppress(OSError):
            self.pipe.write(RELEASE + "\n")
            self.pipe.flush()
        with contextlib.suppress(OSError):
            self.pipe.close()
        self.pipe = None
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def main() -> int:
    """The watcher (``WATCHER``), with the lifeline pipe as stdin."""
    watched = watch(sys.stdin)
    if not watched.released:
        print(f"lifeline: the parent died; stopped groups {sorted(watched.groups)}, "
              f"containers {sorted(watched.containers)}", flush=True)  # fmt: skip
    return 0
