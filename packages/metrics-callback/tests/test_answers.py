"""The answers the callback gives bad requests: 401 for a wrong key without a key database, 400 for bad types.

LiteLLM's own exception objects go in (the ones its proxy raises), and the hooks are called the way
the proxy calls them; the running proxy is exercised in ``test_proxy.py`` and the local stack's
security tests.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from bedrockgate.metrics_callback.auth_answers import NO_KEY_DATABASE_MESSAGE, answer_for, rejected_status
from bedrockgate.metrics_callback.logger import MetricsLogger
from bedrockgate.metrics_callback.request_checks import request_problem
from fastapi import HTTPException
from hypothesis import given, settings
from hypothesis import strategies as st
from litellm.proxy._types import ProxyErrorTypes, ProxyException


def _no_db(code: int = 400, message: str = "No connected db.") -> ProxyException:
    return ProxyException(message=message, type=ProxyErrorTypes.no_db_connection, code=code, param=None)


def test_litellms_no_database_rejection_becomes_a_401_that_says_why() -> None:
    answer = answer_for(_no_db())
    assert isinstance(answer, HTTPException)
    assert answer.status_code == 401
    assert answer.detail == NO_KEY_DATABASE_MESSAGE


@pytest.mark.parametrize(
    "exception",
    [
        _no_db(code=503, message="Service Unavailable, the authentication database is temporarily unreachable."),
        _no_db(message="No connected db, for another reason"),
        ProxyException(message="No connected db.", type=ProxyErrorTypes.auth_error, code=400, param=None),
        Exception("No connected db."),
        HTTPException(status_code=400, detail="No connected db."),
        None,
    ],
)
def test_every_other_failure_keeps_litellms_answer(exception: object) -> None:
    assert answer_for(exception) is None


@pytest.fixture
def capture() -> io.StringIO:
    return io.StringIO()


def test_the_failure_hook_returns_the_401_and_nothing_for_other_failures() -> None:
    logger = MetricsLogger(stream=lambda: None)
    try:
        rewritten = asyncio.run(logger.async_post_call_failure_hook({}, _no_db(), None))
        kept = asyncio.run(logger.async_post_call_failure_hook({}, ValueError("boom"), None))
    finally:
        logger.close()
    assert isinstance(rewritten, HTTPException)
    assert rewritten.status_code == 401
    assert kept is None


@pytest.mark.parametrize(
    ("exception", "status"),
    [
        (Exception("No api key passed in."), 401),
        (Exception("Malformed API Key passed in. Ensure Key has `Bearer ` prefix."), 401),
        (_no_db(), 401),
        (Exception("No api key passed in, and something else"), None),
        (ValueError("No api key passed in."), None),
        (_no_db(code=503), None),
    ],
)
def test_key_rejections_are_recorded_with_the_status_the_client_got(exception: Exception, status: int | None) -> None:
    assert rejected_status(exception) == status


def test_a_missing_key_writes_a_401_record_not_a_500(capture: Any) -> None:
    logger = MetricsLogger(stream=lambda: capture)
    kwargs = {
        "exception": Exception("No api key passed in."),
        "standard_logging_object": {
            "status": "failure",
            "model_group": "claude-fast",
            "error_information": {"error_code": "", "error_class": "Exception"},
        },
    }
    try:
        asyncio.run(logger.async_log_failure_event(kwargs, None, 1.0, 1.1))
        logger.flush()
    finally:
        logger.close()
    [record] = [json.loads(line) for line in capture.getvalue().splitlines()]
    assert (record["status_code"], record["error_category"]) == (401, "401_AUTHENTICATION_FAILED")


# What the OpenAI API allows for a message's content, and a tool list.
_TEXT = st.text(max_size=20)
_PART = st.fixed_dictionaries({"type": st.just("text"), "text": _TEXT})
_CONTENT = st.one_of(st.none(), _TEXT, st.lists(_PART, max_size=3))
_MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant"]), "content": _CONTENT})
_TOOLS = st.one_of(st.none(), st.lists(st.fixed_dictionaries({"type": st.just("function")}), max_size=2))
_NOT_CONTENT = st.one_of(
    st.integers(), st.floats(allow_nan=False), st.booleans(), st.dictionaries(_TEXT, _TEXT, min_size=1)
)


@settings(max_examples=150, deadline=None)
@given(messages=st.lists(_MESSAGE, max_size=4), tools=_TOOLS)
def test_well_typed_requests_pass_untouched(messages: list[dict[str, Any]], tools: list[Any] | None) -> None:
    data: dict[str, Any] = {"model": "claude-fast", "messages": messages, "response_format": {"type": "text"}}
    if tools is not None:
        data["tools"] = tools
    assert request_problem(data) is None


@settings(max_examples=150, deadline=None)
@given(
    before=st.lists(_MESSAGE, max_size=3),
    bad=_NOT_CONTENT,
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=12, max_size=20),
)
def test_a_content_of_the_wrong_type_is_named_by_index_and_never_echoed(
    before: list[dict[str, Any]], bad: object, secret: str
) -> None:
    bad_value = {secret: secret} if isinstance(bad, dict) else bad
    data = {"model": "claude-fast", "messages": [*before, {"role": "user", "content": bad_value}]}
    problem = request_problem(data)
    assert problem is not None
    assert f"messages[{len(before)}].content" in problem
    assert secret not in problem


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"messages": [5]}, "messages[0] must be an object"),
        ({"messages": [{"role": "user", "content": [1]}]}, "messages[0].content[0]"),
        ({"messages": [{"role": "user", "content": "x"}], "tools": "x"}, "tools must be a list"),
        ({"messages": [], "response_format": True}, "response_format must be an object"),
        ({"messages": [], "stop": 5}, "stop must be a string"),
        ({"messages": [], "stop": [1]}, "stop must be a string"),
        ({"model": "embeddings", "input": 5}, "input must be a string or a list"),
        # Found by the local stack's bad-input property: LiteLLM answered each with a 500.
        ({"messages": [{"role": None, "content": [{"x": None}]}]}, 'messages[0].content[0] must have a "type"'),
        ({"messages": [{"role": "user", "content": [{"type": 5}]}]}, 'messages[0].content[0] must have a "type"'),
        ({"messages": [{"role": "user", "content": [{"type": "wizard"}]}]}, "messages[0].content[0] has a type"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, 'must have a "text" string'),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, 'must have an "image_url"'),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]}, '"url" string'),
        ({"messages": [], "response_format": {"a": 1}}, "response_format must be an object"),
    ],
)
def test_other_shapes_litellm_retries_into_a_500_are_named(data: dict[str, Any], where: str) -> None:
    assert where in (request_problem(data) or "")


def test_the_pre_call_hook_raises_400_for_a_bad_type_and_passes_the_rest() -> None:
    logger = MetricsLogger(stream=lambda: None)
    good = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    try:
        assert asyncio.run(logger.async_pre_call_hook(None, None, good, "completion")) is None
        with pytest.raises(HTTPException) as raised:
            asyncio.run(logger.async_pre_call_hook(None, None, {"messages": [{"content": 5}]}, "completion"))
    finally:
        logger.close()
    assert raised.value.status_code == 400
