"""``lambda_handler``: a Lex V2 event in, the gateway's answer out as a valid Lex V2 response, always.

Each invocation: read the event (``events``), read the conversation memory from the session
attributes (``memory``), ask the gateway within the invocation's deadline (``gateway``), split the
reply into Lex messages (``text``), store the new turn, and close the intent (``responses``). One
JSON log line records the outcome (``logs``).

Nothing raises out of it. A fault in the gateway, the key, the configuration, or this package
itself becomes the failure message in a valid response that keeps the session's attributes.
A raised exception would have Lex play its generic failure message instead (RecognizeText
documentation), and return no session state for the turn, so the conversation memory and the
client's attributes could not be carried forward.

Settings are read from the environment once per container, on its first invocation (Lambda
never changes a running container's environment); the Secrets Manager key is kept for the life
of the container.
"""

from __future__ import annotations

import os
import time

from bedrockgate.lex_fulfillment import outcomes
from bedrockgate.lex_fulfillment.api_key import KeyCache
from bedrockgate.lex_fulfillment.deadline import Deadline
from bedrockgate.lex_fulfillment.events import parse_event
from bedrockgate.lex_fulfillment.exceptions import (
    ConfigurationError,
    GatewayError,
    GatewayStatusError,
    LexFulfillmentError,
)
from bedrockgate.lex_fulfillment.gateway import build_messages, complete
from bedrockgate.lex_fulfillment.logs import JsonLog
from bedrockgate.lex_fulfillment.memory import MEMORY_ATTRIBUTE, decode, encode, fit, remember
from bedrockgate.lex_fulfillment.responses import close_response
from bedrockgate.lex_fulfillment.settings import DEFAULT_FAILURE_MESSAGE, Settings
from bedrockgate.lex_fulfillment.text import MAX_MESSAGE_UNITS, lex_length, split_reply
from bedrockgate.lex_fulfillment.transport import post

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Final

    from bedrockgate.lex_fulfillment.events import LexRequest
    from bedrockgate.lex_fulfillment.gateway import GatewayAnswer
    from bedrockgate.lex_fulfillment.memory import Turn
    from bedrockgate.lex_fulfillment.transport import Transport

__all__ = ["Fulfiller", "lambda_handler"]

_LEVELS: Final = {
    outcomes.ANSWERED: "INFO",
    outcomes.GUARDRAIL_BLOCKED: "INFO",
    outcomes.EMPTY_INPUT: "INFO",
    outcomes.GATEWAY_TIMEOUT: "WARNING",
    outcomes.GATEWAY_UNREACHABLE: "WARNING",
    outcomes.GATEWAY_RATE_LIMITED: "WARNING",
    outcomes.GATEWAY_SERVER_ERROR: "WARNING",
    outcomes.GATEWAY_BAD_RESPONSE: "WARNING",
    outcomes.NO_TIME: "WARNING",
}
"""Outcomes not listed log at ERROR: they need an operator (a key, a setting, a model alias, a bug)."""


