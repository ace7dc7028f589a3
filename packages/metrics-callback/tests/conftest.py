"""Fixtures only: an in-memory stdout, a logger writing to it, LiteLLM with the logger registered.

The helpers they are built from (``LineCapture``, ``Runner``, ``settle``, the canaries) live in
``metrics_helpers``, which tests import as a plain module.

LiteLLM is imported here once, with its import-time warnings silenced (they are LiteLLM's own and
not what these tests measure; pytest turns every other warning into an error). LiteLLM would fetch
its price map from the network at import unless told to use its bundled copy.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator

import pytest
from hypothesis import settings

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import litellm
    from litellm.integrations.custom_logger import CustomLogger

from bedrockgate.metrics_callback import MetricsSettings
from bedrockgate.metrics_callback.logger import MetricsLogger
from metrics_helpers import LineCapture, Runner

# Timing is the benchmarks' job, never a test's: on a loaded 2-core CI machine hypothesis's default 200 ms
# deadline per example fails correct code (it did, in pipelines/tests/test_publish.py).
settings.register_profile("bedrockgate", deadline=None)
settings.load_profile("bedrockgate")

# Warnings LiteLLM 1.106.2 itself raises while it works, each matched narrowly: the package's
# tests keep every other warning an error (the root config's filterwarnings = ["error"]).
LITELLM_WARNINGS = (
    # pydantic, building schemas of LiteLLM's ReadOnly TypedDicts on first use
    "ignore:Items? .* on TypedDict class .* (is|are) using the `ReadOnly` qualifier:UserWarning",
)


def pytest_configure(config: pytest.Config) -> None:
    for line in LITELLM_WARNINGS:
        config.addinivalue_line("filterwarnings", line)


@pytest.fixture
def capture() -> LineCapture:
    return LineCapture()


@pytest.fixture
def logger(capture: LineCapture) -> Iterator[MetricsLogger]:
    metrics = MetricsLogger(MetricsSettings(), stream=lambda: capture)
    yield metrics
    metrics.close(timeout=5)


_CALLBACK_LISTS = (
    "callbacks",
    "success_callback",
    "failure_callback",
    "_async_success_callback",
    "_async_failure_callback",
)


@pytest.fixture
def registered() -> Iterator[Callable[[CustomLogger], None]]:
    """Make a callback LiteLLM's only one for the test, as ``litellm_settings.callbacks`` does."""
    saved = {name: list(getattr(litellm, name)) for name in _CALLBACK_LISTS}

    def register(callback: CustomLogger) -> None:
        for name in _CALLBACK_LISTS:
            setattr(litellm, name, [])
        litellm.callbacks = [callback]

    yield register
    for name, value in saved.items():
        setattr(litellm, name, value)


@pytest.fixture(scope="module")
def run() -> Iterator[Runner]:
    runner = Runner()
    yield runner
    runner.close()
