"""When to try a request again, and how long to wait first.

Exponential backoff with full jitter (a uniform wait between 0 and ``backoff * 2**(n-1)``, capped):
the pattern AWS recommends for Bedrock throttling, and the one that stops a fleet of clients from
retrying in lockstep. A ``Retry-After`` header from the gateway (LiteLLM sends one with 429s) is a
floor on the wait, itself capped, so one bad header cannot stall a run.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from bedrockgate.evals.exceptions import ConfigError

__all__ = ["RetryPolicy", "parse_retry_after"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most ``retries`` more attempts after the first, on a retryable failure only."""

    retries: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 20.0

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ConfigError(f"--retries must be 0 or more, not {self.retries}")
        if not (math.isfinite(self.backoff_s) and self.backoff_s >= 0):
            raise ConfigError(f"--backoff must be 0 or more seconds, not {self.backoff_s}")
        if not (math.isfinite(self.max_backoff_s) and self.max_backoff_s >= 0):
            raise ConfigError(f"--max-backoff must be 0 or more seconds, not {self.max_backoff_s}")

    @property
    def max_attempts(self) -> int:
        """The first attempt plus every retry."""
        return self.retries + 1

    def delay(self, retry: int, retry_after_s: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry).

        >>> policy = RetryPolicy(retries=3, backoff_s=1.0, max_backoff_s=5.0)
        >>> all(0 <= policy.delay(n, None, random.Random(n)) <= min(5.0, 2 ** (n - 1)) for n in range(1, 9))
        True
        >>> policy.delay(1, 3.0, random.Random(0)) >= 3.0, policy.delay(1, 60.0, random.Random(0))
        (True, 5.0)
        """
        ceiling = min(self.max_backoff_s, self.backoff_s * 2.0 ** min(retry - 1, 60))
        wait = rng.uniform(0.0, ceiling)
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, self.max_backoff_s))
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header as seconds (delta-seconds or an HTTP date); ``None`` when absent or unreadable.

    >>> parse_retry_after("2"), parse_retry_after("0.5"), parse_retry_after("soon")
    (2.0, 0.5, None)
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", datetime(2015, 10, 21, 7, 28, tzinfo=UTC))
    5.0
    """
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
