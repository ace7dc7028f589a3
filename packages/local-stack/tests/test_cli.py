"""The ``local-stack`` command as a user runs it: errors that say what to do, and up/down leaving nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from bedrockgate.local_stack.cli import banner, main
from bedrockgate.local_stack.exceptions import StackConfigError
from bedrockgate.local_stack.processes import ManagedProcess, free_port, group_alive, group_members
from bedrockgate.local_stack.stack import StackInfo, proxy_workers
from hypothesis import given, settings
from hypothesis import strategies as st
from local_stack_helpers import require_binaries
from stack_signals import descendants

COUNTS = st.one_of(st.integers(-2, 9).map(str), st.sampled_from(["", "+2", " 2", "2.0", "two", "\u0663"]))


def test_down_without_a_running_stack_says_how_to_start_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["down", "--state-dir", str(tmp_path)]) == 1
    assert "start one with `bedrockgate-local-stack up`" in capsys.readouterr().err


def test_up_with_an_invalid_config_names_the_problem_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("model_list:\n  - model_name: m\n    litellm_params:\n      model: bedrock/x\n      tpm: -1\n")
    code = main(["up", "--config", str(config), "--port", str(free_port()), "--state-dir", str(tmp_path / "s")])
    assert code == 1
    assert "c.yaml:5: model_list.0.litellm_params.tpm" in capsys.readouterr().err
    assert not (tmp_path / "s" / "logs").exists()


def test_up_on_a_busy_port_says_which_and_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["up", "--port", str(port), "--state-dir", str(tmp_path)]) == 1
    assert f"port {port} is in use" in capsys.readouterr().err


def test_the_banner_has_everything_to_paste() -> None:
    info = StackInfo(
        proxy_url="http://127.0.0.1:4000", master_key="sk-local-abc", emulator_url="http://127.0.0.1:5000",
        redis_port=None, phoenix_url=None, state_dir="/s", pids={}, startup_s=12.3,
        model_ids={"claude-primary": ["anthropic.claude-3-5-sonnet-20240620-v1:0"]}, notes=["n1"],
    )  # fmt: skip
    text = banner(info)
    assert "healthy in 12.3 s" in text
    assert "curl -s http://127.0.0.1:4000/v1/chat/completions -H 'Authorization: Bearer sk-local-abc'" in text
    assert 'OpenAI(base_url="http://127.0.0.1:4000/v1", api_key="sk-local-abc")' in text
    assert '"model": "claude-primary"' in text
    assert "note: n1" in text
    assert "worker processes" not in text
    assert "/v1), 2 worker processes" in banner(dataclasses.replace(info, workers=2))


def test_stopping_a_process_stops_its_children_too(tmp_path: Path) -> None:
    process = ManagedProcess(
        name="sleeper", argv=["sh", "-c", "sleep 60 & sleep 60"], env=dict(os.environ),
        log_path=tmp_path / "sleeper.log", health=lambda: True,
    )  # fmt: skip
    process.start()
    assert process.pid is not None
    assert group_alive(process.pid)
    process.stop(timeout=5)
    assert not group_alive(process.pid)


def test_up_detached_with_two_workers_then_down_leaves_nothing_running(tmp_path: Path) -> None:
    """``up --workers 2``: both workers start and serve, the health route answers, ``down`` stops the whole group."""
    require_binaries()
    port, state = free_port(), tmp_path / "state"
    command = [sys.executable, "-m", "bedrockgate.local_stack.cli"]
    env = {**os.environ, "LITELLM_MASTER_KEY": "sk-cli-test"}
    up = subprocess.run(
        [*command, "up", "--detach", "--backend", "scripted", "--no-phoenix", "--port", str(port),
         "--state-dir", str(state), "--timeout", "300", "--workers", "2"],
        capture_output=True, text=True, env=env, timeout=400, check=False,
    )  # fmt: skip
    assert up.returncode == 0, up.stdout + up.stderr
    assert "healthy in" in up.stdout
    assert "2 worker processes" in up.stdout
    workers: set[tuple[int, int]] = set()
    try:
        status = subprocess.run([*command, "status", "--state-dir", str(state)], capture_output=True, text=True,
                                check=True)  # fmt: skip
        shown = json.loads(status.stdout)
        assert "master_key" not in shown
        pids = shown["pids"]
        assert set(pids) == {"emulator", "redis", "proxy"}
        log, deadline = state / "logs" / "proxy.log", time.monotonic() + 300
        while log.read_text(errors="replace").count("Application startup complete") < 2:  # health needs one
            assert time.monotonic() < deadline, "the two workers never both started"
            time.sleep(0.5)
        respawned = re.findall(r"Child process \[\d+\] died", log.read_text(errors="replace"))
        assert not respawned, f"uvicorn killed and respawned {len(respawned)} workers that missed its ping"
        workers = _spawned_workers(pids["proxy"])
        assert len(workers) == 2, f"expected 2 spawned workers below the proxy, found {sorted(workers)}"
        assert {pid for pid, _ in workers} <= set(group_members(pids["proxy"]) or [])
        assert httpx.get(f"http://127.0.0.1:{port}/health/liveliness", timeout=10).status_code == 200
        for index in range(4):
            reply = httpx.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                headers={"Authorization": "Bearer sk-cli-test"},
                json={"model": "claude-fast", "messages": [{"role": "user", "content": f"ping {index}"}]},
                timeout=60,
            )
            assert reply.status_code == 200, reply.text
            assert reply.json()["choices"][0]["message"]["content"].endswith(f"You said: ping {index}")
    finally:
        down = subprocess.run([*command, "down", "--state-dir", str(state)], capture_output=True, text=True,
                              timeout=120, check=False)  # fmt: skip
    assert down.returncode == 0, down.stderr
    assert not any(group_alive(pid) for pid in pids.values())
    assert group_members(pids["proxy"]) == [], "a process of the two-worker proxy's group outlived down"
    assert not [pid for pid, start in workers if _live(pid, start)], "a worker outlived down"
    assert not (state / "state.json").exists()


def _spawned_workers(proxy_pid: int) -> set[tuple[int, int]]:
    """The proxy's uvicorn workers: the processes below it that multiprocessing's spawn started."""
    return {
        (pid, start) for pid, start in descendants(proxy_pid)
        if b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()
    }  # fmt: skip


def _live(pid: int, start: int) -> bool:
    """Whether the process ``pid`` that started at ``start`` (clock ticks) still runs (a zombie does not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return int(fields[19]) == start and fields[0] != "Z"


@settings(max_examples=200)
@given(
    requested=st.one_of(st.none(), st.integers(-2, 9)),
    values=st.lists(st.one_of(st.none(), COUNTS), max_size=3),
)
def test_the_worker_count_is_the_request_else_the_first_num_workers_set_and_bad_ones_are_refused(
    requested: int | None, values: list[str | None]
) -> None:
    environments = [{} if value is None else {"NUM_WORKERS": value} for value in values]
    chosen = next((value for value in values if value), None)  # unset and empty are skipped
    refused = (requested is not None and requested < 1) or (
        requested is None and chosen is not None and not (chosen.isascii() and chosen.isdigit() and int(chosen) > 0)
    )
    if refused:
        with pytest.raises(StackConfigError, match="worker process"):
            proxy_workers(requested, *environments)
        return
    expected = requested if requested is not None else int(chosen) if chosen is not None else 1
    assert proxy_workers(requested, *environments) == expected


def test_up_refuses_a_worker_count_that_is_not_a_whole_number_from_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["up", "--workers", "0"])
    assert exited.value.code == 2
    assert "'0': the number of worker processes, a whole number from 1" in capsys.readouterr().err


def test_more_than_one_worker_without_redis_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "s"
    code = main(["up", "--workers", "2", "--no-redis", "--port", str(free_port()), "--state-dir", str(state)])
    assert code == 1
    assert "2 proxy workers need Redis" in capsys.readouterr().err
    assert not state.exists()
