"""The LiteLLM callback, and ``metrics_logger``, the ready instance a proxy config names.

Enable it with one line of proxy config (LiteLLM imports this package from ``sys.path``)::

    litellm_settings:
      callbacks: bedrockgate.metrics_callback.metrics_logger

LiteLLM calls ``async_log_success_event`` or ``async_log_failure_event`` once for each completed
call, with keyword arguments, on its logging worker. The handler reads the figures it needs,
builds the record and hands the line to a bounded buffer that a thread writes to stdout: a few
tens of microseconds, no I/O, no network, no await. It never raises: whatever goes wrong is
counted in ``stats()`` and the request carries on.

The class subclasses LiteLLM's ``CustomLogger`` when litellm is installed (LiteLLM only runs
callbacks that are ``CustomLogger`` instances); without litellm it stands alone, so the record
format can be used and tested without LiteLLM.

Two more hooks give bad requests the answer they deserve, since this is the one callback every
bedrockgate proxy loads: a wrong key is 401 on a proxy without a key database, where LiteLLM says
``400 No connected db.`` (``auth_answers``); a chat request with a number for its message content
is 400 at once, where LiteLLM retries it into a 500 (``request_checks``).
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from bedrockgate.metrics_callback.auth_answers import answer_for, rejected_status
from bedrockgate.metrics_callback.emf import encode_record, fallback_record, render_line
from bedrockgate.metrics_callback.facts import RequestFacts, read_facts
from bedrockgate.metrics_callback.request_checks import rejection
from bedrockgate.metrics_callback.settings import MetricsSettings
from bedrockgate.metrics_callback.sink import LineSink, SinkStats

if TYPE_CHECKING:
    from bedrockgate.metrics_callback.otel import OtelMetrics
    from bedrockgate.metrics_callback.sink import _TextStream
    from fastapi import HTTPException
    from opentelemetry.metrics import MeterProvider

__all__ = ["DeliveryStats", "MetricsLogger", "metrics_logger"]

# Remembered events, to drop a second delivery of the same one (LiteLLM has, in some releases,
# called a success handler twice for one stream): a bounded memory of recent events is enough.
_RECENT_EVENTS: Final = 4096


class _Standalone:
    """Stands in for LiteLLM's ``CustomLogger`` where litellm is not installed."""

    def __init__(self, **_options: object) -> None:
        pass


def _logger_base() -> type:
    try:
        from litellm.integrations.custom_logger import CustomLogger  # noqa: PLC0415 - optional dependency
    except ImportError:
        return _Standalone
    return CustomLogger


if TYPE_CHECKING:  # for type checkers it is what it is wherever litellm is installed
    from litellm.integrations.custom_logger import CustomLogger as _Base
else:
    _Base = _logger_base()


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    """What the callback did with the events LiteLLM gave it; all counts since start."""

    events: int
    """Logging events recorded (one per completed request or attempt)."""
    duplicates: int
    """Second deliveries of an event already recorded, skipped."""
    build_errors: int
    """Events whose payload could not be read; each still wrote a minimal record."""
    otel_errors: int
    """Events the OpenTelemetry instruments refused."""
    sink: SinkStats | None
    """What became of the lines (written, dropped, failed); ``None`` with EMF switched off."""


