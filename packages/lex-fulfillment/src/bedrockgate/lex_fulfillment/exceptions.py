"""Every error this package raises, and what each one means for the user's turn.

None of them leaves ``lambda_handler``: each ends as the configured failure message in a valid
Lex response, and as an ``outcome`` in the log line. They exist so that the code that detects a
fault can say precisely which one it was, and whether trying again could help.
"""

from __future__ import annotations

from bedrockgate.lex_fulfillment import outcomes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "ConfigurationError",
    "GatewayError",
    "GatewayResponseError",
    "GatewayStatusError",
    "GatewayTimeoutError",
    "GatewayUnreachableError",
    "LexFulfillmentError",
    "NoTimeError",
    "SecretUnavailableError",
]


class LexFulfillmentError(Exception):
    """Base class of every error raised by ``bedrockgate.lex_fulfillment``."""

    outcome: str = outcomes.INTERNAL_ERROR
    """The outcome an invocation that ends with this error logs."""


class ConfigurationError(LexFulfillmentError, ValueError):
    """The function's environment is not a configuration this handler can run with.

    ``problems`` holds one line per mistake, each naming the variable and how to fix it, so that
    one deploy fixes them all.
    """

    outcome = outcomes.CONFIGURATION_ERROR

    def __init__(self, problems: Sequence[str]) -> None:
        if not problems:
            raise ValueError("ConfigurationError needs at least one problem")
        self.problems: tuple[str, ...] = tuple(problems)
        count = len(self.problems)
        listed = "\n".join(f"- {problem}" for problem in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the Lex fulfillment settings:\n{listed}")


class SecretUnavailableError(LexFulfillmentError):
    """The gateway key could not be read from Secrets Manager (the message names the secret, never its value)."""

    outcome = outcomes.SECRET_UNAVAILABLE


class GatewayError(LexFulfillmentError):
    """The gateway call failed; ``retryable`` says whether the same request may succeed later."""

    outcome = outcomes.GATEWAY_REJECTED

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        """Seconds the gateway asked us to wait (``Retry-After``), when it said."""
        self.detail = detail
        """The start of the error body: logged only with the debug flag, as it may quote the user."""
        self.attempts = 1
        """How many attempts were made before giving up (set by the retry loop)."""


class GatewayTimeoutError(GatewayError):
    """No complete response before the attempt's timeout or the invocation's deadline."""

    outcome = outcomes.GATEWAY_TIMEOUT


class GatewayUnreachableError(GatewayError):
    """No HTTP response at all: connection refused or reset, name resolution, TLS."""

    outcome = outcomes.GATEWAY_UNREACHABLE


class GatewayStatusError(GatewayError):
    """An HTTP error status; the outcome follows the status class."""

    def __init__(self, status: int, *, retry_after: float | None = None, detail: str | None = None) -> None:
        super().__init__(
            f"the gateway answered HTTP {status}",
            status=status,
            retryable=status in _RETRYABLE_STATUSES,
            retry_after=retry_after,
            detail=detail,
        )
        self.outcome = _outcome_for_status(status)


class NoTimeError(GatewayError):
    """The invocation's deadline left too little time to start an attempt."""

    outcome = outcomes.NO_TIME


class GatewayResponseError(GatewayError):
    """A success status with a body that is not a usable chat completion."""

    outcome = outcomes.GATEWAY_BAD_RESPONSE


# 429 and the transient 5xx: the statuses LiteLLM, load balancers and CloudFront use for "try again".
_RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def _outcome_for_status(status: int) -> str:
    if status == 429:
        return outcomes.GATEWAY_RATE_LIMITED
    if status == 408:
        return outcomes.GATEWAY_TIMEOUT
    if status in (401, 403):
        return outcomes.GATEWAY_AUTH_FAILED
    if status >= 500:
        return outcomes.GATEWAY_SERVER_ERROR
    return outcomes.GATEWAY_REJECTED
