"""The chat completion call: the OpenAI-compatible request, what each answer means, and the retries.

Only LiteLLM's router retries Bedrock (its ``num_retries``): retrying a Bedrock error here as well
would multiply the attempts behind every turn. The retries here cover the hop from Lambda to the
gateway: HTTP 429 and the transient 5xx, a refused or reset connection, and a timeout, each only
while the invocation's deadline leaves time for another attempt (``LEX_MIN_ATTEMPT_SECONDS``). The
pause before a retry is "full jitter" exponential back-off (a random fraction of ``base * 2**n``,
capped), the scheme AWS recommends for throttling; a ``Retry-After`` (or ``retry-after-ms``) from
the gateway is a floor on it, and a pause that would cross the deadline ends the call at once
rather than sleeping for nothing.

A guardrail block is an answer, not a failure: LiteLLM's Bedrock guardrail answers HTTP 400 with
``{"error": {"message": "Violated guardrail policy", "provider_specific_fields":
{"bedrock_guardrail_response": "<the guardrail's message>", ...}}}`` (litellm 1.106.2; older
releases put a Python ``repr`` of that dict in ``message``, which is read too). A guardrail
configured not to raise, and Bedrock's own guardrail, answer 200 with the message as content
and ``finish_reason`` ``content_filter`` or ``guardrail_intervened``.
"""

from __future__ import annotations

import json
import math
import time

from bedrockgate.lex_fulfillment._version import __version__
from bedrockgate.lex_fulfillment.exceptions import GatewayError, GatewayResponseError, GatewayStatusError, NoTimeError
from bedrockgate.lex_fulfillment.text import clean_text
from bedrockgate.lex_fulfillment.transport import post

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, Final

    from bedrockgate.lex_fulfillment.deadline import Deadline
    from bedrockgate.lex_fulfillment.memory import Turn
    from bedrockgate.lex_fulfillment.settings import Settings
    from bedrockgate.lex_fulfillment.transport import RawResponse, Transport

__all__ = ["USER_AGENT", "GatewayAnswer", "backoff", "build_messages", "complete", "interpret"]

USER_AGENT: Final = f"bedrockgate-lex-fulfillment/{__version__}"
_BLOCKED_FINISH_REASONS: Final = frozenset({"content_filter", "guardrail_intervened"})
_GUARDRAIL_MARK: Final = "Violated guardrail policy"
_DETAIL_BYTES: Final = 2000


class GatewayAnswer:
    """What the gateway said: the reply text, and whether a guardrail wrote it."""

    __slots__ = ("attempts", "blocked", "status", "text")

    def __init__(self, text: str, *, blocked: bool = False, status: int = 200, attempts: int = 1) -> None:
        self.text = text
        """The reply; for a block, the guardrail's message (may be empty: then use the configured one)."""
        self.blocked = blocked
        self.status = status
        self.attempts = attempts

    def __repr__(self) -> str:
        return f"GatewayAnswer({len(self.text)} chars, blocked={self.blocked}, status={self.status})"


