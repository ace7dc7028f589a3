"""The Bedrock runtime emulator: the HTTP API LiteLLM's Bedrock provider speaks, on loopback.

Routes (as in AWS): ``POST /model/{id}/converse``, ``/converse-stream`` (event-stream frames),
``/invoke`` (Titan embeddings) and ``/guardrail/{id}/version/{v}/apply``. Errors carry AWS's
status codes, ``x-amzn-ErrorType`` and ``{"message": ...}`` bodies, so LiteLLM maps them to the
same exceptions (and the router to the same retries and fallbacks) as in AWS.

Admin routes under ``/_emulator/``: health, faults (read, set per model id, clear), and the
recent requests each model received (what the guardrail test reads to prove masking happened).
``POST /_benchmark/openai/v1/chat/completions`` answers like LiteLLM's fake OpenAI benchmark endpoint
(``nox -s bench_gateway``'s baseline).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from bedrockgate.local_stack.backends import ChatMessage, ChatRequest, ChatResult
from bedrockgate.local_stack.eventstream import encode_event, encode_exception
from bedrockgate.local_stack.exceptions import BackendError, LocalStackError, PromptTooLongError
from bedrockgate.local_stack.faults import Draw, FaultBoard
from bedrockgate.local_stack.guardrail import apply_guardrail
from bedrockgate.local_stack.pool import BackendPool
from bedrockgate.local_stack.settings import EMBEDDING_BACKENDS, EmulatorSettings, Faults
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

OPENAI_BENCHMARK_PATH = "/_benchmark/openai/v1"
"""Where the emulator answers like LiteLLM's fake OpenAI benchmark endpoint (an ``api_base``)."""

_ERRORS: Mapping[str, tuple[int, str]] = {
    "throttle": (429, "ThrottlingException"),
    "down": (503, "ServiceUnavailableException"),
    "unavailable": (503, "ServiceUnavailableException"),
    "internal": (500, "InternalServerException"),
    "timeout": (408, "ModelTimeoutException"),
    "validation": (400, "ValidationException"),
}
_MESSAGES: Mapping[str, str] = {
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "ServiceUnavailableException": "Bedrock is unable to process your request.",
    "InternalServerException": "The server encountered an internal error while processing the request.",
    "ModelTimeoutException": "The request took too long to process. Processing time exceeded the model timeout.",
    "ValidationException": "The provided request is not valid.",
}
RECENT_REQUESTS = 500
# AWS's exact wording: LiteLLM matches on some of these messages to choose its exception.
_USER_FIRST = (
    "A conversation must start with a user message. Try again with a conversation that starts with a user message."
)
_MISSING_INPUT_TEXT = (
    "Malformed input request: #: required key [inputText] not found, please reformat your input and try again."
)


