"""Nothing of the stack outlives ``bedrockgate-local-stack up``: stop signals at any moment, the lifeline, parent death.

The full matrix (4 signals x 3 phases, Phoenix on, the image mode too) is ``nox -s stack_signals``;
here run two of its cases (the quick ones: scripted models, no Phoenix) and the parts' properties.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bedrockgate.local_stack.exceptions import LifelineError, StopRequested
from bedrockgate.local_stack.interrupts import Interrupts
from bedrockgate.local_stack.lifeline import Lifeline, Watched, message
from bedrockgate.local_stack.processes import STOP_SIGNALS, ManagedProcess, group_alive, group_members
from hypothesis import given, settings
from hypothesis import strategies as st
from local_stack_helpers import require_binaries
from stack_signals import SETTLE_S, run_case

NAMES = st.from_regex(r"[a-z][a-z0-9_.-]{0,30}", fullmatch=True)
OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["watch", "forget"]), st.one_of(st.integers(1, 4_194_304), NAMES)), max_size=30
)


@settings(max_examples=200)
@given(operations=OPERATIONS, release=st.booleans())
def test_the_watcher_stops_exactly_what_was_watched_and_not_forgotten(
    operations: list[tuple[str, int | str]], release: bool
) -> None:
    watched, groups, names = Watched(), set[int](), set[str]()
    for verb, value in operations:
        watched.apply(message(verb, "group" if isinstance(value, int) else "container", value))
        if isinstance(value, int):
            (groups.add if verb == "watch" else groups.discard)(value)
        else:
            (names.add if verb == "watch" else names.discard)(value)
    if release:
        watched.apply("release\n")
    assert (watched.groups, watched.containers, watched.released) == (groups, names, release)


@settings(max_examples=200)
@given(value=st.text(min_size=1, max_size=20).filter(lambda t: any(c.isspace() for c in t)))
def test_a_value_that_would_break_the_line_protocol_is_refused(value: str) -> None:
    with pytest.raises(LifelineError, match="not a valid message"):
        message("watch", "container", value)


@settings(max_examples=200)
@given(
    signals=st.lists(st.sampled_from(sorted(STOP_SIGNALS)), min_size=1, max_size=10),
    shield_at=st.integers(0, 10),
)
def test_only_the_first_stop_signal_raises_and_none_once_shielded(signals: list[int], shield_at: int) -> None:
    interrupts, raised = Interrupts(), []
    for index, signum in enumerate(signals):
        if index == shield_at:
            interrupts.shield()
        try:
            interrupts.handle(signum)
        except StopRequested as stop:
            raised.append(stop.signum)
    assert interrupts.received == signals
    assert raised == ([signals[0]] if shield_at > 0 else [])


def _sleeper(tmp_path: Path, name: str) -> ManagedProcess:
    """A group of two sleepers: the leader and a child the parent-death signal alone would not reach."""
    return ManagedProcess(
        name=name, argv=["sh", "-c", "sleep 60 & sleep 60"], env=dict(os.environ),
        log_path=tmp_path / f"{name}.log", health=lambda: True,
    )  # fmt: skip


def _gone_within(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return True
        time.sleep(0.1)
    return False


def test_the_lifeline_stops_the_whole_group_when_its_parent_end_closes(tmp_path: Path) -> None:
    process, lifeline = _sleeper(tmp_path, "lost"), Lifeline(tmp_path / "lifeline.log")
    process.start(lifeline)
    assert process.pid is not None
    assert lifeline.pipe is not None
    lifeline.pipe.close()  # what the kernel does to the parent's end when the parent dies
    assert process.process is not None
    process.process.wait(10)  # reap the leader: a dead parent's children are reaped by init
    assert _gone_within(process.pid, 10), "the lifeline left the group running after its parent's end closed"
    lifeline.process.wait(10)


def test_a_released_lifeline_lets_the_group_run(tmp_path: Path) -> None:
    process, lifeline = _sleeper(tmp_path, "kept"), Lifeline(tmp_path / "lifeline.log")
    process.start(lifeline, outlive_parent=True)
    assert process.pid is not None
    lifeline.release()
    assert lifeline.process.returncode == 0
    assert group_alive(process.pid), "a released lifeline stopped a group it should have let go"
    process.stop(timeout=5)


def test_a_child_dies_with_its_parent_even_when_the_parent_is_killed_outright(tmp_path: Path) -> None:
    script = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from bedrockgate.local_stack.processes import ManagedProcess\n"
        "p = ManagedProcess(name='c', argv=['sleep', '60'], env=dict(os.environ),"
        " log_path=Path(sys.argv[1]), health=lambda: True)\n"
        "p.start()\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "c.log")], stdout=subprocess.PIPE, text=True
    ) as parent:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        parent.kill()
    assert _gone_within(child, 5), "the parent-death signal did not reach the child"


def test_sigterm_while_starting_stops_everything_up_started(tmp_path: Path) -> None:
    require_binaries()
    result = run_case(signal.SIGTERM, "starting", tmp_path)
    assert result.clean, f"left after {SETTLE_S} s: {result.leftovers}"
    assert result.exit_code == 128 + signal.SIGTERM


def test_sigkill_while_serving_leaves_nothing_of_the_stack(tmp_path: Path) -> None:
    require_binaries()
    result = run_case(signal.SIGKILL, "serving", tmp_path)
    assert result.clean, f"left after {SETTLE_S} s: {result.leftovers}"
    assert result.exit_code == -signal.SIGKILL


def test_a_zombie_is_not_a_process_left_in_its_group() -> None:
    child = subprocess.Popen(["true"], start_new_session=True)  # noqa: S607 -- coreutils from PATH
    try:
        deadline = time.monotonic() + 30
        while child.pid in (group_members(child.pid) or []) and time.monotonic() < deadline:
            time.sleep(0.05)  # exited, not reaped (no wait yet): a zombie, still in its group for kill(2)
        assert Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1].startswith("Z")
        assert not group_alive(child.pid)
    finally:
        child.wait(10)