def build_messages(system_prompt: str, history: Sequence[Turn], text: str) -> list[dict[str, str]]:
    """The chat: the system prompt, the remembered turns (oldest first), then the user's text."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for user, assistant in history:
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": assistant})
    messages.append({"role": "user", "content": text})
    return messages


def complete(
    messages: Sequence[dict[str, str]],
    *,
    settings: Settings,
    api_key: str | None,
    deadline: Deadline,
    transport: Transport = post,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] | None = None,
) -> GatewayAnswer:
    """Ask the gateway, retrying what may succeed, until an answer, a final error, or the deadline."""
    payload: dict[str, Any] = {"model": settings.model, "messages": list(messages), "stream": False}
    if settings.max_tokens is not None:
        payload["max_tokens"] = settings.max_tokens
    # ASCII JSON: no text, however odd, can make the request body fail to encode.
    body = json.dumps(payload, separators=(",", ":")).encode("ascii")
    headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": USER_AGENT}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    minimum = settings.effective_min_attempt_time
    last_error: GatewayError | None = None
    for attempt in range(1, settings.max_attempts + 1):
        if deadline.remaining() < minimum:
            # Only before the first attempt, or when a pause overslept: the pause was checked to fit.
            raise last_error or NoTimeError(
                f"{deadline.remaining():.2f} s left, less than {minimum:g} s for an attempt"
            )
        try:
            answer = interpret(transport(settings.url, body, headers, deadline, settings.effective_attempt_timeout))
        except GatewayError as error:
            error.attempts = attempt
            if not error.retryable or attempt == settings.max_attempts:
                raise
            pause = backoff(attempt, settings.backoff_base, settings.backoff_cap, error.retry_after, jitter)
            if deadline.remaining() - pause < minimum:
                raise
            last_error = error
            sleep(pause)
        else:
            answer.attempts = attempt
            return answer
    raise last_error or NoTimeError("no attempt was made")


def backoff(
    attempt: int, base: float, cap: float, retry_after: float | None, jitter: Callable[[], float] | None = None
) -> float:
    """Seconds to wait after failed attempt number ``attempt``: full jitter, at least ``retry_after``."""
    if jitter is None:
        # random is needed only when a retry is due; keep it off the cold-start path.
        import random  # noqa: PLC0415  # see above

        jitter = random.random
    ceiling = min(cap, base * 2.0 ** (attempt - 1))
    return max(retry_after or 0.0, jitter() * ceiling)


def interpret(response: RawResponse) -> GatewayAnswer:
    """What an HTTP response from the gateway means: an answer, or a ``GatewayError`` to raise."""
    if 200 <= response.status < 300:
        return _completion(response)
    blocked = _guardrail_message(response.body) if 400 <= response.status < 500 else None
    if blocked is not None:
        return GatewayAnswer(blocked, blocked=True, status=response.status)
    raise GatewayStatusError(
        response.status,
        retry_after=_retry_after(response.headers),
        detail=response.body[:_DETAIL_BYTES].decode("utf-8", "replace"),
    )


def _completion(response: RawResponse) -> GatewayAnswer:
    detail = response.body[:_DETAIL_BYTES].decode("utf-8", "replace")
    try:
        data = json.loads(response.body)
    except (ValueError, RecursionError):
        raise GatewayResponseError("the response body is not JSON", status=response.status, detail=detail) from None
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise GatewayResponseError("the response has no choices", status=response.status, detail=detail)
    choice = choices[0]
    message = choice.get("message")
    text = _content_text(message.get("content") if isinstance(message, dict) else None)
    blocked = choice.get("finish_reason") in _BLOCKED_FINISH_REASONS
    if not text.strip() and not blocked:
        raise GatewayResponseError("the response has no reply text", status=response.status, detail=detail)
    return GatewayAnswer(text, blocked=blocked, status=response.status)


def _content_text(content: object) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return clean_text(content)
    if isinstance(content, list):
        parts = [
            part["text"]
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", None) and isinstance(part.get("text"), str)
        ]
        return clean_text("".join(parts))
    return ""


def _guardrail_message(body: bytes) -> str | None:
    """The guardrail's own message when the body is LiteLLM's guardrail block, else ``None``."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    fields = error.get("provider_specific_fields")
    if isinstance(fields, dict) and isinstance(fields.get("bedrock_guardrail_response"), str):
        return clean_text(fields["bedrock_guardrail_response"]).strip()
    message = error.get("message")
    if not isinstance(message, str) or _GUARDRAIL_MARK not in message:
        return None
    legacy = _parse_literal(message)
    blocked = legacy.get("bedrock_guardrail_response") if isinstance(legacy, dict) else None
    return clean_text(blocked).strip() if isinstance(blocked, str) else ""


def _parse_literal(text: str) -> object:
    """The dict that older LiteLLM releases wrote as JSON or as a Python ``repr``; ``None`` if neither."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    # Needed only for the legacy block format; ast is a large import to pay at cold start.
    import ast  # noqa: PLC0415  # see above

    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _retry_after(headers: dict[str, str]) -> float | None:
    """The wait the gateway asks for: ``retry-after-ms`` (OpenAI style) or ``retry-after`` in seconds.

    An HTTP-date ``Retry-After`` is ignored: the back-off then applies alone.
    """
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw.strip()) * scale
        except ValueError:
            continue
        if math.isfinite(value):
            return max(0.0, value)
    return None