class BedrockError(Exception):
    """An error the emulator answers with, in AWS's shape."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


@dataclass(frozen=True)
class Received:
    """One request as a model saw it (after the gateway's guardrail): for tests and debugging."""

    model_id: str
    operation: str
    text: str
    at: float


class Emulator:
    """The state behind the routes: settings, backends, faults, counters and recent requests."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.pool = BackendPool(settings)
        self.faults = FaultBoard(dict(settings.faults), seed=settings.seed)
        self.guardrail = settings.guardrail.policy()
        self.received: deque[Received] = deque(maxlen=RECENT_REQUESTS)
        self.served: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.ready = False

    def record(self, model_id: str, operation: str, text: str) -> None:
        """Remember what a model was asked."""
        self.received.append(Received(model_id, operation, text, time.time()))


def _error_response(error: BedrockError) -> JSONResponse:
    return JSONResponse(
        {"message": error.message},
        status_code=error.status,
        headers={
            "x-amzn-ErrorType": f"{error.error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/",
            "x-amzn-RequestId": str(uuid.uuid4()),
        },
    )


def _fault_error(draw: Draw) -> BedrockError:
    key = draw.verdict if draw.verdict in ("throttle", "down") else draw.error_kind
    status, error_type = _ERRORS[key]
    return BedrockError(status, error_type, _MESSAGES[error_type])


def _validation(message: str) -> BedrockError:
    return BedrockError(400, "ValidationException", message)


def _require_signature(request: Request) -> None:
    """AWS refuses unsigned requests; so do we (any SigV4 credentials are accepted)."""
    if not request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):
        raise BedrockError(403, "AccessDeniedException", "Missing Authentication Token")


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _validation(f"Malformed input request: {error}, please reformat your input and try again.") from error
    if not isinstance(body, dict):
        raise _validation("Malformed input request: expected a JSON object, please reformat your input and try again.")
    return body


def _text_of(blocks: Any) -> str:
    if not isinstance(blocks, list):
        return ""
    return "\n".join(str(b["text"]) for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str))


def parse_converse(model_id: str, body: Mapping[str, Any]) -> ChatRequest:
    """A Converse body as a backend request; malformed ones are ValidationExceptions, as in AWS."""
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise _validation(_USER_FIRST)
    messages: list[ChatMessage] = []
    for index, raw in enumerate(raw_messages):
        role = raw.get("role") if isinstance(raw, dict) else None
        if role not in ("user", "assistant"):
            raise _validation(f"messages.{index}.role: expected 'user' or 'assistant', got {role!r}")
        messages.append(ChatMessage(role=role, text=_text_of(raw.get("content"))))
    if messages[0].role != "user":
        raise _validation(_USER_FIRST)
    config = body.get("inferenceConfig") or {}
    if not isinstance(config, dict):
        raise _validation(f"inferenceConfig: expected an object, got {type(config).__name__}")
    max_tokens = config.get("maxTokens", 512)
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise _validation(f"inferenceConfig.maxTokens: must be a positive integer, got {max_tokens!r}")
    temperature = config.get("temperature")
    stop = config.get("stopSequences") or []
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise _validation(f"inferenceConfig.stopSequences: expected a list of strings, got {stop!r:.80}")
    return ChatRequest(
        model_id=model_id,
        messages=tuple(messages),
        system=_text_of(body.get("system")),
        max_tokens=max_tokens,
        temperature=float(temperature) if isinstance(temperature, int | float) else None,
        stop=tuple(stop),
    )


def converse_body(result: ChatResult, latency_ms: int) -> dict[str, Any]:
    """The Converse response document."""
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": result.text}]}},
        "stopReason": result.stop_reason,
        "usage": _usage(result),
        "metrics": {"latencyMs": latency_ms},
    }


def _usage(result: ChatResult) -> dict[str, int]:
    return {
        "inputTokens": result.input_tokens,
        "outputTokens": result.output_tokens,
        "totalTokens": result.input_tokens + result.output_tokens,
    }


class _Routes:
    """The route handlers, bound to one emulator's state."""

    def __init__(self, state: Emulator) -> None:
        self.state = state
        self.settings = state.settings

    async def admitted(self, request: Request) -> tuple[str, dict[str, Any]]:
        """Signature, body, then the model's faults: latency first, then its verdict."""
        _require_signature(request)
        model_id = unquote(request.path_params["model_id"])
        body = await _json_body(request)
        draw = self.state.faults.draw(model_id)
        if draw.latency_s:
            await asyncio.sleep(draw.latency_s)
        if draw.verdict != "ok":
            self.state.failed[model_id] += 1
            raise _fault_error(draw)
        return model_id, body

    def chat_request(self, model_id: str, body: Mapping[str, Any]) -> tuple[ChatRequest, str]:
        """The backend request and backend name, after Bedrock's own checks."""
        rule = self.settings.rule_for(model_id)
        if rule.backend in EMBEDDING_BACKENDS:
            raise _validation(f"The model {model_id} is an embedding model: call InvokeModel, not Converse.")
        chat = parse_converse(model_id, body)
        prompt = "\n".join([chat.system, *(m.text for m in chat.messages)])
        if len(prompt.split()) > rule.max_input_tokens:
            raise _validation("Input is too long for requested model.")
        self.state.record(model_id, "converse", prompt)
        return chat, rule.backend

    async def converse(self, request: Request) -> Response:
        model_id, body = await self.admitted(request)
        chat, backend_name = self.chat_request(model_id, body)
        backend = await run_in_threadpool(self.state.pool.chat, backend_name)
        started = time.perf_counter()
        result = await run_in_threadpool(backend.generate, chat, lambda _piece: None)
        self.state.served[model_id] += 1
        return JSONResponse(
            converse_body(result, int((time.perf_counter() - started) * 1000)),
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )

    async def converse_stream(self, request: Request) -> Response:
        model_id, body = await self.admitted(request)
        chat, backend_name = self.chat_request(model_id, body)
        backend = await run_in_threadpool(self.state.pool.chat, backend_name)
        return StreamingResponse(
            _stream_events(self.state, model_id, backend.generate, chat),
            media_type="application/vnd.amazon.eventstream",
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )

    async def invoke(self, request: Request) -> Response:
        model_id, body = await self.admitted(request)
        rule = self.settings.rule_for(model_id)
        if rule.backend not in EMBEDDING_BACKENDS:
            raise _validation(
                f"The emulator serves InvokeModel for embedding models only; call Converse for {model_id}."
            )
        text = body.get("inputText")
        if not isinstance(text, str) or not text:
            raise _validation(_MISSING_INPUT_TEXT)
        backend = await run_in_threadpool(self.state.pool.embedding, rule.backend)
        tokens = backend.count_tokens(text)
        if tokens > rule.max_input_tokens:
            raise _validation("Input is too long for requested model.")
        self.state.record(model_id, "invoke", text)
        [vector] = await run_in_threadpool(backend.embed, [text])
        self.state.served[model_id] += 1
        return JSONResponse(
            {"embedding": vector, "embeddingsByType": {"float": vector}, "inputTextTokenCount": tokens},
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )

    async def guardrail(self, request: Request) -> Response:
        _require_signature(request)
        body = await _json_body(request)
        if body.get("source") not in ("INPUT", "OUTPUT"):
            raise _validation(f"source: expected INPUT or OUTPUT, got {body.get('source')!r}")
        if not isinstance(body.get("content"), list):
            raise _validation("content: expected a list of content blocks ({'text': {'text': ...}})")
        return JSONResponse(apply_guardrail(body, self.state.guardrail))

    async def openai_chat(self, request: Request) -> Response:
        """LiteLLM's own benchmark endpoint, on loopback: a canned OpenAI chat completion after the scripted latency.

        LiteLLM's load tests call a fake OpenAI server (``openai/fake`` at its ``api_base``); the
        gateway benchmark's baseline does the same here, so the baseline pays a real HTTP round trip
        as the Bedrock variants do, at the same latency. Not an emulation of OpenAI: no auth, no checks.
        """
        body = await _json_body(request)
        if self.settings.scripted_latency_ms:
            await asyncio.sleep(self.settings.scripted_latency_ms / 1000)
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": str(body.get("model", "fake")),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "Hello from the benchmark."},
                        "finish_reason": "stop",
                    },
                ],
                "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14},
            }
        )

    async def health(self, _request: Request) -> Response:
        status = 200 if self.state.ready else 503
        return JSONResponse({"ready": self.state.ready, "backends": self.state.pool.loaded()}, status_code=status)

    async def faults(self, request: Request) -> Response:
        board = self.state.faults
        if request.method == "GET":
            return JSONResponse({k: v.model_dump() for k, v in board.snapshot().items()})
        model_id = unquote(request.path_params.get("model_id", "")) or None
        if request.method == "DELETE":
            board.clear(model_id)
            return JSONResponse({"cleared": model_id or "*all*"})
        if model_id is None:
            return JSONResponse({"message": "PUT /_emulator/faults/{model_id} (use * for every model)"}, 400)
        try:
            new = Faults.model_validate(await _json_body(request))
        except ValidationError as error:
            problems = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in error.errors()]
            return JSONResponse({"message": "invalid faults", "problems": problems}, 400)
        board.set(model_id, new)
        return JSONResponse({model_id: new.model_dump()})

    async def received(self, request: Request) -> Response:
        model_id = request.query_params.get("model")
        rows = [r.__dict__ for r in self.state.received if model_id is None or r.model_id == model_id]
        return JSONResponse({"requests": rows, "served": dict(self.state.served), "failed": dict(self.state.failed)})