class Fulfiller:
    """The handler bound to its settings and collaborators; calling it handles one invocation.

    ``lambda_handler`` builds one per container from the environment. Tests and other callers
    build their own: ``Fulfiller(Settings(...))(event, context)``. ``transport``, ``sleep`` and
    ``jitter`` replace the network, the pause between retries and the random part of the back-off.
    """

    __slots__ = ("_invocations", "_jitter", "_keys", "_log", "_sleep", "_transport", "settings")

    def __init__(
        self,
        settings: Settings,
        *,
        keys: KeyCache | None = None,
        transport: Transport = post,
        log: JsonLog | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self._keys = keys or KeyCache()
        self._transport = transport
        self._log = log or JsonLog()
        self._sleep = sleep
        self._jitter = jitter
        self._invocations = 0

    def __call__(self, event: object, context: object = None) -> dict[str, Any]:
        """Answer one Lex V2 event with a Lex V2 response; never raises."""
        started = time.perf_counter()
        self._invocations += 1
        record: dict[str, object] = {"cold_start": self._invocations == 1}
        level = "ERROR"
        try:
            response, level = self._respond(event, context, record)
        except Exception as error:  # a bug here must still leave the user with an answer
            record["outcome"] = outcomes.INTERNAL_ERROR
            record["error"] = _describe_bug(error, debug=self.settings.debug)
            response = _last_resort(event, self.settings.failure_message)
        record["latency_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
        self._log.emit(level, "lex_turn", record)
        return response

    def _respond(self, event: object, context: object, record: dict[str, object]) -> tuple[dict[str, Any], str]:
        settings = self.settings
        request = parse_event(event)
        record.update(_request_fields(request, context))
        turns, memory_note = decode(request.session_attributes.get(MEMORY_ATTRIBUTE))
        if memory_note:
            record["memory_note"] = memory_note
        outcome, reply, turns = self._answer(request, turns, context, record)
        messages = split_reply(reply, settings.max_messages) or [settings.failure_message]
        kept = fit(turns, max_turns=settings.memory_turns, max_chars=settings.memory_max_chars)
        attributes = dict(request.session_attributes)
        if kept:
            attributes[MEMORY_ATTRIBUTE] = encode(kept)
        else:
            attributes.pop(MEMORY_ATTRIBUTE, None)
        record.update(outcome=outcome, messages=len(messages), reply_chars=len(reply), memory_turns=len(kept))
        if settings.debug:
            record.update(user_text=request.text, reply=reply)
        response = close_response(
            intent_name=request.intent_name,
            messages=messages,
            session_attributes=attributes,
            active_contexts=request.active_contexts,
        )
        return response, _LEVELS.get(outcome, "ERROR")

    def _answer(
        self, request: LexRequest, turns: list[Turn], context: object, record: dict[str, object]
    ) -> tuple[str, str, list[Turn]]:
        """``(outcome, reply, turns to remember)`` for one request."""
        settings = self.settings
        if not request.text:
            return outcomes.EMPTY_INPUT, settings.empty_input_message, turns
        deadline = Deadline.for_invocation(context, settings.total_timeout, settings.deadline_margin)
        record["budget_s"] = round(deadline.remaining(), 3)
        started = time.perf_counter()
        try:
            answer = self._ask(request.text, turns, deadline)
        except LexFulfillmentError as error:
            record.update(_error_fields(error, debug=settings.debug))
            return error.outcome, settings.failure_message, turns
        finally:
            record["gateway_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
        record.update(attempts=answer.attempts, status=answer.status)
        if answer.blocked:
            # Not remembered: sending a blocked exchange again would have every later turn blocked too.
            return outcomes.GUARDRAIL_BLOCKED, answer.text or settings.blocked_message, turns
        remembered = remember(turns, request.text, answer.text, max_chars=settings.memory_max_chars)
        return outcomes.ANSWERED, answer.text, remembered

    def _ask(self, text: str, turns: list[Turn], deadline: Deadline) -> GatewayAnswer:
        """The gateway's answer, reading the key again once if the gateway rejects it (a rotation)."""
        settings = self.settings
        key = self._keys.api_key(settings, deadline.remaining())
        if key:
            self._log.redact(key)
        messages = build_messages(settings.system_prompt, turns, text)
        try:
            return self._complete(messages, key, deadline)
        except GatewayStatusError as error:
            if error.status != 401 or settings.api_key_secret_arn is None:
                raise
            self._keys.invalidate(settings)
            fresh = self._keys.api_key(settings, deadline.remaining())
            if fresh == key:
                raise
            if fresh:
                self._log.redact(fresh)
            answer = self._complete(messages, fresh, deadline)
            answer.attempts += error.attempts
            return answer

    def _complete(self, messages: list[dict[str, str]], key: str | None, deadline: Deadline) -> GatewayAnswer:
        return complete(
            messages,
            settings=self.settings,
            api_key=key,
            deadline=deadline,
            transport=self._transport,
            sleep=self._sleep,
            jitter=self._jitter,
        )


def _request_fields(request: LexRequest, context: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "session_id": request.session_id,
        "request_id": _request_id(context),
        "intent": request.intent_name,
        "invocation_source": request.invocation_source,
        "input_mode": request.input_mode,
        "text_source": request.text_source,
        "input_chars": len(request.text),
    }
    if request.input_truncated:
        fields["input_truncated"] = True
    return fields


def _error_fields(error: LexFulfillmentError, *, debug: bool) -> dict[str, object]:
    fields: dict[str, object] = {"error": str(error)}
    if isinstance(error, GatewayError):
        fields.update(attempts=error.attempts, status=error.status)
        if error.retry_after is not None:
            fields["retry_after_s"] = error.retry_after
        if debug and error.detail:
            fields["error_detail"] = error.detail  # the gateway's error body may quote the user
    return fields


def _request_id(context: object) -> str:
    try:
        value = getattr(context, "aws_request_id", None)
    except Exception:
        return ""
    return value[:64] if isinstance(value, str) else ""


def _describe_bug(error: BaseException, *, debug: bool) -> str:
    """Where a bug happened (exception type, file and line), without its message unless debugging.

    An exception's message can quote the data it choked on, which may be the user's words.
    """
    # traceback is only needed when something has gone wrong.
    import traceback  # noqa: PLC0415  # see above

    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    message = f": {str(error)[:500]}" if debug else ""
    return f"{type(error).__name__}{where}{message}"


def _last_resort(event: object, message: str) -> dict[str, Any]:
    """The failure message in the simplest valid response, keeping the session's attributes if it can."""
    try:
        request = parse_event(event)
        attributes, intent_name = request.session_attributes, request.intent_name
    except Exception:
        attributes, intent_name = {}, "FallbackIntent"
    return close_response(intent_name=intent_name, messages=[message], session_attributes=attributes)


# The container's handler (or why it cannot run), built on the first invocation.
_KEYS: Final = KeyCache()
_LOG: Final = JsonLog()
_container: Fulfiller | ConfigurationError | None = None


def lambda_handler(event: object, context: object) -> dict[str, Any]:
    """The Lambda entry point (``bedrockgate.lex_fulfillment.lambda_handler``): always a valid Lex V2 response."""
    try:
        fulfiller = _container_fulfiller()
    except Exception as error:  # reading the environment failed in a way Settings did not foresee
        fulfiller = ConfigurationError([f"the settings could not be read: {_describe_bug(error, debug=False)}"])
    if isinstance(fulfiller, ConfigurationError):
        return _misconfigured(event, context, fulfiller)
    return fulfiller(event, context)


def _container_fulfiller() -> Fulfiller | ConfigurationError:
    global _container  # noqa: PLW0603  # one handler per container, as Lambda reuses the module
    if _container is None:
        try:
            settings = Settings.from_environ()
        except ConfigurationError as error:
            _container = error
        else:
            _container = Fulfiller(settings, keys=_KEYS, log=_LOG)
            for warning in settings.warnings:
                _LOG.emit("WARNING", "settings_warning", {"warning": warning})
    return _container


def _misconfigured(event: object, context: object, error: ConfigurationError) -> dict[str, Any]:
    """The failure message, the session kept as it was, and every configuration problem in the log."""
    configured = os.environ.get("LEX_FAILURE_MESSAGE", "").strip()
    message = configured if configured and lex_length(configured) <= MAX_MESSAGE_UNITS else DEFAULT_FAILURE_MESSAGE
    record: dict[str, object] = {"outcome": outcomes.CONFIGURATION_ERROR, "problems": list(error.problems)}
    try:
        request = parse_event(event)
        record.update(_request_fields(request, context))
        response = close_response(
            intent_name=request.intent_name,
            messages=[message],
            session_attributes=request.session_attributes,
            active_contexts=request.active_contexts,
        )
    except Exception:
        response = _last_resort(event, message)
    _LOG.emit("ERROR", "lex_turn", record)
    return response
