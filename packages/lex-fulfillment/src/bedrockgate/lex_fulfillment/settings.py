"""The handler's configuration, read from the Lambda function's environment and checked in full.

Every value has a name in the environment (the table in the README) and a default where one is
sensible. A bad configuration does not crash the function: each invocation answers with the
failure message and logs every problem at once, each naming the variable and how to fix it.

The budget defaults follow Lex: Lex V2 waits about 30 s for a code hook and then plays its own
timeout message, so the gateway call, retries and back-off included, gets 25 s in total
(``LEX_TOTAL_TIMEOUT_SECONDS``, at most 28), and never more than the Lambda invocation has left
minus a margin.
"""

from __future__ import annotations

import math
import os

from bedrockgate.lex_fulfillment.exceptions import ConfigurationError
from bedrockgate.lex_fulfillment.text import MAX_MESSAGE_UNITS, MAX_MESSAGES, clean_text, lex_length

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final

__all__ = [
    "DEFAULT_BLOCKED_MESSAGE",
    "DEFAULT_EMPTY_INPUT_MESSAGE",
    "DEFAULT_FAILURE_MESSAGE",
    "DEFAULT_SYSTEM_PROMPT",
    "ENVIRONMENT_VARIABLES",
    "MAX_MEMORY_CHARS",
    "MAX_TOTAL_TIMEOUT",
    "GatewayURL",
    "Settings",
]

DEFAULT_SYSTEM_PROMPT: Final = (
    "You are a helpful assistant in a chat or voice conversation. Answer briefly, in plain text "
    "without Markdown, in the language of the question."
)
DEFAULT_FAILURE_MESSAGE: Final = "Sorry, I couldn't process your request. Please try again in a moment."
DEFAULT_BLOCKED_MESSAGE: Final = "Sorry, I can't help with that request."
DEFAULT_EMPTY_INPUT_MESSAGE: Final = "Sorry, I didn't catch that. Could you say it again?"

MAX_TOTAL_TIMEOUT: Final = 28.0
"""Lex V2 gives the code hook about 30 s; this leaves room for Lambda and Lex themselves."""
MAX_MEMORY_CHARS: Final = 12_000
"""Lex V1 documented 12 KB of session attributes per turn; V2 publishes no figure, so stay under it."""

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off", ""})


