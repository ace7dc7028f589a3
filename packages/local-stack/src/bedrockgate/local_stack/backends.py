"""What the emulator asks of a model: the chat and embedding protocols, and the scripted backends.

The emulator speaks Bedrock; a backend only turns a normalised request into text or vectors. The
scripted backends are deterministic (same request, same answer) so tests can assert on replies,
and their cost is a configurable sleep, which is what the load test needs.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

StopReason = Literal["end_turn", "max_tokens", "stop_sequence"]
TextSink = Callable[[str], None]

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class ChatMessage:
    """One turn, its content blocks' text joined."""

    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class ChatRequest:
    """A Converse request, reduced to what a text model uses."""

    model_id: str
    messages: tuple[ChatMessage, ...]
    system: str = ""
    max_tokens: int = 512
    temperature: float | None = None
    stop: tuple[str, ...] = ()

    @property
    def last_user_text(self) -> str:
        """The newest user turn: what the scripted backend answers."""
        return next((m.text for m in reversed(self.messages) if m.role == "user"), "")


@dataclass(frozen=True)
class ChatResult:
    """A finished generation with Bedrock's usage figures."""

    text: str
    input_tokens: int
    output_tokens: int
    stop_reason: StopReason


class ChatBackend(Protocol):
    """A text model. ``on_text`` receives pieces as they are generated (for converse-stream)."""

    name: str

    def generate(self, request: ChatRequest, on_text: TextSink) -> ChatResult:
        """Generate an answer; call ``on_text`` with each new piece; return the whole result."""
        ...


class EmbeddingBackend(Protocol):
    """A text embedding model."""

    name: str
    dimensions: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` as the model counts them (Titan's ``inputTextTokenCount``)."""
        ...


def count_words(text: str) -> int:
    """The scripted backends' token count: whitespace-separated words."""
    return len(_WORD.findall(text))


def scripted_reply(request: ChatRequest, replies: Mapping[str, str] | None = None) -> str:
    """The scripted answer: names the model and echoes the question, so tests can see both.

    ``replies`` scripts answers the echo cannot give (an answer that holds what the prompt did not,
    such as PII for the output guardrail): the first key found in the user's turn picks its reply.
    """
    question = " ".join(request.last_user_text.split())
    for trigger, reply in (replies or {}).items():
        if trigger in question:
            return f"[{request.model_id}] {reply}"
    return f"[{request.model_id}] You said: {question}" if question else f"[{request.model_id}] Hello."


@dataclass
class ScriptedChat:
    """Deterministic chat: ``scripted_reply``, cut at ``max_tokens`` words and at stop sequences."""

    latency_s: float = 0.0
    name: str = "scripted"
    replies: Mapping[str, str] = field(default_factory=dict)

    def generate(self, request: ChatRequest, on_text: TextSink) -> ChatResult:
        """Sleep the configured latency, then answer word by word."""
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        text, stop_reason = _truncate(scripted_reply(request, self.replies), request.max_tokens, request.stop)
        for index, word in enumerate(text.split(" ")):
            on_text(word if index == 0 else " " + word)
        prompt = "\n".join([request.system, *(m.text for m in request.messages)])
        return ChatResult(
            text=text, input_tokens=count_words(prompt), output_tokens=count_words(text), stop_reason=stop_reason
        )


def _truncate(text: str, max_tokens: int, stop: Sequence[str]) -> tuple[str, StopReason]:
    cut = min((text.find(s) for s in stop if s and s in text), default=-1)
    if cut >= 0:
        return text[:cut], "stop_sequence"
    words = text.split(" ")
    if len(words) > max_tokens:
        return " ".join(words[:max_tokens]), "max_tokens"
    return text, "end_turn"


@dataclass
class ScriptedEmbedding:
    """Deterministic bag-of-words vectors: equal texts embed equally, shared words raise similarity."""

    dimensions: int = 256
    name: str = "scripted-embedding"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One hashed bag-of-words vector per text."""
        return [self._embed_one(text) for text in texts]

    def count_tokens(self, text: str) -> int:
        """Words, as the scripted chat counts them."""
        return count_words(text)

    def _embed_one(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for word in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "big") % self.dimensions
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vector))
        if norm == 0:
            vector[0] = 1.0
            return vector
        return [v / norm for v in vector]
