"""The verify stage against a real HTTP server on loopback that plays a gateway, healthy or faulty on demand."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from bedrockgate_pipeline import verify
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_helpers import ROOT

GROUPS = ("claude-primary", "claude-fallback", "claude-fast")
EMBEDDING_GROUPS = frozenset({"embeddings"})


class Gateway(BaseHTTPRequestHandler):
    """Answers like LiteLLM: liveliness, chat completions; faults and guardrail behaviour set per test."""

    failing: ClassVar[set[str]] = set()
    healthy: ClassVar[bool] = True
    masks: ClassVar[bool] = True
    seen_keys: ClassVar[list[str]] = []

    def log_message(self, *args: Any) -> None:
        """Quiet: the test reads results, not logs."""

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(200 if self.healthy else 503, {"status": "ok" if self.healthy else "down"})

    def do_POST(self) -> None:
        self.seen_keys.append(self.headers.get("Authorization", ""))
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body["model"] in self.failing:
            self._send(500, {"error": {"message": "upstream failed"}})
            return
        if self.path == "/v1/embeddings":
            if body["model"] not in EMBEDDING_GROUPS:  # as LiteLLM: a chat model cannot embed
                self._send(400, {"error": {"message": f"{body['model']} is not an embedding model"}})
                return
            self._send(200, {"data": [{"embedding": [0.1, -0.2, 0.3]}]})
            return
        if body["model"] in EMBEDDING_GROUPS:  # as LiteLLM: an embedding model cannot chat (HTTP 422)
            self._send(422, {"error": {"message": "embedding models do not chat"}})
            return
        prompt = body["messages"][-1]["content"]
        if body.get("guardrails") and self.masks:
            prompt = prompt.replace(verify.PII_ADDRESS, "{EMAIL}")
        self._send(200, {"choices": [{"message": {"role": "assistant", "content": f"echo: {prompt}"}}]})


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _healthy_gateway() -> None:
    Gateway.failing, Gateway.healthy, Gateway.masks = set(), True, True


CONFIG = verify.GatewayConfig(GROUPS, ("pii-mask",))


@settings(max_examples=100, deadline=None)
@given(failing=st.sets(st.sampled_from(GROUPS)))
def test_verify_fails_exactly_the_model_groups_that_do_not_answer(endpoint: str, failing: set[str]) -> None:
    Gateway.failing, Gateway.healthy, Gateway.masks = set(failing), True, True
    checks = verify.run_checks(verify.http(endpoint, "sk-test"), CONFIG)
    failed = {check.name for check in checks if check.outcome == "failed"}
    assert {name.removeprefix("chat ") for name in failed if name.startswith("chat ")} == failing
    assert [c.name for c in checks][: 1 + len(GROUPS)] == ["health", *(f"chat {g}" for g in GROUPS)]


def test_an_unhealthy_gateway_stops_at_the_health_check(endpoint: str) -> None:
    Gateway.healthy = False
    assert [(c.name, c.outcome) for c in verify.run_checks(verify.http(endpoint, "k"), CONFIG)] == [
        ("health", "failed")
    ]


def test_a_guardrail_that_lets_the_address_through_fails(endpoint: str) -> None:
    Gateway.masks = False
    [check] = [c for c in verify.run_checks(verify.http(endpoint, "k"), CONFIG) if c.name.startswith("guardrail")]
    assert check.outcome == "failed"
    Gateway.masks = True
    [check] = [c for c in verify.run_checks(verify.http(endpoint, "k"), CONFIG) if c.name.startswith("guardrail")]
    assert check.outcome == "passed"


def test_what_cannot_be_checked_is_said_not_passed(endpoint: str) -> None:
    checks = verify.run_checks(verify.http(endpoint, "k"), verify.GatewayConfig(GROUPS, ()), lex_reason="no Lex here")
    outcomes = {c.name: (c.outcome, c.detail) for c in checks}
    assert outcomes["guardrail"] == ("not checked", "the config defines no guardrail")
    assert outcomes["lex round trip"] == ("not checked", "no Lex here")


def test_the_key_travels_as_a_bearer_header_and_never_in_the_table(endpoint: str) -> None:
    Gateway.seen_keys.clear()
    checks = verify.run_checks(verify.http(endpoint, "sk-secret-verify"), CONFIG)
    assert set(Gateway.seen_keys) == {"Bearer sk-secret-verify"}
    assert "sk-secret-verify" not in verify.table(checks)


def test_a_lex_failure_is_a_failed_check_not_a_crash() -> None:
    def broken(_: str) -> str:
        raise RuntimeError("AccessDeniedException")

    assert verify.lex_round_trip(broken).outcome == "failed"
    assert verify.lex_round_trip(lambda text: f"I can {text}").outcome == "passed"


@settings(max_examples=100, deadline=None)
@given(failing=st.sets(st.sampled_from([*GROUPS, "embeddings"])))
def test_an_embedding_group_is_asked_for_an_embedding_and_fails_only_when_it_does_not_embed(
    endpoint: str, failing: set[str]
) -> None:
    Gateway.failing = set(failing)
    config = verify.GatewayConfig((*GROUPS, "embeddings"), ("pii-mask",), EMBEDDING_GROUPS)
    checks = {c.name: c.outcome for c in verify.run_checks(verify.http(endpoint, "k"), config)}
    assert checks["embedding embeddings"] == ("failed" if "embeddings" in failing else "passed")
    assert "chat embeddings" not in checks
    # The guardrail is checked through a chat group, never the embedding one.
    assert checks["guardrail pii-mask"] == ("failed" if GROUPS[0] in failing else "passed")


def test_the_model_groups_come_from_the_config_in_order(tmp_path: Path) -> None:
    config = verify.read_config(ROOT / "examples" / "agents-gateway.yaml")
    assert config.model_groups == (*GROUPS, "embeddings")
    assert config.embedding_groups == EMBEDDING_GROUPS
    assert config.chat_groups == GROUPS
    assert config.guardrails == ("bedrock-input-guard", "bedrock-output-guard")
    bad = tmp_path / "bad.yaml"
    bad.write_text("router_settings: {}\n")
    with pytest.raises(verify.VerifyError, match="no model_list"):
        verify.read_config(bad)


def test_an_unreachable_endpoint_is_an_error_naming_it() -> None:
    with pytest.raises(verify.VerifyError, match=r"127\.0\.0\.1:9/health/liveliness cannot be reached"):
        verify.health(verify.http("http://127.0.0.1:9", "k", timeout=2))


def test_the_stages_judge_against_the_committed_local_gates_file() -> None:
    """The evaluate stage and the rehearsal's verify read this file: it must exist and pin its baseline."""
    from bedrockgate_pipeline import eval_gate  # noqa: PLC0415

    assert eval_gate.LOCAL_GATES.is_file(), eval_gate.LOCAL_GATES
    assert eval_gate.LOCAL_GATES == ROOT / "packages" / "evals" / "gates" / "local.toml"
    assert "[baseline]" in eval_gate.LOCAL_GATES.read_text(encoding="utf-8")


def test_the_command_names_an_unreachable_endpoint_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERIFY_TEST_KEY", "sk-test")
    code = verify.main(["--endpoint", "http://127.0.0.1:9", "--api-key-env", "VERIFY_TEST_KEY",
                        "--config", str(ROOT / "examples" / "agents-gateway.yaml")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("verify: http://127.0.0.1:9/health/liveliness cannot be reached")
    assert "Traceback" not in err
