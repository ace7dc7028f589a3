"""The emulator through LiteLLM's real Bedrock provider: answers, streams, vectors, and AWS's errors.

The emulator runs in a thread on loopback (uvicorn); LiteLLM is pointed at it exactly as the
local stack points the proxy (``aws_bedrock_runtime_endpoint``, SigV4 with placeholder keys).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import litellm
import pytest
import uvicorn
from bedrockgate.local_stack.backends import ChatMessage, ChatRequest, scripted_reply
from bedrockgate.local_stack.emulator import build_app
from bedrockgate.local_stack.processes import free_port
from bedrockgate.local_stack.settings import SCRIPTED_RULES, BackendRule, EmulatorSettings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litellm.exceptions import (
    BadRequestError,
    ContextWindowExceededError,
    RateLimitError,
    ServiceUnavailableError,
    Timeout,
)

CHAT_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0"
EMBED_ID = "amazon.titan-embed-text-v2:0"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    rules = (BackendRule(match="tiny.*", backend="scripted", max_input_tokens=5), *SCRIPTED_RULES)
    app = build_app(EmulatorSettings(rules=rules, seed=3))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{server.config.port}"
    yield url
    server.should_exit = True
    thread.join(10)


@pytest.fixture(autouse=True)
def no_faults(emulator: str) -> Iterator[None]:
    yield
    httpx.delete(f"{emulator}/_emulator/faults").raise_for_status()


def bedrock(emulator: str) -> dict[str, Any]:
    return {
        "aws_bedrock_runtime_endpoint": emulator,
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
        "aws_region_name": "us-east-1",
        "num_retries": 0,
    }


def test_converse_answers_with_usage_and_a_bedrock_price(emulator: str) -> None:
    response = litellm.completion(
        model=f"bedrock/{CHAT_ID}", messages=[{"role": "user", "content": "hello there"}], **bedrock(emulator)
    )
    assert response.choices[0].message.content == f"[{CHAT_ID}] You said: hello there"
    assert response.choices[0].finish_reason == "stop"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (2, 5)
    assert litellm.completion_cost(response) > 0


def test_converse_stream_arrives_in_pieces_with_usage(emulator: str) -> None:
    stream = litellm.completion(
        model=f"bedrock/{CHAT_ID}", messages=[{"role": "user", "content": "a b c"}], stream=True,
        stream_options={"include_usage": True}, **bedrock(emulator),
    )  # fmt: skip
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == f"[{CHAT_ID}] You said: a b c"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 1
    assert any(getattr(c, "usage", None) and c.usage.completion_tokens == 6 for c in chunks)


def test_max_tokens_and_stop_sequences_shape_the_answer(emulator: str) -> None:
    cut = litellm.completion(
        model=f"bedrock/{CHAT_ID}", messages=[{"role": "user", "content": "one two three"}], max_tokens=2,
        **bedrock(emulator),
    )  # fmt: skip
    assert cut.choices[0].finish_reason == "length"
    assert cut.choices[0].message.content == f"[{CHAT_ID}] You"
    stopped = litellm.completion(
        model=f"bedrock/{CHAT_ID}", messages=[{"role": "user", "content": "one two three"}], stop=["two"],
        **bedrock(emulator),
    )  # fmt: skip
    assert stopped.choices[0].message.content == f"[{CHAT_ID}] You said: one "


def test_titan_embeddings_come_back_unit_length_with_a_token_count(emulator: str) -> None:
    response = litellm.embedding(model=f"bedrock/{EMBED_ID}", input=["hello world", "hello"], **bedrock(emulator))
    vectors = [item["embedding"] for item in response.data]
    assert len(vectors) == 2
    assert all(abs(sum(v * v for v in vector) - 1) < 1e-6 for vector in vectors)
    assert response.usage.prompt_tokens == 3


@pytest.mark.parametrize(
    ("faults", "exception"),
    [
        ({"throttle_rate": 1.0}, RateLimitError),
        ({"down": True}, ServiceUnavailableError),
        ({"error_rate": 1.0, "error_kind": "unavailable"}, ServiceUnavailableError),
        ({"error_rate": 1.0, "error_kind": "internal"}, ServiceUnavailableError),
        ({"error_rate": 1.0, "error_kind": "timeout"}, Timeout),
        ({"error_rate": 1.0, "error_kind": "validation"}, BadRequestError),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_each_injected_fault_maps_to_the_exception_aws_would_cause(
    emulator: str, faults: dict[str, object], exception: type[Exception], stream: bool
) -> None:
    httpx.put(f"{emulator}/_emulator/faults/{CHAT_ID}", json=faults).raise_for_status()

    def call() -> None:
        response = litellm.completion(
            model=f"bedrock/{CHAT_ID}", messages=[{"role": "user", "content": "hi"}], stream=stream,
            **bedrock(emulator),
        )  # fmt: skip
        if stream:
            list(response)

    with pytest.raises(exception):
        call()


def test_added_latency_delays_the_answer(emulator: str) -> None:
    httpx.put(f"{emulator}/_emulator/faults/*", json={"latency_ms": 300}).raise_for_status()
    started = time.perf_counter()
    litellm.completion(model=f"bedrock/{CHAT_ID}", messages=[{"role": "user", "content": "x"}], **bedrock(emulator))
    assert time.perf_counter() - started >= 0.3


def test_an_input_over_the_models_limit_is_a_context_window_error(emulator: str) -> None:
    with pytest.raises(ContextWindowExceededError):
        litellm.completion(
            model="bedrock/converse/tiny.model-v1:0",
            messages=[{"role": "user", "content": "one two three four five six"}],
            **bedrock(emulator),
        )  # fmt: skip


def test_unsigned_and_malformed_requests_are_refused_as_aws_does(emulator: str) -> None:
    unsigned = httpx.post(f"{emulator}/model/{CHAT_ID}/converse", json={"messages": []})
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-ErrorType"].startswith("AccessDeniedException")
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=local/20261122/us-east-1/bedrock/aws4_request"}
    assistant_first = httpx.post(
        f"{emulator}/model/{CHAT_ID}/converse",
        headers=signed,
        json={"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]},
    )
    assert assistant_first.status_code == 400
    assert "must start with a user message" in assistant_first.json()["message"]
    garbage = httpx.post(f"{emulator}/model/{CHAT_ID}/converse", headers=signed, content=b"{not json")
    assert garbage.status_code == 400
    assert "Malformed input request" in garbage.json()["message"]
    wrong_api = httpx.post(f"{emulator}/model/{EMBED_ID}/converse", headers=signed, json={"messages": []})
    assert wrong_api.status_code == 400
    hello = [{"role": "user", "content": [{"text": "hi"}]}]
    for config, field in (({"stopSequences": 1.5e308}, "stopSequences"), ([1], "inferenceConfig")):
        bad = httpx.post(
            f"{emulator}/model/{CHAT_ID}/converse", headers=signed, json={"messages": hello, "inferenceConfig": config}
        )
        assert bad.status_code == 400, bad.text
        assert field in bad.json()["message"]
    no_content = httpx.post(f"{emulator}/guardrail/g/version/1/apply", headers=signed, json={"source": "INPUT"})
    assert no_content.status_code == 400
    assert "content: expected a list" in no_content.json()["message"]


def test_the_admin_api_refuses_bad_faults_by_field(emulator: str) -> None:
    response = httpx.put(f"{emulator}/_emulator/faults/{CHAT_ID}", json={"throttle_rate": 2})
    assert response.status_code == 400
    assert response.json()["problems"][0]["field"] == "throttle_rate"
    assert httpx.get(f"{emulator}/_emulator/faults").json() == {}


def test_health_reports_ready_and_the_backends_loaded(emulator: str) -> None:
    body = httpx.get(f"{emulator}/_emulator/health").json()
    assert body["ready"] is True
    assert set(body["backends"]) >= {"scripted", "scripted-embedding"}


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=80).filter(
    str.strip
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(turns=st.lists(texts, min_size=1, max_size=4))
def test_any_conversation_through_litellm_gets_the_scripted_reply(emulator: str, turns: list[str]) -> None:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]
    if messages[-1]["role"] == "assistant":
        messages.append({"role": "user", "content": "and?"})
    response = litellm.completion(model=f"bedrock/{CHAT_ID}", messages=messages, **bedrock(emulator))
    request = ChatRequest(
        model_id=CHAT_ID,
        messages=tuple(
            ChatMessage(role="user" if m["role"] == "user" else "assistant", text=m["content"]) for m in messages
        ),
    )
    assert response.choices[0].message.content == scripted_reply(request)
