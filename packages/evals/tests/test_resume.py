"""Resuming: after a kill, a torn write, grown samples or failed questions, only what is missing is asked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bedrockgate.evals.dataset import Question
from bedrockgate.evals.testing import CHAT_MODEL, EMBEDDING_MODEL, FakeOpenAI, Fault, Request, answers_for, run_cli


def run_args(url: str, out: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--endpoint",
        url,
        "--model",
        CHAT_MODEL,
        "--dataset",
        "sample",
        "--seed",
        "7",
        "--out",
        str(out),
        "--progress",
        "none",
        "--backoff",
        "0.001",
        "--no-phoenix",
        *extra,
    ]


def answered_ids(out: Path) -> list[str]:
    lines = (out / "checkpoint.jsonl").read_text(encoding="utf-8").splitlines()[1:]
    return [
        record["id"] for line in lines if (record := json.loads(line))["type"] == "answer" and record["error"] is None
    ]


def test_a_killed_run_resumes_without_asking_again(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    fake = openai_server(answers=answers_for(small_sample), latency_s=0.05)
    out = tmp_path / "run"
    argv = run_args(fake.url, out, "--samples", str(len(small_sample)), "--concurrency", "2")
    process = subprocess.Popen(
        [sys.executable, "-m", "bedrockgate.evals", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            if (out / "checkpoint.jsonl").exists() and len(answered_ids(out)) >= 10:
                break
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL, stderr
    before = answered_ids(out)
    assert 10 <= len(before) < len(small_sample)
    time.sleep(0.2)  # the server finishes (and records) the requests that were in flight at the kill
    requests_before_resume = len(fake.chat_requests())

    code, stdout, _ = run_cli(*argv)
    assert code == 0
    assert "EM 100.00  F1 100.00" in stdout
    by_question = {q.id: q.question for q in small_sample}
    assert all(fake.asked(by_question[identifier]) == 1 for identifier in before)  # never asked again
    asked_in_resume = len(fake.chat_requests()) - requests_before_resume
    assert asked_in_resume == len(small_sample) - len(before)  # exactly the unanswered ones
    in_flight_at_kill = requests_before_resume - len(before)
    assert 0 <= in_flight_at_kill <= 2  # lost with the process: at most the concurrency
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["run"]["reused"] == len(before)
    assert results["metrics"]["answered"] == len(small_sample)


def test_a_torn_last_line_is_cut_off_and_the_run_resumes(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    fake = openai_server(answers=answers_for(small_sample))
    out = tmp_path / "run"
    assert run_cli(*run_args(fake.url, out, "--samples", "10"))[0] == 0
    checkpoint = out / "checkpoint.jsonl"
    lines = checkpoint.read_text(encoding="utf-8").splitlines(keepends=True)
    checkpoint.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2], encoding="utf-8")  # killed mid-write
    asked = len(fake.chat_requests())
    code, _, stderr = run_cli(*run_args(fake.url, out, "--samples", "10"))
    assert (code, stderr) == (0, "")
    assert len(fake.chat_requests()) == asked + 1  # only the question whose line was torn
    assert checkpoint.read_text(encoding="utf-8").endswith("\n")
    assert all(json.loads(line) for line in checkpoint.read_text(encoding="utf-8").splitlines())


def test_more_samples_ask_only_the_new_questions_and_failed_ones_are_retried(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    failing: set[str] = set()

    def script(request: Request) -> Fault | None:
        return Fault(status=500) if request.question in failing else None

    fake = openai_server(answers=answers_for(small_sample), script=script)
    out = tmp_path / "run"
    first = run_cli(*run_args(fake.url, out, "--samples", "10", "--retries", "0"))
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    chosen = [e["question"] for e in results["examples"]]
    assert first[0] == 0
    failing.update(chosen[:2])
    fake.reset(script=script)
    assert run_cli(*run_args(fake.url, out, "--samples", "10", "--retries", "0", "--fresh"))[0] == 0
    assert json.loads((out / "results.json").read_text(encoding="utf-8"))["metrics"]["errors"]["count"] == 2
    failing.clear()
    fake.reset(script=script)
    code, stdout, _ = run_cli(*run_args(fake.url, out, "--samples", "20", "--retries", "0"))
    assert code == 0
    asked = {s.request.question for s in fake.chat_requests()}
    assert asked >= set(chosen[:2])  # the two failures, asked again
    assert not asked & set(chosen[2:])  # the eight answers, kept
    assert len(asked) == 12  # plus the ten new questions
    assert "answered 20/20" in stdout


def test_another_runs_checkpoint_is_refused_unless_fresh(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    fake = openai_server(answers=answers_for(small_sample))
    out = tmp_path / "run"
    assert run_cli(*run_args(fake.url, out, "--samples", "5"))[0] == 0
    code, stdout, stderr = run_cli(*run_args(fake.url, out, "--samples", "5", "--max-tokens", "32"))
    assert code == 2
    assert stdout == ""
    assert "holds answers from a different run (max_tokens: 64 there, 32 now)" in stderr
    assert "--fresh" in stderr
    assert run_cli(*run_args(fake.url, out, "--samples", "5", "--max-tokens", "32", "--fresh"))[0] == 0


def test_a_new_post_processing_rescores_and_re_embeds_without_asking_again(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    fake = openai_server(answers=answers_for(small_sample, "Answer: {}"))
    out = tmp_path / "run"
    embed = ("--embedding-model", EMBEDDING_MODEL)
    assert run_cli(*run_args(fake.url, out, "--samples", "5", *embed))[0] == 0
    chats = len(fake.chat_requests())
    _, stdout, _ = run_cli(*run_args(fake.url, out, "--samples", "5", "--postprocess", "none", *embed))
    assert len(fake.chat_requests()) == chats
    assert "EM 0.00" in stdout  # "Answer: X" is not X without the answer-prefix step
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert all(example["similarity"] is not None for example in results["examples"])
    assert results["examples"][0]["prediction"].startswith("Answer: ")


def test_ctrl_c_stops_with_exit_2_and_the_answers_kept(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    # The first questions are answered at once, the rest only after the test is over: however loaded the machine,
    # the interrupt lands mid-run (with a uniform latency, a slow poll once let the run finish first and exit 0).
    held_back = {question.question for question in small_sample[6:]}

    def script(request: Request) -> Fault | None:
        return Fault(delay_s=60) if request.question in held_back else None

    fake = openai_server(answers=answers_for(small_sample), script=script)
    out = tmp_path / "run"
    argv = run_args(fake.url, out, "--samples", str(len(small_sample)), "--concurrency", "2")
    # A shell starts a background job with SIGINT ignored, and an ignored signal stays ignored across exec: run
    # from such a job (a script's `cmd &`), the child would never see the Ctrl-C. A caught signal resets to the
    # default at exec, so the child starts as it would from a terminal.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "bedrockgate.evals", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 120  # bounds, not timing claims: a loaded CI machine once needed more than 30 s
    while time.monotonic() < deadline and not ((out / "checkpoint.jsonl").exists() and len(answered_ids(out)) >= 5):
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 2
    assert stdout == ""
    kept = len(answered_ids(out))
    assert f"interrupted with {kept} of {len(small_sample)} questions answered" in stderr
    assert "run the same command again to resume" in stderr
    assert stderr.count("\n") == 1
