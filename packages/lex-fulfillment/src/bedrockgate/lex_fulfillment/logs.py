"""Structured logs: one JSON object per line on stdout, which Lambda sends to CloudWatch Logs.

Every invocation writes one ``lex_turn`` line with the session id, the outcome and the timings,
so CloudWatch Logs Insights can count outcomes and find a session's turns. What the user said
and what the gateway answered are added only when ``LEX_DEBUG`` is set. The gateway key never
appears: the handler registers every key it uses with ``redact``, and each line is scrubbed of
them before it is written, whatever path put them there.

Lines are written with ``ensure_ascii`` so that no text, however odd, can make a write fail, and
a failing write is dropped: logging never costs the user their answer.
"""

from __future__ import annotations

import json
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Final

__all__ = ["REDACTED", "JsonLog"]

REDACTED: Final = "[REDACTED]"
_MIN_SECRET_LENGTH: Final = 8  # shorter strings would scrub ordinary words; real keys are far longer


class JsonLog:
    """Writes JSON lines through ``write`` (default: stdout), scrubbing registered secrets."""

    __slots__ = ("_secrets", "_write")

    def __init__(self, write: Callable[[str], object] | None = None) -> None:
        self._write = write or _stdout
        self._secrets: set[str] = set()

    def redact(self, secret: str) -> None:
        """Never write ``secret`` (a key of 8 characters or more) in any later line."""
        if len(secret) >= _MIN_SECRET_LENGTH:
            self._secrets.add(secret)

    def emit(self, level: str, event: str, fields: dict[str, object]) -> None:
        """Write one line ``{"level": ..., "event": ..., **fields}``; never raises."""
        try:
            line = json.dumps({"level": level, "event": event, **fields}, default=repr, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError):
            line = json.dumps({"level": level, "event": event, "log_error": "fields could not be serialised"})
        for secret in self._secrets:
            if secret in line:
                line = line.replace(secret, REDACTED)
        try:
            self._write(line + "\n")
        except Exception:
            return  # a lost log line must not cost the user their answer


def _stdout(line: str) -> None:
    sys.stdout.write(line)
    sys.stdout.flush()
