"""The handler's stated properties, over generated events and generated gateway behaviour.

1. Any event (documented, partial or garbage; >= 10,000 of them), whatever the gateway does,
   gets a valid Lex V2 response, and one parseable log line with a known outcome.
2. Round trip (the design's Property 3): any reply the gateway gives reaches the Lex response
   intact, modulo the documented split (``bedrockgate.lex_fulfillment.text``): the messages are
   consecutive pieces of the reply, cut at whitespace runs (or inside a word longer than a
   message), and a reply longer than the allowed messages ends with an ellipsis.
3. Memory across a conversation is always bounded and always the newest turns.
"""

from __future__ import annotations

import json
from typing import Any

from bedrockgate.lex_fulfillment import outcomes
from bedrockgate.lex_fulfillment.memory import MEMORY_ATTRIBUTE, decode
from bedrockgate.lex_fulfillment.text import ELLIPSIS, lex_length, split_text
from gateway_stub import GatewayStub, Reply, completion, error_body, guardrail_block, legacy_guardrail_block
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lex_events import FakeContext, any_events, lex_event
from lex_helpers import LogLines, MakeFulfiller
from lex_schema import handler_problems, split_problems

# What the gateway does for one turn: a script of replies (for the attempts), then a default.
SCENARIOS: list[tuple[list[Reply], Reply]] = [
    ([], Reply(200, completion("A short answer."))),
    ([], Reply(200, completion("Une réponse plus longue, avec des accents et des émojis 😀. " * 60))),
    ([Reply(429, error_body("Rate limit exceeded", 429))], Reply(200, completion("After a retry."))),
    ([], Reply(500, error_body("Internal Server Error", 500))),
    ([], Reply(503, "")),
    ([], Reply(200, "<html>not json</html>")),
    ([], Reply(200, {"object": "chat.completion"})),
    ([], Reply(400, guardrail_block("Sorry, I can't help with that."))),
    ([], Reply(400, legacy_guardrail_block("Blocked by policy."))),
    ([], Reply(200, completion("Filtered.", finish_reason="content_filter"))),
    ([], Reply(401, error_body("Authentication Error", 401))),
    ([], Reply(close=True)),
]
MAX_MESSAGES = 4
PROPERTY_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
}


BATCH = 10


def test_every_event_gets_a_valid_response(gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines) -> None:
    handler = make_fulfiller(
        max_attempts=2,
        total_timeout=2.0,
        attempt_timeout=1.0,
        backoff_base=0.001,
        backoff_cap=0.002,
        max_messages=MAX_MESSAGES,
    )
    checked: list[str] = []
    gateway.keep_requests = False

    # Events come in batches of ten per example: hypothesis's own cost per example would otherwise
    # dominate 10,000 runs, and a failing batch still shrinks to the one event that fails.
    @settings(max_examples=10_000 // BATCH, **PROPERTY_SETTINGS)
    @given(batch=st.lists(st.tuples(any_events, st.sampled_from(SCENARIOS)), min_size=BATCH, max_size=BATCH))
    def check(batch: list[tuple[Any, tuple[list[Reply], Reply]]]) -> None:
        for event, (replies, default) in batch:
            gateway.reset(default)
            gateway.push(*replies)
            logs.raw.clear()
            response = handler(event, FakeContext())
            assert handler_problems(response, max_messages=MAX_MESSAGES) == []
            [record] = logs.records
            assert record["outcome"] in outcomes.ALL
            assert record["outcome"] != outcomes.INTERNAL_ERROR, record
            memory = response["sessionState"]["sessionAttributes"].get(MEMORY_ATTRIBUTE)
            if memory is not None:
                assert lex_length(memory) <= handler.settings.memory_max_chars
                assert decode(memory)[1] is None
            checked.append(record["outcome"])

    check()
    assert len(checked) >= 10_000
    # The generated events exercised the handler's paths, not just one of them.
    assert {"answered", "empty_input", "guardrail_blocked", "gateway_server_error", "gateway_bad_response"} <= set(
        checked
    )


replies = st.one_of(
    st.text(min_size=1, max_size=2000),
    st.lists(
        st.sampled_from(["word", "longer-word", "ünïcode", "東京タワー", "😀", "\n\n", "  ", "\t"]), max_size=800
    ).map(" ".join),
    st.lists(st.text(alphabet="abcdef", min_size=1000, max_size=1300), min_size=1, max_size=5).map(" ".join),
    st.builds(lambda unit, count: unit * count, st.text(min_size=1, max_size=40), st.integers(50, 300)),
).filter(lambda text: text.strip() != "")


@settings(max_examples=300, **PROPERTY_SETTINGS)
@given(reply=replies)
def test_round_trip_the_reply_reaches_lex_intact(
    reply: str, gateway: GatewayStub, make_fulfiller: MakeFulfiller
) -> None:
    gateway.reset(Reply(200, completion(reply)))
    handler = make_fulfiller(max_messages=MAX_MESSAGES)
    response = handler(lex_event("Tell me something."), FakeContext())
    assert handler_problems(response, max_messages=MAX_MESSAGES) == []
    messages = [message["content"] for message in response["messages"]]
    if len(split_text(reply)) <= MAX_MESSAGES:
        assert split_problems(messages, reply) == []
    else:  # cut off: the first messages as split, then the start of the rest and an ellipsis
        assert messages[:-1] == split_text(reply)[: MAX_MESSAGES - 1]
        rest = reply.strip()
        for message in messages[:-1]:
            rest = rest[len(message) :].lstrip()
        assert messages[-1].endswith(ELLIPSIS)
        assert rest.startswith(messages[-1][:-1])


conversations = st.lists(
    st.tuples(
        st.text(min_size=1, max_size=300).filter(str.strip), st.text(min_size=1, max_size=2500).filter(str.strip)
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=100, **PROPERTY_SETTINGS)
@given(conversation=conversations, max_turns=st.integers(0, 4), max_chars=st.integers(256, 3000))
def test_memory_is_always_the_newest_turns_within_bounds(
    conversation: list[tuple[str, str]],
    max_turns: int,
    max_chars: int,
    gateway: GatewayStub,
    make_fulfiller: MakeFulfiller,
) -> None:
    handler = make_fulfiller(memory_turns=max_turns, memory_max_chars=max_chars)
    attributes: dict[str, str] = {"customerId": "42"}
    for question, answer in conversation:
        gateway.reset(Reply(200, completion(answer)))
        response = handler(lex_event(question, session_attributes=attributes), FakeContext())
        attributes = response["sessionState"]["sessionAttributes"]
        assert attributes["customerId"] == "42"
        memory = attributes.get(MEMORY_ATTRIBUTE)
        if memory is None:
            continue
        assert lex_length(memory) <= max_chars
        turns = json.loads(memory)["turns"]
        assert 1 <= len(turns) <= max_turns
        assert turns[-1][0].rstrip(ELLIPSIS) in question.strip(), "the newest turn is the one just answered"
