"""The emulator's backends, created once each, on first use or at warm-up."""

from __future__ import annotations

import threading

from bedrockgate.local_stack.backends import ChatBackend, EmbeddingBackend, ScriptedChat, ScriptedEmbedding
from bedrockgate.local_stack.exceptions import MappingError
from bedrockgate.local_stack.settings import CHAT_BACKENDS, EMBEDDING_BACKENDS, EmulatorSettings


class BackendPool:
    """Backends by name. The embedded ones import their runtimes only when first asked for."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self._settings = settings
        self._chat: dict[str, ChatBackend] = {}
        self._embedding: dict[str, EmbeddingBackend] = {}
        self._lock = threading.Lock()

    def chat(self, name: str) -> ChatBackend:
        """The chat backend called ``name``."""
        if name not in CHAT_BACKENDS:
            raise MappingError(
                f"backend {name!r} is an embedding backend; chat models need one of {sorted(CHAT_BACKENDS)}"
            )
        with self._lock:
            if name not in self._chat:
                self._chat[name] = self._make_chat(name)
            return self._chat[name]

    def embedding(self, name: str) -> EmbeddingBackend:
        """The embedding backend called ``name``."""
        if name not in EMBEDDING_BACKENDS:
            raise MappingError(
                f"backend {name!r} is a chat backend; embedding models need one of {sorted(EMBEDDING_BACKENDS)}"
            )
        with self._lock:
            if name not in self._embedding:
                self._embedding[name] = self._make_embedding(name)
            return self._embedding[name]

    def warm(self) -> list[str]:
        """Load every backend the rules name (so the first request is not the slow one)."""
        names: list[str] = sorted({rule.backend for rule in self._settings.rules})
        for name in names:
            if name in CHAT_BACKENDS:
                self.chat(name)
            else:
                self.embedding(name)
        return names

    def loaded(self) -> list[str]:
        """Names of the backends created so far."""
        with self._lock:
            return sorted([*self._chat, *self._embedding])

    def _make_chat(self, name: str) -> ChatBackend:
        if name == "scripted":
            return ScriptedChat(
                latency_s=self._settings.scripted_latency_ms / 1000, replies=dict(self._settings.scripted_replies)
            )
        from bedrockgate.local_stack.embedded import SmolLMChat  # noqa: PLC0415 -- the models extra is optional

        backend = SmolLMChat()
        backend.load()
        return backend

    def _make_embedding(self, name: str) -> EmbeddingBackend:
        if name == "scripted-embedding":
            return ScriptedEmbedding()
        from bedrockgate.local_stack.embedded import MiniLMEmbedding  # noqa: PLC0415 -- the models extra is optional

        backend = MiniLMEmbedding()
        backend.load()
        return backend
