"""CloudWatch metrics for every request through a LiteLLM gateway, from one line of proxy config.

``metrics_logger`` is a LiteLLM callback: name it in the proxy config and every completed request
(success or failure) becomes one JSON line on stdout that is both a CloudWatch Embedded Metric
Format document and the reference design's structured line::

    litellm_settings:
      callbacks: bedrockgate.metrics_callback.metrics_logger

The record format works without LiteLLM::

    >>> from bedrockgate.metrics_callback import format_record
    >>> line = format_record({"model_group": "claude-fast", "prompt_tokens": 12, "completion_tokens": 3})
    >>> '"ModelGroup":"claude-fast"' in line and '"TotalTokens":15' in line
    True

``metrics_logger`` and ``MetricsLogger`` are loaded on first use: the callback class subclasses
LiteLLM's ``CustomLogger``, and importing LiteLLM takes seconds that users of the format alone
should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bedrockgate.metrics_callback.emf import build_record, encode_record, format_record
from bedrockgate.metrics_callback.exceptions import MetricsCallbackError, SettingsError
from bedrockgate.metrics_callback.facts import RequestFacts, read_facts
from bedrockgate.metrics_callback.fields import (
    DIMENSION_KEYS,
    FIELDS,
    METRICS,
    REFERENCE_FIELDS,
    FieldRole,
    MetricDefinition,
    RecordField,
)
from bedrockgate.metrics_callback.settings import MetricsSettings
from bedrockgate.metrics_callback.sink import SinkStats

if TYPE_CHECKING:
    from bedrockgate.metrics_callback.logger import DeliveryStats, MetricsLogger, metrics_logger

__all__ = [
    "DIMENSION_KEYS",
    "FIELDS",
    "METRICS",
    "REFERENCE_FIELDS",
    "DeliveryStats",
    "FieldRole",
    "MetricDefinition",
    "MetricsCallbackError",
    "MetricsLogger",
    "MetricsSettings",
    "RecordField",
    "RequestFacts",
    "SettingsError",
    "SinkStats",
    "build_record",
    "encode_record",
    "format_record",
    "metrics_logger",
    "read_facts",
]

_LAZY = frozenset({"DeliveryStats", "MetricsLogger", "metrics_logger"})


def __getattr__(name: str) -> object:
    # PEP 562: LiteLLM resolves "bedrockgate.metrics_callback.metrics_logger" with getattr(),
    # which lands here on first use and imports the callback (and with it, LiteLLM).
    if name in _LAZY:
        from bedrockgate.metrics_callback import logger  # noqa: PLC0415 - deferred on purpose

        return getattr(logger, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