class MetricsLogger(_Base):
    """A LiteLLM callback that writes one CloudWatch EMF line per completed request.

    Args:
        settings: what to publish and how; read from ``BEDROCKGATE_METRICS_*`` when omitted.
        meter_provider: also record OpenTelemetry metrics on this provider (otherwise only
            when ``settings.otel`` is set, on the global provider).
        stream: where lines go, looked up at each write; ``sys.stdout`` when omitted.

    Raises:
        SettingsError: an environment variable holds a value the callback cannot use.

    """

    def __init__(
        self,
        settings: MetricsSettings | None = None,
        *,
        meter_provider: MeterProvider | None = None,
        stream: Callable[[], _TextStream | None] | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings if settings is not None else MetricsSettings.from_env(os.environ)
        self._sink: LineSink | None = None
        if self._settings.emf:
            self._sink = (
                LineSink(self._settings.queue_size) if stream is None else LineSink(self._settings.queue_size, stream)
            )
        self._otel: OtelMetrics | None = None
        if meter_provider is not None or self._settings.otel:
            self.enable_otel(meter_provider)
        self._lock = threading.Lock()
        self._recent: collections.OrderedDict[tuple[str, str, float], None] = collections.OrderedDict()
        self._events = 0
        self._duplicates = 0
        self._build_errors = 0
        self._otel_errors = 0

    @property
    def settings(self) -> MetricsSettings:
        """The settings in force."""
        return self._settings

    def enable_otel(self, meter_provider: MeterProvider | None = None) -> None:
        """Also record OpenTelemetry metrics, on ``meter_provider`` or the global provider."""
        from bedrockgate.metrics_callback.otel import OtelMetrics  # noqa: PLC0415 - only when asked for

        self._otel = OtelMetrics(meter_provider, key_dimensions=self._settings.key_dimensions)

    # LiteLLM calls these by keyword: the parameter names are part of the contract.
    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        """Record a successful request (the proxy and ``litellm.acompletion`` call this one)."""
        self._record(kwargs, start_time, end_time, failed=False)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        """Record a failed request (the proxy and ``litellm.acompletion`` call this one)."""
        self._record(kwargs, start_time, end_time, failed=True)

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        """A chat request whose message or tool types LiteLLM turns into a 50 s 500: 400 now (``request_checks``)."""
        try:
            problem = rejection(data)
        except Exception:  # a check that cannot run leaves the request to LiteLLM, never fails it
            return None
        if problem is not None:
            raise problem
        return None

    async def async_post_call_failure_hook(
        self,
        request_data: dict[str, Any],
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
    ) -> HTTPException | None:
        """A wrong key on a proxy without a key database: 401, not LiteLLM's 400 (see ``auth_answers``).

        Every other failure keeps LiteLLM's own answer (``None``).
        """
        try:
            return answer_for(original_exception)
        except Exception:  # an answer we cannot build is LiteLLM's own answer, never a new failure
            return None

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        """Record a successful synchronous SDK call (``litellm.completion``)."""
        self._record(kwargs, start_time, end_time, failed=False)

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        """Record a failed synchronous SDK call."""
        self._record(kwargs, start_time, end_time, failed=True)

    def _record(self, kwargs: object, start_time: object, end_time: object, *, failed: bool) -> None:
        """Everything the handlers do; never raises, never blocks (the response object is never read)."""
        try:
            payload = kwargs.get("standard_logging_object") if isinstance(kwargs, Mapping) else None
            facts = read_facts(
                payload,
                failed=failed,
                start_time=start_time,
                end_time=end_time,
                attempted_fallbacks=_attempted_fallbacks(kwargs),
            )
            rejected = rejected_status(kwargs.get("exception")) if failed and isinstance(kwargs, Mapping) else None
            if rejected is not None:  # a key rejection: the record says what the client got (auth_answers)
                facts = facts._replace(status_code=rejected, error_category="401_AUTHENTICATION_FAILED")
            if self._seen(facts):
                return
            if self._sink is not None:
                self._sink.put(render_line(facts, self._settings))
        except Exception:
            self._count_build_error(failed)
            return
        if self._otel is not None:
            try:
                self._otel.record(facts)
            except Exception:
                with self._lock:
                    self._otel_errors += 1

    def _seen(self, facts: RequestFacts) -> bool:
        """Count the event; ``True`` if this very event was recorded before."""
        with self._lock:
            key = facts.event_key
            if key is not None:
                if key in self._recent:
                    self._duplicates += 1
                    return True
                self._recent[key] = None
                if len(self._recent) > _RECENT_EVENTS:
                    self._recent.popitem(last=False)
            self._events += 1
            return False

    def _count_build_error(self, failed: bool) -> None:
        try:
            with self._lock:
                self._build_errors += 1
                self._events += 1
            if self._sink is not None:
                self._sink.put(encode_record(fallback_record(failed=failed, settings=self._settings)))
        except Exception:  # the last line of defence: nothing leaves the handler
            return

    def stats(self) -> DeliveryStats:
        """Counts of events, duplicates, errors and lines, for health checks and tests."""
        with self._lock:
            events, duplicates, build_errors, otel_errors = (
                self._events,
                self._duplicates,
                self._build_errors,
                self._otel_errors,
            )
        return DeliveryStats(
            events=events,
            duplicates=duplicates,
            build_errors=build_errors,
            otel_errors=otel_errors,
            sink=None if self._sink is None else self._sink.stats(),
        )

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every line so far is written (or lost); ``False`` if ``timeout`` came first."""
        return True if self._sink is None else self._sink.flush(timeout)

    def close(self, timeout: float = 5.0) -> bool:
        """Write what is queued and stop the writer thread; later records are dropped."""
        return True if self._sink is None else self._sink.close(timeout)

    # One logger is one writer: a copy (LiteLLM copies request kwargs, which may reference
    # callbacks) must share it, not try to clone a thread and a lock.
    def __copy__(self) -> MetricsLogger:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> MetricsLogger:
        return self


metrics_logger: Final = MetricsLogger()
"""The instance to name in ``litellm_settings.callbacks``, configured from the environment."""


def _attempted_fallbacks(kwargs: object) -> object:
    """The router's fallback depth for this attempt (``litellm_params.metadata.attempted_fallbacks``).

    The proxy sets the ``x-litellm-attempted-fallbacks`` header only on the final response, after the
    callbacks ran; the hop's own metadata already carries the depth.
    """
    if not isinstance(kwargs, Mapping):
        return None
    params = kwargs.get("litellm_params")
    metadata = params.get("metadata") if isinstance(params, Mapping) else None
    return metadata.get("attempted_fallbacks") if isinstance(metadata, Mapping) else None
