"""``bedrockgate-evals run``: reports, exit codes 0/1/2, gates, and numbers the official script agrees with."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest
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
        "--samples",
        "40",
        "--out",
        str(out),
        "--progress",
        "none",
        "--backoff",
        "0.001",
        "--no-phoenix",
        *extra,
    ]


def mixed_answers(questions: list[Question]) -> dict[str, str]:
    """Right, half right, wrong and verbose answers, so the scores sit well inside 0-100."""
    answers = {}
    for index, question in enumerate(questions):
        gold = question.answers[0]
        answers[question.question] = [gold, f"The answer is {gold}.", f"{gold} and more words here", "no idea"][
            index % 4
        ]
    return answers


def test_a_run_writes_every_report_and_the_official_script_agrees(
    official: ModuleType,
    openai_server: Callable[..., FakeOpenAI],
    small_sample: list[Question],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_KEY", "sk-secret-value")
    fake = openai_server(
        answers=mixed_answers(small_sample), api_key="sk-secret-value", latency_s=0.002, cost_usd=0.001
    )
    out = tmp_path / "run"
    code, stdout, stderr = run_cli(
        *run_args(fake.url, out, "--api-key-env", "GATEWAY_KEY", "--embedding-model", EMBEDDING_MODEL)
    )
    assert (code, stderr) == (0, "")
    assert {p.name for p in out.iterdir()} == {
        "checkpoint.jsonl",
        "dataset.json",
        "predictions.json",
        "report.html",
        "results.json",
        "summary.md",
    }
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    dataset = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    predictions = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
    with contextlib.redirect_stderr(io.StringIO()):
        assert official.evaluate(dataset["data"], predictions) == {
            "exact_match": results["metrics"]["exact_match"],
            "f1": results["metrics"]["f1"],
        }
    assert dataset["license"] == "CC BY-SA 4.0"
    assert "Rajpurkar" in dataset["attribution"]
    assert 0 < results["metrics"]["exact_match"] < results["metrics"]["f1"] < 100
    assert results["config"]["api_key_env"] == "GATEWAY_KEY"
    assert results["config"]["api_key_set"] is True
    for name in ("results.json", "report.html", "summary.md", "checkpoint.jsonl", "dataset.json"):
        assert "sk-secret-value" not in (out / name).read_text(encoding="utf-8")
    assert results["config"]["seed"] == 7
    assert results["dataset"]["source"] == "sample"
    assert results["dataset"]["sha256"]
    assert results["versions"]["bedrockgate-evals"] == "0.1.0"
    cost = results["metrics"]["cost_usd"]
    assert cost["chat"] == pytest.approx(0.001 * 40)  # the x-litellm-response-cost header of every answer
    assert cost["total"] == pytest.approx(cost["chat"] + cost["embeddings"])
    assert cost["embeddings"] > 0
    assert cost["reported"] == cost["expected"]
    assert results["metrics"]["similarity"] is not None
    assert len(results["examples"]) == 40
    assert f"EM {results['metrics']['exact_match']:.2f}" in stdout
    assert {s.authorization for s in fake.seen} == {"Bearer sk-secret-value"}


def test_gates_pass_exit_0_and_fail_exit_1_saying_which_and_by_how_much(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    fake = openai_server(answers=mixed_answers(small_sample), latency_s=0.002)
    out = tmp_path / "run"
    code, stdout, _ = run_cli(*run_args(fake.url, out, "--min-em", "10", "--max-error-rate", "0"))
    assert code == 0
    assert "--min-em 10.00: passed, exact match 50.00" in stdout
    assert "similarity skipped (no --embedding-model)" in stdout
    code, stdout, _ = run_cli(*run_args(fake.url, out, "--min-em", "60", "--min-f1", "50", "--max-p95-ms", "0.5"))
    assert code == 1
    assert "--min-em 60.00: FAILED, exact match 50.00 (short by 10.00)" in stdout
    assert "--min-f1 50.00: passed" in stdout
    assert "--max-p95-ms 0 ms: FAILED, p95 latency" in stdout
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["gates"]["passed"] is False
    assert [g["gate"] for g in results["gates"]["results"] if not g["passed"]] == ["min-em", "max-p95-ms"]
    assert "FAILED" in (out / "report.html").read_text(encoding="utf-8")
    assert "❌ --min-em 60.00: FAILED" in (out / "summary.md").read_text(encoding="utf-8")


def test_a_cost_gate_fails_when_the_endpoint_reports_no_cost(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    fake = openai_server(answers=answers_for(small_sample))
    code, stdout, _ = run_cli(*run_args(fake.url, tmp_path / "run", "--max-cost-usd", "5"))
    assert code == 1
    assert "--max-cost-usd $5.0000: FAILED, the endpoint reported no cost" in stdout


def test_errors_are_counted_and_gated(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    broken = {q.question for q in small_sample[:4]}

    def script(request: Request) -> Fault | None:
        return Fault(status=503) if request.question in broken else None

    fake = openai_server(answers=answers_for(small_sample), script=script)
    code, stdout, _ = run_cli(*run_args(fake.url, tmp_path / "run", "--retries", "1", "--max-error-rate", "0.05"))
    assert code == 1
    assert "errors: http_503 4" in stdout
    assert "--max-error-rate 5.00%: FAILED, error rate 10.00% (over by 5.00%)" in stdout
    assert "EM 90.00" in stdout  # the four failures score 0 and count


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dataset", "missing.json"], "missing.json: no such file"),
        (["--api-key-env", "NOT_SET_ANYWHERE"], "--api-key-env NOT_SET_ANYWHERE: that environment variable is not set"),
        (["--min-similarity", "0.5"], "--min-similarity needs --embedding-model"),
        (["--max-error-rate", "2"], "--max-error-rate is a fraction from 0 to 1"),
        (["--postprocess", "trim,shout"], "unknown step(s) shout"),
        (["--concurrency", "0"], "--concurrency must be at least 1"),
        (["--offset", "400"], "--offset 400 skips every question"),
    ],
)
def test_a_run_that_cannot_be_made_exits_2_with_one_line(
    openai_server: Callable[..., FakeOpenAI], tmp_path: Path, extra: list[str], message: str
) -> None:
    fake = openai_server()
    code, stdout, stderr = run_cli(*run_args(fake.url, tmp_path / "run", *extra))
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("bedrockgate-evals: error: ")
    assert stderr.count("\n") == 1
    assert message in stderr
    assert not fake.seen


def test_a_bad_key_or_endpoint_exits_2_before_any_question(
    openai_server: Callable[..., FakeOpenAI], tmp_path: Path
) -> None:
    fake = openai_server(api_key="right")
    code, _, stderr = run_cli(*run_args(fake.url, tmp_path / "run"))
    assert code == 2
    assert "refused the API key" in stderr
    assert stderr.count("\n") == 1
    code, _, stderr = run_cli(*run_args("ftp://example.com", tmp_path / "run"))
    assert code == 2
    assert "is not an http(s) URL" in stderr
    assert not fake.chat_requests()


def test_a_prompt_template_file_is_used_and_checked(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    fake = openai_server(answers=answers_for(small_sample))
    template = tmp_path / "prompt.txt"
    template.write_text("Q: {question}\nRead: {context}\n", encoding="utf-8")
    code, _, _ = run_cli(
        *run_args(fake.url, tmp_path / "run", "--prompt-template", str(template), "--system-prompt", "")
    )
    assert code == 0
    template.write_text("{question} {answer}", encoding="utf-8")
    code, _, stderr = run_cli(*run_args(fake.url, tmp_path / "other", "--prompt-template", str(template)))
    assert code == 2
    assert "unknown placeholder(s) 'answer'" in stderr


class _Inventory(HTMLParser):
    """What an HTML page would fetch when it opens, and the elements it has."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.fetches: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in {"src", "href", "srcset", "data"} or (tag == "link" and name == "rel"):
                self.fetches.append(f"{tag} {name}={value}")


def test_the_html_report_is_one_self_contained_file_with_escaped_text(
    openai_server: Callable[..., FakeOpenAI], small_sample: list[Question], tmp_path: Path
) -> None:
    answers = answers_for(small_sample)
    answers[small_sample[0].question] = '<script>alert("x")</script> & <img src=http://evil.example/x.png>'
    fake = openai_server(answers=answers, latency_s=0.002)
    out = tmp_path / "run"
    assert run_cli(*run_args(fake.url, out, "--max-p95-ms", "1000"))[0] == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    inventory = _Inventory()
    inventory.feed(page)
    assert inventory.fetches == []
    assert "script" not in inventory.tags
    assert "img" not in inventory.tags
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "@import" not in page
    assert "url(" not in page
    assert inventory.tags.count("svg") == 3  # histogram, percentile curve, question types
    assert "Worst answers" in page
    assert "CC BY-SA 4.0" in page
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "&lt;script&gt;" in summary
    assert "<script>" not in summary
