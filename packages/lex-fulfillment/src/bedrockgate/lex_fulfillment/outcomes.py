"""The outcome of one invocation: the word that the log line carries and dashboards count.

Plain string constants rather than an ``Enum``: they go straight into JSON and into the
dashboards' filters as they are, with no ``.value`` to forget. (Not for import cost: ``json``
imports ``re``, which imports ``enum``, so the handler loads ``enum`` anyway.)
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = [
    "ALL",
    "ANSWERED",
    "CONFIGURATION_ERROR",
    "EMPTY_INPUT",
    "FAILURES",
    "GATEWAY_AUTH_FAILED",
    "GATEWAY_BAD_RESPONSE",
    "GATEWAY_RATE_LIMITED",
    "GATEWAY_REJECTED",
    "GATEWAY_SERVER_ERROR",
    "GATEWAY_TIMEOUT",
    "GATEWAY_UNREACHABLE",
    "GUARDRAIL_BLOCKED",
    "INTERNAL_ERROR",
    "NO_TIME",
    "SECRET_UNAVAILABLE",
]

ANSWERED: Final = "answered"
"""The gateway answered; its reply is the message."""
GUARDRAIL_BLOCKED: Final = "guardrail_blocked"
"""A guardrail blocked the request or the reply; its own message (or the configured one) is the message."""
EMPTY_INPUT: Final = "empty_input"
"""The event carried no text to answer; the gateway was not called."""

GATEWAY_TIMEOUT: Final = "gateway_timeout"
GATEWAY_UNREACHABLE: Final = "gateway_unreachable"
"""Connection refused or reset, DNS failure, TLS failure: no HTTP response at all."""
GATEWAY_RATE_LIMITED: Final = "gateway_rate_limited"
"""HTTP 429 on the last attempt."""
GATEWAY_SERVER_ERROR: Final = "gateway_server_error"
"""HTTP 5xx on the last attempt."""
GATEWAY_AUTH_FAILED: Final = "gateway_auth_failed"
"""HTTP 401 or 403: the key is wrong, revoked or lacks access to the model alias."""
GATEWAY_REJECTED: Final = "gateway_rejected"
"""Any other HTTP 4xx, or an unexpected status: retrying the same request would not help."""
GATEWAY_BAD_RESPONSE: Final = "gateway_bad_response"
"""A success status whose body is not JSON, has no ``choices``, no text, or is too large."""
NO_TIME: Final = "no_time"
"""The invocation's deadline left no time to call the gateway."""
CONFIGURATION_ERROR: Final = "configuration_error"
SECRET_UNAVAILABLE: Final = "secret_unavailable"  # noqa: S105  # an outcome name, not a secret
INTERNAL_ERROR: Final = "internal_error"
"""A bug in this package; the user still gets the failure message."""

FAILURES: Final = frozenset(
    {
        GATEWAY_TIMEOUT,
        GATEWAY_UNREACHABLE,
        GATEWAY_RATE_LIMITED,
        GATEWAY_SERVER_ERROR,
        GATEWAY_AUTH_FAILED,
        GATEWAY_REJECTED,
        GATEWAY_BAD_RESPONSE,
        NO_TIME,
        CONFIGURATION_ERROR,
        SECRET_UNAVAILABLE,
        INTERNAL_ERROR,
    }
)
"""The outcomes whose message is the configured failure message."""

ALL: Final = FAILURES | {ANSWERED, GUARDRAIL_BLOCKED, EMPTY_INPUT}