async def _on_error(_request: Request, error: Exception) -> Response:
    if isinstance(error, BedrockError):
        return _error_response(error)
    if isinstance(error, PromptTooLongError):
        return _error_response(_validation("Input is too long for requested model."))
    if isinstance(error, LocalStackError):
        return _error_response(BedrockError(500, "InternalServerException", str(error)))
    raise error


def build_app(settings: EmulatorSettings, *, warm: bool = True) -> Starlette:
    """The emulator as an ASGI app; ``warm`` loads the models before health reports ready."""
    state = Emulator(settings)
    routes = _Routes(state)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if warm:
            await run_in_threadpool(state.pool.warm)
        state.ready = True
        yield

    model = "/model/{model_id:path}"
    app = Starlette(
        routes=[
            Route(f"{model}/converse", routes.converse, methods=["POST"]),
            Route(f"{model}/converse-stream", routes.converse_stream, methods=["POST"]),
            Route(f"{model}/invoke", routes.invoke, methods=["POST"]),
            Route("/guardrail/{guardrail_id}/version/{version}/apply", routes.guardrail, methods=["POST"]),
            Route(f"{OPENAI_BENCHMARK_PATH}/chat/completions", routes.openai_chat, methods=["POST"]),
            Route("/_emulator/health", routes.health),
            Route("/_emulator/faults", routes.faults, methods=["GET", "DELETE"]),
            Route("/_emulator/faults/{model_id:path}", routes.faults, methods=["PUT", "DELETE"]),
            Route("/_emulator/requests", routes.received),
        ],
        exception_handlers={BedrockError: _on_error, LocalStackError: _on_error},
        lifespan=lifespan,
    )
    app.state.emulator = state
    return app


async def _stream_events(state: Emulator, model_id: str, generate: Any, chat: ChatRequest) -> AsyncIterator[bytes]:
    """Run the backend in a thread and forward each piece as a ``contentBlockDelta`` frame."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    started = time.perf_counter()

    def on_text(piece: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, piece)

    async def produce() -> ChatResult:
        try:
            return await run_in_threadpool(generate, chat, on_text)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    task = asyncio.ensure_future(produce())
    yield encode_event("messageStart", {"role": "assistant"})
    while (piece := await queue.get()) is not None:
        if piece:
            yield encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
    try:
        result = await task
    except BackendError as error:
        yield encode_exception("internalServerException", str(error))
        return
    yield encode_event("contentBlockStop", {"contentBlockIndex": 0})
    yield encode_event("messageStop", {"stopReason": result.stop_reason})
    latency = int((time.perf_counter() - started) * 1000)
    yield encode_event("metadata", {"usage": _usage(result), "metrics": {"latencyMs": latency}})
    state.served[model_id] += 1
