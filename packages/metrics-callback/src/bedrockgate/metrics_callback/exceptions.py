"""Every error this package raises, under one base class.

Only configuration raises. A metrics callback runs inside somebody else's request, so nothing on
the request path raises at all: failures there are counted (see ``DeliveryStats``) and the
request carries on. A bad setting, on the other hand, is found when the callback is created, at
proxy start, where a clear error is the kindest outcome.
"""

from __future__ import annotations

__all__ = ["MetricsCallbackError", "SettingsError"]


class MetricsCallbackError(Exception):
    """Base class of every error raised by ``bedrockgate.metrics_callback``."""


class SettingsError(MetricsCallbackError, ValueError):
    """A setting (usually an environment variable) has a value the callback cannot use.

    The message names the setting, the value it got, and what it accepts.
    """
