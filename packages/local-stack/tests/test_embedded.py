"""The embedded models, for real: SmolLM2 in llama.cpp and MiniLM in onnxruntime (no mocks)."""

from __future__ import annotations

import math
import sys

import pytest
from bedrockgate.local_stack.backends import ChatMessage, ChatRequest
from bedrockgate.local_stack.embedded import MiniLMEmbedding, SmolLMChat, models_available
from bedrockgate.local_stack.exceptions import ExtraNotInstalledError
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def chat() -> SmolLMChat:
    backend = SmolLMChat()
    backend.load()
    return backend


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedding:
    backend = MiniLMEmbedding()
    backend.load()
    return backend


def ask(text: str, **options: object) -> ChatRequest:
    return ChatRequest(model_id="m", messages=(ChatMessage("user", text),), **options)  # type: ignore[arg-type]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_both_models_are_installed_with_the_test_group() -> None:
    assert models_available() == {"smollm2": None, "minilm": None}


def test_a_short_question_gets_an_answer_with_the_models_token_counts(chat: SmolLMChat) -> None:
    pieces: list[str] = []
    result = chat.generate(ask("What is the capital of France?", max_tokens=24), pieces.append)
    assert result.text.strip()
    assert "".join(pieces) == result.text
    assert result.input_tokens > 5
    assert 0 < result.output_tokens <= 24


def test_greedy_generation_is_deterministic(chat: SmolLMChat) -> None:
    request = ask("Name three colours.", max_tokens=16)
    assert chat.generate(request, lambda _: None).text == chat.generate(request, lambda _: None).text


def test_max_tokens_stops_the_answer_and_says_so(chat: SmolLMChat) -> None:
    result = chat.generate(ask("Write a long story about a dragon.", max_tokens=3), lambda _: None)
    assert result.stop_reason == "max_tokens"
    assert result.output_tokens == 3


def test_a_stop_sequence_cuts_the_answer_before_it(chat: SmolLMChat) -> None:
    free = chat.generate(ask("Write a long story about a dragon.", max_tokens=40), lambda _: None).text
    word = next(w for w in free.split() if len(w) > 3)
    result = chat.generate(ask("Write a long story about a dragon.", max_tokens=40, stop=(word,)), lambda _: None)
    assert word not in result.text
    assert free.startswith(result.text)
    assert result.stop_reason == "stop_sequence"


def test_a_system_prompt_and_earlier_turns_are_part_of_the_prompt(chat: SmolLMChat) -> None:
    plain = chat.generate(ask("And?", max_tokens=2), lambda _: None)
    longer = chat.generate(
        ChatRequest(
            model_id="m",
            system="You are terse.",
            messages=(ChatMessage("user", "Hi"), ChatMessage("assistant", "Hello."), ChatMessage("user", "And?")),
            max_tokens=2,
        ),
        lambda _: None,
    )
    assert longer.input_tokens > plain.input_tokens


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=60))
def test_any_prompt_gets_a_result_without_raising(chat: SmolLMChat, text: str) -> None:
    result = chat.generate(ask(text, max_tokens=1), lambda _: None)
    assert result.output_tokens <= 1
    assert result.stop_reason in ("end_turn", "max_tokens")


def test_embeddings_are_384_dimensional_unit_vectors_that_rank_a_paraphrase_first(embedder: MiniLMEmbedding) -> None:
    eating, meal, market = embedder.embed(["A man is eating food.", "A man eats a meal.", "The stock market fell."])
    assert len(eating) == 384
    assert cosine(eating, meal) > 0.7
    assert cosine(eating, market) < 0.2
    assert embedder.embed(["A man is eating food."])[0] == pytest.approx(eating, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=3000))
def test_any_text_embeds_as_a_unit_vector(embedder: MiniLMEmbedding, text: str) -> None:
    [vector] = embedder.embed([text])
    assert len(vector) == embedder.dimensions
    assert math.isclose(sum(v * v for v in vector), 1.0, abs_tol=1e-5)
    assert embedder.count_tokens(text) >= 0


def test_a_missing_runtime_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    with pytest.raises(ExtraNotInstalledError, match=r"pip install 'bedrockgate-local-stack\[models\]'"):
        SmolLMChat().load()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ExtraNotInstalledError, match="onnxruntime is not installed"):
        MiniLMEmbedding().load()
