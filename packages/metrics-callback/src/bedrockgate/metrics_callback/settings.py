"""What the operator can choose, read from environment variables so a proxy config needs one line.

The callback is enabled by naming an instance in ``litellm_settings.callbacks``; LiteLLM gives it
no arguments, so everything configurable comes from the environment of the proxy's container
(the ECS task definition, or the local stack). Every variable has a default that works, and a
value the callback cannot use is refused at start with its name, its value and what it accepts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bedrockgate.metrics_callback.exceptions import SettingsError

__all__ = ["ENV_PREFIX", "MetricsSettings"]

ENV_PREFIX: Final = "BEDROCKGATE_METRICS_"

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})
# CloudWatch namespaces: 1-255 characters of letters, digits and . - _ / # : (no leading colon).
_NAMESPACE: Final = re.compile(r"[A-Za-z0-9.\-_/#:]{1,255}")
# The service is a dimension value: printable ASCII without quotes or backslashes, at most 255
# characters (CloudWatch allows 1024; the bound keeps every record under 4 KiB).
_DIMENSION_VALUE: Final = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]{1,255}")
_MIN_QUEUE: Final = 1
_MAX_QUEUE: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """The callback's configuration; ``from_env`` builds it from ``BEDROCKGATE_METRICS_*``.

    Attributes:
        namespace: CloudWatch namespace of the metrics (``BEDROCKGATE_METRICS_NAMESPACE``).
        service: value of the ``Service`` dimension on every metric, so several gateways (dev,
            prod) can share one namespace (``BEDROCKGATE_METRICS_SERVICE``).
        key_dimensions: also publish per key alias and per team metrics, when the request
            carries them (``BEDROCKGATE_METRICS_KEY_DIMENSIONS``). Each distinct alias or team is
            a custom metric in CloudWatch, billed as such; switch off for very many keys.
        emf: write one EMF line per request to stdout (``BEDROCKGATE_METRICS_EMF``).
        otel: also record OpenTelemetry metrics through the global MeterProvider, which the
            host sets up (``BEDROCKGATE_METRICS_OTEL``). Off by default.
        queue_size: how many lines may wait for stdout before new ones are dropped (and
            counted): the bound on the callback's memory (``BEDROCKGATE_METRICS_QUEUE_SIZE``).

    """

    namespace: str = "BedrockGate"
    service: str = "bedrockgate-gateway"
    key_dimensions: bool = True
    emf: bool = True
    otel: bool = False
    queue_size: int = 10_000

    def __post_init__(self) -> None:
        if not _NAMESPACE.fullmatch(self.namespace) or self.namespace.startswith(":"):
            raise SettingsError(
                f"{ENV_PREFIX}NAMESPACE={self.namespace!r} is not a CloudWatch namespace: use 1-255 letters, "
                "digits or . - _ / # : (not starting with ':'), e.g. 'BedrockGate'"
            )
        if not _DIMENSION_VALUE.fullmatch(self.service) or not self.service.strip():
            raise SettingsError(
                f"{ENV_PREFIX}SERVICE={self.service!r} cannot be a CloudWatch dimension value here: use 1-255 "
                "printable ASCII characters other than '\"' and '\\', not only spaces, e.g. 'gateway-prod'"
            )
        if not _MIN_QUEUE <= self.queue_size <= _MAX_QUEUE:
            raise SettingsError(
                f"{ENV_PREFIX}QUEUE_SIZE={self.queue_size} is out of range: use a whole number of lines "
                f"from {_MIN_QUEUE} to {_MAX_QUEUE} (default 10000)"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> MetricsSettings:
        """Read the ``BEDROCKGATE_METRICS_*`` variables; unset ones keep their defaults.

        Raises:
            SettingsError: a variable is set to a value the callback cannot use.

        """
        defaults = cls()
        return cls(
            namespace=environ.get(f"{ENV_PREFIX}NAMESPACE", defaults.namespace),
            service=environ.get(f"{ENV_PREFIX}SERVICE", defaults.service),
            key_dimensions=_flag(environ, "KEY_DIMENSIONS", defaults.key_dimensions),
            emf=_flag(environ, "EMF", defaults.emf),
            otel=_flag(environ, "OTEL", defaults.otel),
            queue_size=_whole_number(environ, "QUEUE_SIZE", defaults.queue_size),
        )


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(ENV_PREFIX + name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{ENV_PREFIX}{name}={raw!r} is not a switch: use one of true/false, 1/0, yes/no, on/off")


def _whole_number(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(ENV_PREFIX + name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw.strip(), 10)
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{name}={raw!r} is not a whole number, e.g. {default}") from None
