"""An asynchronous client for the two OpenAI-compatible calls the suite makes: chat completions and embeddings.

Written on httpx rather than the openai SDK so that every attempt is ours to see: the SDK retries
on its own and reports neither how many attempts a request took nor what failed in between, and
both are part of the report.

The bound on requests in flight is a set of ``concurrency`` *lanes*, each an httpx client with
exactly one keep-alive connection, handed out through a queue: an attempt takes a lane while it
is on the wire (never while it waits to retry) and gives it back. One shared pool of that size
would do the same, but httpcore scans its whole pool for every request, which at concurrency 16
cost more CPU per request than the rest of the run together.

Failures are values, not exceptions: each has a ``kind`` for the error breakdown (``timeout``,
``connection``, ``malformed_response``, ``http_<status>``), says whether a retry may help, and
whether it is *fatal*, meaning that every further request would fail the same way (HTTP 401, 403,
404); the runner stops the run on those.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.metadata
import json
import math
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
from bedrockgate.evals.retry import RetryPolicy, parse_retry_after

__all__ = [
    "Attempted",
    "ChatReply",
    "EmbeddingReply",
    "Failure",
    "GatewayClient",
    "Usage",
]

_T = TypeVar("_T")
COST_HEADER = "x-litellm-response-cost"
_FATAL_STATUSES = frozenset({401, 403, 404})
_RETRYABLE_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the endpoint reported them (``None`` when it did not)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ChatReply:
    """The first choice of a chat completion."""

    text: str
    finish_reason: str | None
    model: str | None
    """The model the endpoint says answered (a gateway's fallback shows here)."""
    usage: Usage
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class EmbeddingReply:
    """One vector per input text, in input order."""

    vectors: tuple[tuple[float, ...], ...]
    usage: Usage
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a request produced no usable reply."""

    kind: str
    message: str
    status: int | None = None

    @property
    def retryable(self) -> bool:
        """Timeouts, dropped connections, garbled bodies, 408/425/429 and every 5xx may pass on a retry."""
        if self.status is None:
            return True
        return self.kind == "malformed_response" or self.status in _RETRYABLE_STATUSES or self.status >= 500

    @property
    def fatal(self) -> bool:
        """A refused key (401/403) or a wrong URL or model (404): no other question will fare better."""
        return self.kind.startswith("http_") and self.status in _FATAL_STATUSES

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Attempted(Generic[_T]):
    """A request's outcome after its retries: the value or the last failure, and what it took."""

    value: _T | None
    failure: Failure | None
    attempts: int
    latency_ms: float | None
    """The successful attempt's time on the wire; ``None`` on failure."""
    elapsed_ms: float
    """From the first attempt to the outcome, waits between retries included."""


class _MalformedError(Exception):
    """The body arrived but is not the OpenAI shape."""


class GatewayClient:
    """Chat and embedding calls against one OpenAI-compatible base URL (``.../v1``), with a bound on requests in flight.

    ``rng`` and ``sleep`` drive the backoff; tests pass their own.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        api_key: str | None,
        concurrency: int,
        timeout_s: float,
        retry: RetryPolicy,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._timeout_s = timeout_s
        self._retry = retry
        self._rng = rng or random.Random()  # noqa: S311  (backoff jitter, not cryptography)
        self._sleep = sleep
        headers = {"User-Agent": _user_agent()}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._base_url = httpx.URL(endpoint.rstrip("/") + "/")
        self._clients = [
            httpx.AsyncClient(
                base_url=self._base_url,
                headers=headers,
                verify=_ssl_context(),
                # The asyncio deadline in _attempt is the real limit; httpx's is a backstop a little later.
                timeout=httpx.Timeout(timeout_s + 1.0),
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
            for _ in range(concurrency)
        ]
        self._lanes: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in self._clients:
            self._lanes.put_nowait(client)

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every lane's connection."""
        await asyncio.gather(*(client.aclose() for client in self._clients))

    def url(self, path: str) -> str:
        """The absolute URL of an API path, for messages."""
        return str(self._base_url.join(path))

    async def chat(
        self, *, model: str, messages: Sequence[Mapping[str, str]], max_tokens: int, temperature: float
    ) -> Attempted[ChatReply]:
        """``POST chat/completions``, retried per the policy."""
        payload = {"model": model, "messages": list(messages), "max_tokens": max_tokens, "temperature": temperature}
        return await self._call("chat/completions", payload, _parse_chat)

    async def embed(self, *, model: str, texts: Sequence[str]) -> Attempted[EmbeddingReply]:
        """``POST embeddings`` for several texts at once, retried per the policy."""
        payload = {"model": model, "input": list(texts), "encoding_format": "float"}

        def parse(data: Any, headers: httpx.Headers) -> EmbeddingReply:
            return _parse_embeddings(data, headers, len(texts))

        return await self._call("embeddings", payload, parse)

    async def _call(
        self, path: str, payload: Mapping[str, Any], parse: Callable[[Any, httpx.Headers], _T]
    ) -> Attempted[_T]:
        start = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            lane = await self._lanes.get()
            try:
                sent = time.perf_counter()
                value, failure, retry_after = await self._attempt(lane, path, payload, parse)
                latency_ms = (time.perf_counter() - sent) * 1000.0
            finally:
                self._lanes.put_nowait(lane)
            if failure is None:
                elapsed_ms = (time.perf_counter() - start) * 1000.0
                return Attempted(value, None, attempt, latency_ms, elapsed_ms)
            if failure.fatal or not failure.retryable or attempt >= self._retry.max_attempts:
                return Attempted(None, failure, attempt, None, (time.perf_counter() - start) * 1000.0)
            await self._sleep(self._retry.delay(attempt, retry_after, self._rng))

    async def _attempt(
        self, lane: httpx.AsyncClient, path: str, payload: Mapping[str, Any], parse: Callable[[Any, httpx.Headers], _T]
    ) -> tuple[_T | None, Failure | None, float | None]:
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await lane.post(path, json=payload)
        except (TimeoutError, httpx.TimeoutException):
            return None, Failure("timeout", f"no complete response within {self._timeout_s:g} s"), None
        except httpx.TransportError as error:
            return None, Failure("connection", f"{type(error).__name__}: {_one_line(str(error))}"), None
        status = response.status_code
        if status >= 400:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            return None, Failure(f"http_{status}", f"HTTP {status}: {_error_text(response)}", status), retry_after
        try:
            data = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            snippet = _one_line(response.content[:80].decode("utf-8", "replace"))
            return None, Failure("malformed_response", f"the body is not JSON ({error}): {snippet!r}", status), None
        try:
            return parse(data, response.headers), None, None
        except _MalformedError as error:
            return None, Failure("malformed_response", f"not an OpenAI response: {error}", status), None


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The TLS context httpx builds by default (certifi, or ``SSL_CERT_FILE``), made once: it takes ~50 ms."""
    return httpx.create_ssl_context()


@functools.cache
def _user_agent() -> str:
    return f"bedrockgate-evals/{importlib.metadata.version('bedrockgate-evals')}"


def _parse_chat(data: Any, headers: httpx.Headers) -> ChatReply:
    if not isinstance(data, dict):
        raise _MalformedError(f"the body is a JSON {type(data).__name__}, not an object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _MalformedError('no "choices" list')
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise _MalformedError('choices[0] has no "message" object')
    content = message.get("content")
    if content is None:  # a refusal or a filtered answer: scored as an empty answer, not an error
        text = ""
    elif isinstance(content, str):
        text = content
    elif isinstance(content, list):  # content parts, as some OpenAI-compatible servers return
        text = "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    else:
        raise _MalformedError(f"choices[0].message.content is a {type(content).__name__}")
    finish_reason = choices[0].get("finish_reason")
    model = data.get("model")
    usage = _usage(data.get("usage"))
    return ChatReply(
        text=text,
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        model=model if isinstance(model, str) else None,
        usage=usage,
        cost_usd=_cost(headers, data.get("usage")),
    )


def _parse_embeddings(data: Any, headers: httpx.Headers, expected: int) -> EmbeddingReply:
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise _MalformedError('no "data" list of embeddings')
    items = data["data"]
    if len(items) != expected:
        raise _MalformedError(f"{len(items)} embeddings for {expected} inputs")
    by_index: dict[int, tuple[float, ...]] = {}
    for position, item in enumerate(items):
        vector = item.get("embedding") if isinstance(item, dict) else None
        index = item.get("index", position) if isinstance(item, dict) else position
        if (
            not isinstance(vector, list)
            or not vector
            or not all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in vector)
        ):
            raise _MalformedError(f"data[{position}].embedding is not a list of numbers")
        if not isinstance(index, int) or index in by_index or not 0 <= index < expected:
            raise _MalformedError(f"data[{position}].index is missing, repeated or out of range")
        by_index[index] = tuple(float(x) for x in vector)
    vectors = tuple(by_index[index] for index in range(expected))
    if len({len(vector) for vector in vectors}) > 1:
        raise _MalformedError("the embeddings differ in length")
    return EmbeddingReply(vectors, _usage(data.get("usage")), _cost(headers, data.get("usage")))


def _usage(value: Any) -> Usage:
    if not isinstance(value, dict):
        return Usage()

    def count(key: str) -> int | None:
        number = value.get(key)
        return number if isinstance(number, int) and not isinstance(number, bool) and number >= 0 else None

    return Usage(count("prompt_tokens"), count("completion_tokens"), count("total_tokens"))


def _cost(headers: httpx.Headers, usage: Any) -> float | None:
    """LiteLLM's ``x-litellm-response-cost`` header (USD), else ``usage.cost``; ``None`` when neither is there."""
    candidates: list[Any] = [headers.get(COST_HEADER)]
    if isinstance(usage, dict):
        candidates.append(usage.get("cost"))
    for candidate in candidates:
        if candidate is None or isinstance(candidate, bool):
            continue
        try:
            cost = float(candidate)
        except (TypeError, ValueError):
            continue
        if math.isfinite(cost) and cost >= 0:
            return cost
    return None


def _error_text(response: httpx.Response) -> str:
    """The message of an OpenAI/LiteLLM error body (``{"error": {"message": ...}}``), or the start of the body."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return _one_line(error["message"])
        if isinstance(error, str):
            return _one_line(error)
        if isinstance(body.get("detail"), str):
            return _one_line(body["detail"])
    text = _one_line(response.content[:200].decode("utf-8", "replace"))
    return text or response.reason_phrase or "no body"


def _one_line(text: str, limit: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
