"""The embedded models, for real: SmolLM2 in llama.cpp and MiniLM in onnxruntime (no mocks)."""

from __future__ import annotations

import itertools
import math
import sys
import threading

import pytest
from bedrockgate.local_stack.backends import ChatMessage, ChatRequest, ChatResult
from bedrockgate.local_stack.embedded import MiniLMEmbedding, SmolLMChat, StopScanner, models_available
from bedrockgate.local_stack.exceptions import ExtraNotInstalledError, PromptTooLongError
from hypothesis import given, settings
from hypothesis import strategies as st

STORY = "Write a long story about a dragon."


@pytest.fixture(scope="module")
def chat() -> SmolLMChat:
    # One thread: on a shared 2-core runner, llama.cpp's spinning thread barrier makes 2 threads 5x slower.
    backend = SmolLMChat(threads=1)
    backend.load()
    return backend


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedding:
    backend = MiniLMEmbedding()
    backend.load()
    return backend


def ask(text: str, *, max_tokens: int = 512, stop: tuple[str, ...] = ()) -> ChatRequest:
    return ChatRequest(model_id="m", messages=(ChatMessage("user", text),), max_tokens=max_tokens, stop=stop)


def ignore(_: str) -> None:
    pass


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_both_models_are_installed_with_the_test_group() -> None:
    assert models_available() == {"smollm2": None, "minilm": None}


def test_a_short_question_gets_a_streamed_answer_with_the_models_token_counts(chat: SmolLMChat) -> None:
    pieces: list[str] = []
    result = chat.generate(ask("What is the capital of France?", max_tokens=24), pieces.append)
    assert result.text.strip()
    assert len(pieces) > 1
    assert "".join(pieces) == result.text
    assert result.input_tokens > 5
    assert 0 < result.output_tokens <= 24


def test_greedy_generation_is_deterministic(chat: SmolLMChat) -> None:
    request = ask("Name three colours.", max_tokens=16)
    assert chat.generate(request, ignore) == chat.generate(request, ignore)


def test_max_tokens_stops_the_answer_and_says_so(chat: SmolLMChat) -> None:
    result = chat.generate(ask(STORY, max_tokens=3), ignore)
    assert result.stop_reason == "max_tokens"
    assert result.output_tokens == 3


def test_a_stop_sequence_cuts_the_answer_before_it(chat: SmolLMChat) -> None:
    free = chat.generate(ask(STORY, max_tokens=40), ignore)
    words = free.text.split()
    word = words[len(words) // 2]
    pieces: list[str] = []
    result = chat.generate(ask(STORY, max_tokens=40, stop=("\x00never", word)), pieces.append)
    assert result.text == free.text[: free.text.index(word)]
    assert "".join(pieces) == result.text
    assert result.stop_reason == "stop_sequence"
    assert 0 < result.output_tokens < free.output_tokens


def test_an_answer_that_ends_by_itself_is_end_turn_even_with_stop_sequences(chat: SmolLMChat) -> None:
    free = chat.generate(ask("Say hello.", max_tokens=100), ignore)
    assert free.stop_reason == "end_turn"
    result = chat.generate(ask("Say hello.", max_tokens=100, stop=("never-in-the-answer",)), ignore)
    assert result == free


def test_a_system_prompt_and_earlier_turns_are_part_of_the_prompt(chat: SmolLMChat) -> None:
    plain = chat.generate(ask("And?", max_tokens=2), ignore)
    longer = chat.generate(
        ChatRequest(
            model_id="m",
            system="You are terse.",
            messages=(ChatMessage("user", "Hi"), ChatMessage("assistant", "Hello."), ChatMessage("user", "And?")),
            max_tokens=2,
        ),
        ignore,
    )
    assert longer.input_tokens > plain.input_tokens


def test_a_prompt_beyond_the_context_is_refused_with_its_size(chat: SmolLMChat) -> None:
    with pytest.raises(PromptTooLongError, match=r"the prompt is \d+ tokens; SmolLM2's context holds 4096"):
        chat.generate(ask("word " * 5000), ignore)
    assert chat.generate(ask("Hi", max_tokens=2), ignore).output_tokens == 2


def test_an_error_in_the_sink_stops_the_answer_and_reaches_the_caller(chat: SmolLMChat) -> None:
    calls: list[str] = []

    def gone(piece: str) -> None:
        calls.append(piece)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError, match="client went away"):
        chat.generate(ask(STORY, max_tokens=40), gone)
    assert len(calls) == 1
    assert chat.generate(ask("Hi", max_tokens=2), ignore).output_tokens == 2


