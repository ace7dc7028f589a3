"""The callback inside real LiteLLM: SDK calls, failures, streaming, a Router with a fallback, cache hits.

Each test makes the logger LiteLLM's only callback, calls LiteLLM with ``mock_response`` (no
network), waits for LiteLLM's logging worker to deliver the event, and reads the lines the
logger wrote.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import litellm
import pytest
from bedrockgate.metrics_callback import MetricsSettings
from bedrockgate.metrics_callback.logger import MetricsLogger
from emf_spec import emf_problems
from litellm.caching.caching import Cache
from litellm.exceptions import InternalServerError, RateLimitError
from litellm.integrations.custom_logger import CustomLogger
from litellm.router import Router
from litellm.types.caching import LiteLLMCacheType
from metrics_helpers import (
    CANARIES,
    CANARY_API_KEY,
    CANARY_COMPLETION,
    CANARY_ERROR,
    CANARY_KEY_HASH,
    CANARY_PROMPT,
    LineCapture,
    Runner,
    settle,
)

MESSAGES: list[Any] = [{"role": "user", "content": f"Say hello. {CANARY_PROMPT}"}]
KEY_METADATA = {
    "user_api_key_alias": "agent-support",
    "user_api_key_team_alias": "team-support",
    "user_api_key_hash": CANARY_KEY_HASH,
}


@pytest.fixture
def active(logger: MetricsLogger, registered: Callable[[CustomLogger], None]) -> MetricsLogger:
    registered(logger)
    return logger


def _records(capture: LineCapture) -> list[dict[str, Any]]:
    lines = capture.lines()
    for line in lines:
        assert emf_problems(line) == []
        for canary in CANARIES:
            assert canary not in line
    return [json.loads(line) for line in lines]


def test_a_completion_yields_one_record_of_its_figures(
    active: MetricsLogger, capture: LineCapture, run: Runner
) -> None:
    response = run(
        litellm.acompletion(
            model="openai/gpt-4o-mini",
            messages=MESSAGES,
            mock_response=f"Hello! {CANARY_COMPLETION}",
            api_key=CANARY_API_KEY,
            metadata=KEY_METADATA,
        )
    )
    run(settle(active, 1))
    assert CANARY_COMPLETION in response.choices[0].message.content
    [record] = _records(capture)
    assert record["status_code"] == 200
    assert (record["ModelGroup"], record["provider_model"], record["provider"]) == (
        "gpt-4o-mini",
        "gpt-4o-mini",
        "openai",
    )
    assert (record["KeyAlias"], record["Team"]) == ("agent-support", "team-support")
    usage = response.usage
    assert (record["InputTokens"], record["OutputTokens"]) == (usage.prompt_tokens, usage.completion_tokens)
    assert record["TotalTokens"] == usage.total_tokens
    assert record["ResponseCostUSD"] > 0
    assert record["ResponseTimeMs"] >= 0
    assert record["call_type"] == "acompletion"
    assert "TimeToFirstTokenMs" not in record
    assert active.stats().duplicates == 0


def test_a_failing_deployment_yields_one_failure_record(
    active: MetricsLogger, capture: LineCapture, run: Runner
) -> None:
    with pytest.raises(InternalServerError):
        run(
            litellm.acompletion(
                model="openai/gpt-4o-mini",
                messages=MESSAGES,
                mock_response=Exception(f"upstream exploded: {CANARY_ERROR} {CANARY_PROMPT}"),
                api_key=CANARY_API_KEY,
                metadata=KEY_METADATA,
            )
        )
    run(settle(active, 1))
    [record] = _records(capture)
    assert (record["RequestErrors"], record["status_code"], record["error"]) == (1, 500, "InternalServerError")
    assert record["status"] == "failure"
    assert record["ModelGroup"] == "gpt-4o-mini"


def test_a_throttled_request_records_429(active: MetricsLogger, capture: LineCapture, run: Runner) -> None:
    throttle = RateLimitError(message=f"slow down {CANARY_ERROR}", llm_provider="bedrock", model="m")
    with pytest.raises(RateLimitError):
        run(litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response=throttle))
    run(settle(active, 1))
    [record] = _records(capture)
    assert (record["status_code"], record["error"], record["error_category"]) == (
        429,
        "RateLimitError",
        "429_RATE_LIMIT_EXCEEDED",
    )


def test_a_streamed_completion_yields_one_record_with_time_to_first_token(
    active: MetricsLogger, capture: LineCapture, run: Runner
) -> None:
    async def stream() -> str:
        chunks = await litellm.acompletion(
            model="openai/gpt-4o-mini",
            messages=MESSAGES,
            mock_response=f"a streamed answer {CANARY_COMPLETION}",
            stream=True,
            stream_options={"include_usage": True},  # once made LiteLLM log a stream twice
        )
        return "".join([chunk.choices[0].delta.content or "" async for chunk in chunks if chunk.choices])

    text = run(stream())
    run(settle(active, 1))
    assert CANARY_COMPLETION in text
    [record] = _records(capture)
    assert record["stream"] is True
    assert 0 <= record["TimeToFirstTokenMs"] <= record["ResponseTimeMs"]
    assert record["OutputTokens"] > 0


def test_a_router_fallback_records_the_model_that_served(
    active: MetricsLogger, capture: LineCapture, run: Runner
) -> None:
    router = Router(
        model_list=[
            {
                "model_name": "claude-primary",
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "api_key": CANARY_API_KEY,
                    "mock_response": "litellm.InternalServerError",
                },
            },
            {
                "model_name": "claude-backup",
                "litellm_params": {
                    "model": "anthropic/claude-3-haiku-20240307",
                    "api_key": CANARY_API_KEY,
                    "mock_response": "from backup",
                },
            },
        ],
        fallbacks=[{"claude-primary": ["claude-backup"]}],
        num_retries=0,
    )
    response = run(router.acompletion(model="claude-primary", messages=MESSAGES))
    assert response.choices[0].message.content == "from backup"
    run(settle(active, 2))
    records = _records(capture)
    # LiteLLM logs the failed attempt on the primary too: it is that model group's error, and it
    # shares the request's trace id with the record of the model that served.
    served = [record for record in records if record["status"] == "success"]
    attempts = [record for record in records if record["status"] == "failure"]
    assert len(served) == 1
    assert len(attempts) == 1
    assert (served[0]["ModelGroup"], served[0]["provider_model"]) == (
        "claude-backup",
        "anthropic/claude-3-haiku-20240307",
    )
    assert served[0]["FallbackCount"] == 1
    assert (attempts[0]["ModelGroup"], attempts[0]["status_code"], attempts[0]["FallbackCount"]) == (
        "claude-primary",
        500,
        0,
    )
    assert served[0]["trace_id"] == attempts[0]["trace_id"]


def test_a_cache_hit_is_recorded_as_one(active: MetricsLogger, capture: LineCapture, run: Runner) -> None:
    saved = litellm.cache
    litellm.cache = Cache(type=LiteLLMCacheType.LOCAL)
    try:
        for _ in range(2):
            run(
                litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="cached", caching=True)
            )
        run(settle(active, 2))
    finally:
        litellm.cache = saved
    first, second = _records(capture)
    assert (first["cache_hit"], second["cache_hit"]) == (False, True)
    assert second["ResponseCostUSD"] == 0.0
    assert second["RequestCount"] == 1


def test_a_synchronous_call_is_recorded_once(active: MetricsLogger, capture: LineCapture, run: Runner) -> None:
    litellm.completion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="sync hello")
    run(settle(active, 1, timeout=15))
    [record] = _records(capture)
    assert record["status_code"] == 200


def test_the_same_event_delivered_twice_is_recorded_once(
    logger: MetricsLogger, capture: LineCapture, run: Runner
) -> None:
    captured: list[dict[str, Any]] = []

    class Recorder(CustomLogger):
        async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            captured.append({"kwargs": kwargs, "start_time": start_time, "end_time": end_time})

    saved = list(litellm.callbacks)
    litellm.callbacks = [Recorder()]
    try:
        run(litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="once"))
        run(_until(lambda: bool(captured)))
    finally:
        litellm.callbacks = saved
    event = captured[0]
    for _ in range(2):
        run(
            logger.async_log_success_event(
                kwargs=event["kwargs"], response_obj=None, start_time=event["start_time"], end_time=event["end_time"]
            )
        )
    assert logger.flush(timeout=5)
    assert len(capture.lines()) == 1
    assert logger.stats().duplicates == 1


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    import asyncio  # noqa: PLC0415 - only this helper needs it

    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


@pytest.fixture
def default_logger_on_stdout(registered: Callable[[CustomLogger], None]) -> MetricsLogger:
    """The shipped instance, found the way the proxy finds ``callbacks:`` entries."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LiteLLM's proxy package warns on import
        from litellm.proxy.types_utils.utils import get_instance_fn  # noqa: PLC0415 - proxy code, imported late

    instance = get_instance_fn("bedrockgate.metrics_callback.metrics_logger")
    assert isinstance(instance, CustomLogger)
    assert isinstance(instance, MetricsLogger)
    registered(instance)
    return instance


def test_the_callback_named_as_in_the_config_writes_to_stdout(
    default_logger_on_stdout: MetricsLogger, capfd: pytest.CaptureFixture[str], run: Runner
) -> None:
    before = default_logger_on_stdout.stats().events
    run(litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="hi", metadata=KEY_METADATA))
    run(settle(default_logger_on_stdout, before + 1))
    out = capfd.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith('{"_aws"')]
    assert len(lines) == 1
    assert emf_problems(lines[0]) == []
    assert json.loads(lines[0])["Service"] == MetricsSettings().service
    for canary in CANARIES:
        assert canary not in out