class GatewayURL:
    """Where ``/chat/completions`` lives: scheme, host, port and path, parsed once per container."""

    __slots__ = ("host", "path", "port", "scheme")

    def __init__(self, scheme: str, host: str, port: int, path: str) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path

    @classmethod
    def parse(cls, endpoint: str) -> GatewayURL:
        """Accept a base URL (``https://gw``), one ending in ``/v1``, or the full completions URL.

        Raises ``ValueError`` with what is wrong and what to write instead.
        """
        # urllib.parse pulls in re; it is needed once per container, when the settings are read.
        from urllib.parse import urlsplit  # noqa: PLC0415  # see above

        parts = urlsplit(endpoint.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL, e.g. https://gateway.example.com")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry credentials: give the key as LITELLM_API_KEY_SECRET_ARN")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query string or fragment: give the gateway's base URL")
        host = parts.hostname
        if not host:
            raise ValueError("has no host name, e.g. https://gateway.example.com")
        try:
            port = parts.port
        except ValueError:
            raise ValueError("has a port that is not a number from 0 to 65535") from None
        path = parts.path.rstrip("/")
        if not path.endswith("/chat/completions"):
            path += "/chat/completions" if path.endswith("/v1") else "/v1/chat/completions"
        return cls(scheme, host, port or (443 if scheme == "https" else 80), path)

    @property
    def is_loopback(self) -> bool:
        """Whether the host is this machine (where plain HTTP is fine)."""
        host = self.host.lower()
        return host in ("localhost", "::1") or host.startswith("127.") or host.endswith(".localhost")

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    def __repr__(self) -> str:
        return f"GatewayURL({str(self)!r})"


class Settings:
    """Everything the handler needs to know, validated: construct it, or ``from_environ()``.

    Raises ``ConfigurationError`` listing every problem. The API key never appears in a problem,
    a log line or the ``repr``.
    """

    __slots__ = (
        "api_key",
        "api_key_secret_arn",
        "api_key_secret_field",
        "attempt_timeout",
        "backoff_base",
        "backoff_cap",
        "blocked_message",
        "deadline_margin",
        "debug",
        "empty_input_message",
        "endpoint",
        "failure_message",
        "max_attempts",
        "max_messages",
        "max_tokens",
        "memory_max_chars",
        "memory_turns",
        "min_attempt_time",
        "model",
        "secret_region",
        "system_prompt",
        "total_timeout",
        "url",
        "warnings",
    )

    def __init__(
        self,
        *,
        endpoint: str = "",
        model: str = "",
        api_key: str | None = None,
        api_key_secret_arn: str | None = None,
        api_key_secret_field: str = "api_key",  # noqa: S107  # a JSON field name, not a password
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        total_timeout: float = 25.0,
        attempt_timeout: float = 20.0,
        min_attempt_time: float = 1.0,
        deadline_margin: float = 1.0,
        max_attempts: int = 3,
        backoff_base: float = 0.25,
        backoff_cap: float = 4.0,
        max_tokens: int | None = 1024,
        memory_turns: int = 6,
        memory_max_chars: int = 4000,
        max_messages: int = 4,
        failure_message: str = DEFAULT_FAILURE_MESSAGE,
        blocked_message: str = DEFAULT_BLOCKED_MESSAGE,
        empty_input_message: str = DEFAULT_EMPTY_INPUT_MESSAGE,
        debug: bool = False,
    ) -> None:
        problems: list[str] = []
        warnings: list[str] = []
        self.endpoint = endpoint.strip()
        self.url = _gateway_url(self.endpoint, problems, warnings)
        self.model = model.strip()
        if not self.model:
            problems.append("LITELLM_MODEL is not set: set it to a model alias of the gateway, e.g. claude-fast")
        self.api_key = _optional(api_key)
        self.api_key_secret_arn = _optional(api_key_secret_arn)
        self.api_key_secret_field = api_key_secret_field.strip() or "api_key"
        self.secret_region = _secret_region(self.api_key_secret_arn, problems)
        if self.api_key_secret_arn is not None and self.api_key is not None:
            warnings.append("both LITELLM_API_KEY_SECRET_ARN and LITELLM_API_KEY are set: the secret is used")
        self.system_prompt = clean_text(system_prompt.strip())

        self.total_timeout = float(total_timeout)
        self.attempt_timeout = float(attempt_timeout)
        self.min_attempt_time = float(min_attempt_time)
        self.deadline_margin = float(deadline_margin)
        self.backoff_base = float(backoff_base)
        self.backoff_cap = float(backoff_cap)
        self.max_attempts = max_attempts
        self.max_tokens = max_tokens
        self.memory_turns = memory_turns
        self.memory_max_chars = memory_max_chars
        self.max_messages = max_messages
        ranges: list[tuple[str, float, float, float, bool]] = [  # name, value, low, high, low excluded
            ("LEX_TOTAL_TIMEOUT_SECONDS", self.total_timeout, 0.0, MAX_TOTAL_TIMEOUT, True),
            ("LEX_ATTEMPT_TIMEOUT_SECONDS", self.attempt_timeout, 0.0, MAX_TOTAL_TIMEOUT, True),
            ("LEX_MIN_ATTEMPT_SECONDS", self.min_attempt_time, 0.0, MAX_TOTAL_TIMEOUT, True),
            ("LEX_DEADLINE_MARGIN_SECONDS", self.deadline_margin, 0.0, 10.0, False),
            ("LEX_BACKOFF_BASE_SECONDS", self.backoff_base, 0.0, 10.0, False),
            ("LEX_BACKOFF_CAP_SECONDS", self.backoff_cap, self.backoff_base, 30.0, False),
            ("LEX_MAX_ATTEMPTS", max_attempts, 1, 10, False),
            ("LEX_MAX_TOKENS", 1 if max_tokens is None else max_tokens, 1, 1_000_000, False),
            ("LEX_MEMORY_TURNS", memory_turns, 0, 50, False),
            ("LEX_MEMORY_MAX_CHARS", memory_max_chars, 256, MAX_MEMORY_CHARS, False),
            ("LEX_MAX_MESSAGES", max_messages, 1, MAX_MESSAGES, False),
        ]
        for name, value, low, high, low_excluded in ranges:
            _check_range(problems, name, value, low, high, low_excluded=low_excluded)

        self.failure_message = _message(problems, "LEX_FAILURE_MESSAGE", failure_message)
        self.blocked_message = _message(problems, "LEX_BLOCKED_MESSAGE", blocked_message)
        self.empty_input_message = _message(problems, "LEX_EMPTY_INPUT_MESSAGE", empty_input_message)
        self.debug = debug
        self.warnings: tuple[str, ...] = tuple(warnings)
        if problems:
            raise ConfigurationError(problems)

    @property
    def effective_attempt_timeout(self) -> float:
        """One attempt's timeout: never more than the whole budget."""
        return min(self.attempt_timeout, self.total_timeout)

    @property
    def effective_min_attempt_time(self) -> float:
        """The least time worth starting an attempt with: at most half an attempt's timeout."""
        return min(self.min_attempt_time, self.effective_attempt_timeout / 2)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``); see the README for the names."""
        read = _EnvReader(os.environ if environ is None else environ)
        try:
            settings = cls(
                endpoint=read.text("LITELLM_ENDPOINT", ""),
                model=read.text("LITELLM_MODEL", ""),
                api_key=read.text("LITELLM_API_KEY", ""),
                api_key_secret_arn=read.text("LITELLM_API_KEY_SECRET_ARN", ""),
                api_key_secret_field=read.text("LITELLM_API_KEY_SECRET_FIELD", "api_key"),
                system_prompt=read.text("LEX_SYSTEM_PROMPT", DEFAULT_SYSTEM_PROMPT),
                total_timeout=read.number("LEX_TOTAL_TIMEOUT_SECONDS", 25.0),
                attempt_timeout=read.number("LEX_ATTEMPT_TIMEOUT_SECONDS", 20.0),
                min_attempt_time=read.number("LEX_MIN_ATTEMPT_SECONDS", 1.0),
                deadline_margin=read.number("LEX_DEADLINE_MARGIN_SECONDS", 1.0),
                max_attempts=read.integer("LEX_MAX_ATTEMPTS", 3),
                backoff_base=read.number("LEX_BACKOFF_BASE_SECONDS", 0.25),
                backoff_cap=read.number("LEX_BACKOFF_CAP_SECONDS", 4.0),
                max_tokens=read.integer("LEX_MAX_TOKENS", 1024) or None,  # 0: let the gateway decide
                memory_turns=read.integer("LEX_MEMORY_TURNS", 6),
                memory_max_chars=read.integer("LEX_MEMORY_MAX_CHARS", 4000),
                max_messages=read.integer("LEX_MAX_MESSAGES", 4),
                failure_message=read.text("LEX_FAILURE_MESSAGE", DEFAULT_FAILURE_MESSAGE),
                blocked_message=read.text("LEX_BLOCKED_MESSAGE", DEFAULT_BLOCKED_MESSAGE),
                empty_input_message=read.text("LEX_EMPTY_INPUT_MESSAGE", DEFAULT_EMPTY_INPUT_MESSAGE),
                debug=read.flag("LEX_DEBUG"),
            )
        except ConfigurationError as error:
            raise ConfigurationError([*read.problems, *error.problems]) from None
        if read.problems:
            raise ConfigurationError(read.problems)
        return settings

    def __repr__(self) -> str:
        key = "set" if self.api_key else "unset"
        secret = self.api_key_secret_arn or "unset"
        return (
            f"Settings(endpoint={self.endpoint!r}, model={self.model!r}, api_key=<{key}>, "
            f"api_key_secret_arn={secret!r}, total_timeout={self.total_timeout}, "
            f"attempt_timeout={self.attempt_timeout}, max_attempts={self.max_attempts}, debug={self.debug})"
        )


ENVIRONMENT_VARIABLES: Final = (
    "LITELLM_ENDPOINT",
    "LITELLM_MODEL",
    "LITELLM_API_KEY",
    "LITELLM_API_KEY_SECRET_ARN",
    "LITELLM_API_KEY_SECRET_FIELD",
    "LEX_SYSTEM_PROMPT",
    "LEX_TOTAL_TIMEOUT_SECONDS",
    "LEX_ATTEMPT_TIMEOUT_SECONDS",
    "LEX_MIN_ATTEMPT_SECONDS",
    "LEX_DEADLINE_MARGIN_SECONDS",
    "LEX_MAX_ATTEMPTS",
    "LEX_BACKOFF_BASE_SECONDS",
    "LEX_BACKOFF_CAP_SECONDS",
    "LEX_MAX_TOKENS",
    "LEX_MEMORY_TURNS",
    "LEX_MEMORY_MAX_CHARS",
    "LEX_MAX_MESSAGES",
    "LEX_FAILURE_MESSAGE",
    "LEX_BLOCKED_MESSAGE",
    "LEX_EMPTY_INPUT_MESSAGE",
    "LEX_DEBUG",
)
"""Every variable ``Settings.from_environ`` reads: the handler re-reads settings only when one changes."""


class _EnvReader:
    """Typed reads of environment variables that collect problems instead of stopping at the first."""

    __slots__ = ("environ", "problems")

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def text(self, name: str, default: str) -> str:
        value = self.environ.get(name)
        return default if value is None else value

    def number(self, name: str, default: float) -> float:
        raw = self.environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            self.problems.append(f"{name}={raw[:80]!r} is not a number of seconds, e.g. 20 or 2.5")
            return default
        return value

    def integer(self, name: str, default: int) -> int:
        value = self.optional_integer(name)
        return default if value is None else value

    def optional_integer(self, name: str) -> int | None:
        raw = self.environ.get(name, "").strip()
        if not raw:
            return None
        try:
            return int(raw)
        except ValueError:
            self.problems.append(f"{name}={raw[:80]!r} is not a whole number")
            return None

    def flag(self, name: str) -> bool:
        raw = self.environ.get(name, "").strip().lower()
        if raw in _TRUE:
            return True
        if raw not in _FALSE:
            self.problems.append(f"{name}={raw[:80]!r} is not a yes/no value: write true or false")
        return False


def _gateway_url(endpoint: str, problems: list[str], warnings: list[str]) -> GatewayURL:
    placeholder = GatewayURL("https", "invalid", 443, "/v1/chat/completions")  # never used: problems raise
    if not endpoint:
        problems.append(
            "LITELLM_ENDPOINT is not set: set it to the gateway's base URL, e.g. https://gateway.example.com"
        )
        return placeholder
    try:
        url = GatewayURL.parse(endpoint)
    except ValueError as error:
        problems.append(f"LITELLM_ENDPOINT={endpoint[:200]!r} {error}")
        return placeholder
    if url.scheme == "http" and not url.is_loopback:
        warnings.append(
            f"LITELLM_ENDPOINT uses plain http to {url.host}: the gateway key travels unencrypted; use https"
        )
    return url


def _secret_region(arn: str | None, problems: list[str]) -> str | None:
    """The region in a Secrets Manager ARN (the client must call that region), or ``None``."""
    if arn is None:
        return None
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "secretsmanager" or not parts[3]:
        problems.append(
            f"LITELLM_API_KEY_SECRET_ARN={arn[:200]!r} is not a Secrets Manager ARN "
            "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
        )
        return None
    return parts[3]


def _optional(text: str | None) -> str | None:
    stripped = text.strip() if text else ""
    return stripped or None


def _check_range(
    problems: list[str], name: str, value: float, low: float, high: float, *, low_excluded: bool = False
) -> None:
    if math.isnan(value) or value > high or value < low or (low_excluded and value == low):
        low_word = f"more than {low:g}" if low_excluded else f"at least {low:g}"
        problems.append(f"{name}={value!r} is out of range: it must be {low_word} and at most {high:g}")


def _message(problems: list[str], name: str, text: str) -> str:
    stripped = clean_text(text.strip())
    if not stripped:
        problems.append(f"{name} is empty: Lex needs a message of 1 to {MAX_MESSAGE_UNITS} characters")
    elif lex_length(stripped) > MAX_MESSAGE_UNITS:
        problems.append(f"{name} is {lex_length(stripped)} characters long: Lex allows {MAX_MESSAGE_UNITS}")
    return stripped
