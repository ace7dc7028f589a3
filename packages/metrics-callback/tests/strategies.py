"""Hypothesis strategies for LiteLLM logging payloads: plausible, malformed, and in between.

A payload mixes the fields LiteLLM really sends (with values of the right type, of the wrong
type, or absent) with arbitrary JSON. Private fields always hold a canary string, so a test can
check that nothing private reaches a record.
"""

from __future__ import annotations

import time
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from metrics_helpers import CANARIES

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["", " ", "429", "500", "guardrail_intervened", "blocked", '\x00\n"\\', "é✓🙂"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
now = time.time()
epochs = st.one_of(st.floats(min_value=now - 7200, max_value=now + 60), json_values)
names = st.one_of(st.text(max_size=300), st.text(alphabet=st.characters(codec="ascii"), max_size=300), json_values)
counts = st.one_of(st.integers(min_value=-5, max_value=10**16), st.floats(allow_nan=True), json_values)
private = st.sampled_from(CANARIES)

metadata = st.fixed_dictionaries(
    {},
    optional={
        "user_api_key_alias": names,
        "user_api_key_team_alias": names,
        "user_api_key_team_id": names,
        "team_alias": names,
        "team_id": names,
        "user_api_key_hash": private,
        "user_api_key_user_email": private,
        "requester_metadata": st.fixed_dictionaries({"note": private}),
    },
)
payload_fields: dict[str, st.SearchStrategy[Any]] = {
    "id": names,
    "trace_id": names,
    "litellm_call_id": names,
    "call_type": names,
    "stream": json_values,
    "model": names,
    "model_group": names,
    "model_id": names,
    "custom_llm_provider": names,
    "response_cost": counts,
    "prompt_tokens": counts,
    "completion_tokens": counts,
    "total_tokens": counts,
    "startTime": epochs,
    "endTime": epochs,
    "completionStartTime": epochs,
    "response_time": counts,
    "cache_hit": json_values,
    "status_fields": st.one_of(json_values, st.fixed_dictionaries({"guardrail_status": names})),
    "guardrail_information": st.one_of(json_values, st.lists(st.dictionaries(st.just("guardrail_status"), names))),
    "error_information": st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"error_code": st.one_of(names, counts), "error_class": names, "error_message": private},
            optional={"normalized_error": names, "traceback": private},
        ),
    ),
    "hidden_params": st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"additional_headers": st.dictionaries(st.sampled_from(["x-litellm-attempted-fallbacks"]), counts)}
        ),
    ),
    "metadata": st.one_of(metadata, json_values),
    "messages": private,
    "response": private,
    "error_str": private,
    "model_parameters": st.fixed_dictionaries({"api_key": private}),
}
payloads = st.one_of(json_values, st.fixed_dictionaries({}, optional=payload_fields))
handler_kwargs = st.one_of(
    st.fixed_dictionaries({"standard_logging_object": payloads}),
    json_values,  # not even a dict of kwargs
)
start_times = st.one_of(st.none(), st.datetimes(), json_scalars)
