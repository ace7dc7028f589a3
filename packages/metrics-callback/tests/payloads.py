"""Logging payloads shaped like the ones LiteLLM 1.106.2 passes (recorded from real calls)."""

from __future__ import annotations

import copy
import time
from typing import Any

from metrics_helpers import CANARY_API_KEY, CANARY_COMPLETION, CANARY_ERROR, CANARY_KEY_HASH, CANARY_PROMPT


def success_payload(**overrides: Any) -> dict[str, Any]:
    """A proxy request to model group ``claude-fast``, with every private field holding a canary."""
    now = time.time()
    payload: dict[str, Any] = {
        "id": "chatcmpl-06569b0a-1831-42e6-aa52-a0985e74fe46",
        "trace_id": "f2c6cc1a-ab93-42fe-adce-b82bc2e502af",
        "litellm_call_id": "6beac182-ecbe-4843-bb58-6ddac0effdd6",
        "call_type": "acompletion",
        "stream": None,
        "status": "success",
        "status_fields": {"llm_api_status": "success", "guardrail_status": "not_run"},
        "model": "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
        "model_group": "claude-fast",
        "model_id": "c51596b9f37ada4942283a81463b60a735e886549956be47a1c15d509e57496d",
        "custom_llm_provider": "bedrock",
        "api_base": "https://bedrock-runtime.us-east-1.amazonaws.com",
        "response_cost": 1.35e-05,
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "total_tokens": 30,
        "startTime": now - 0.25,
        "endTime": now,
        "completionStartTime": now,
        "response_time": 0.25,
        "cache_hit": None,
        "messages": [{"role": "user", "content": CANARY_PROMPT}],
        "response": {"choices": [{"message": {"content": CANARY_COMPLETION}}]},
        "error_str": None,
        "error_information": {"error_code": "", "error_class": "", "error_message": "", "traceback": ""},
        "guardrail_information": None,
        "metadata": {
            "user_api_key_hash": CANARY_KEY_HASH,
            "user_api_key_alias": "agent-support",
            "user_api_key_team_alias": "team-support",
            "user_api_key_team_id": "4b1c0d0e-team",
            "user_api_key_user_email": "someone@example.com",
            "requester_metadata": {"api_key": CANARY_API_KEY},
        },
        "hidden_params": {
            "model_id": "c51596b9f37ada4942283a81463b60a735e886549956be47a1c15d509e57496d",
            "api_base": "https://bedrock-runtime.us-east-1.amazonaws.com",
            "response_cost": 1.35e-05,
            "additional_headers": {
                "x-litellm-model-group": "claude-fast",
                "x-litellm-attempted-retries": 0,
                "x-litellm-attempted-fallbacks": 0,
            },
            "litellm_model_name": "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
        },
        "model_parameters": {"api_key": CANARY_API_KEY},
    }
    payload.update(copy.deepcopy(overrides))
    return payload


def failure_payload(**overrides: Any) -> dict[str, Any]:
    """The same request, failed with a throttling error whose message quotes the prompt."""
    payload = success_payload(
        status="failure",
        status_fields={"llm_api_status": "failure", "guardrail_status": "not_run"},
        response_cost=0.0,
        prompt_tokens=0,
        completion_tokens=0,
        total_tokens=0,
        error_str=f"litellm.RateLimitError: {CANARY_ERROR} {CANARY_PROMPT}",
        error_information={
            "error_code": "429",
            "error_class": "RateLimitError",
            "llm_provider": "bedrock",
            "error_message": f"litellm.RateLimitError: {CANARY_ERROR}",
            "traceback": f"Traceback ... {CANARY_API_KEY}",
            "normalized_error": "429_RATE_LIMIT_EXCEEDED",
        },
        hidden_params={"response_cost": 0.0},
        response=None,
    )
    payload.update(copy.deepcopy(overrides))
    return payload