def test_concurrent_requests_are_served_one_at_a_time_with_the_same_answers(chat: SmolLMChat) -> None:
    requests = [ask("Name a fruit.", max_tokens=6), ask("Name a city.", max_tokens=6)]
    expected = [chat.generate(request, ignore) for request in requests]
    results: dict[int, ChatResult] = {}

    def run(index: int) -> None:
        results[index] = chat.generate(requests[index], ignore)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [results[i] for i in range(len(requests))] == expected


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=60))
def test_any_prompt_gets_a_result_without_raising(chat: SmolLMChat, text: str) -> None:
    result = chat.generate(ask(text, max_tokens=1), ignore)
    assert result.output_tokens <= 1
    assert result.input_tokens > 0
    assert result.stop_reason in ("end_turn", "max_tokens")


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="ab\n", max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=30), max_size=6),
    stops=st.lists(st.text(alphabet="ab\n", max_size=4), max_size=3),
)
def test_the_stop_scanner_cuts_at_the_first_stop_sequence_whatever_the_pieces(
    text: str, cuts: list[int], stops: list[str]
) -> None:
    bounds = sorted({0, len(text), *(min(c, len(text)) for c in cuts)})
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    scanner = StopScanner(stops)
    emitted = ""
    for piece in pieces:
        emitted += scanner.feed(piece)
        if scanner.stopped:
            break
    else:
        emitted += scanner.flush()
    # Generation stops when a stop sequence is first completed: the earliest end, the longest on a tie.
    ends = [(text.find(s) + len(s), text.find(s)) for s in stops if s and s in text]
    first = min(ends)[1] if ends else -1
    assert scanner.stopped == (first >= 0)
    assert emitted == (text[:first] if first >= 0 else text)


def test_embeddings_are_384_dimensional_unit_vectors_that_rank_a_paraphrase_first(embedder: MiniLMEmbedding) -> None:
    eating, meal, market = embedder.embed(["A man is eating food.", "A man eats a meal.", "The stock market fell."])
    assert len(eating) == embedder.dimensions == 384
    assert all(type(v) is float for v in eating)
    assert cosine(eating, meal) > 0.7
    assert cosine(eating, market) < 0.2
    assert embedder.embed(["A man is eating food."])[0] == eating


def test_a_large_batch_keeps_order_and_matches_one_by_one(embedder: MiniLMEmbedding) -> None:
    texts = [f"sentence {i} about " + "cats " * i for i in range(40)]
    batch = embedder.embed(texts)
    assert len(batch) == 40
    for text, vector in zip(texts[::13], batch[::13], strict=True):
        assert embedder.embed([text])[0] == pytest.approx(vector, abs=1e-6)
    assert embedder.embed([]) == []


def test_tokens_are_counted_without_special_tokens_or_truncation(embedder: MiniLMEmbedding) -> None:
    assert embedder.count_tokens("") == 0
    assert embedder.count_tokens("hello world") == 2
    assert embedder.count_tokens("word " * 1000) == 1000


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(max_size=3000), min_size=1, max_size=3))
def test_any_text_embeds_as_a_unit_vector(embedder: MiniLMEmbedding, texts: list[str]) -> None:
    vectors = embedder.embed(texts)
    assert len(vectors) == len(texts)
    for text, vector in zip(texts, vectors, strict=True):
        assert len(vector) == embedder.dimensions
        assert math.isclose(sum(v * v for v in vector), 1.0, abs_tol=1e-5)
        assert embedder.count_tokens(text) >= 0


def test_a_missing_runtime_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    assert models_available()["smollm2"] == "xllamacpp"
    with pytest.raises(ExtraNotInstalledError, match=r"pip install 'bedrockgate-local-stack\[models\]'") as chat:
        SmolLMChat().load()
    assert chat.value.extra == "models"
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert models_available()["minilm"] == "onnxruntime"
    with pytest.raises(ExtraNotInstalledError, match="onnxruntime is not installed"):
        MiniLMEmbedding().load()
