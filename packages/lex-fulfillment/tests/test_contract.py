"""Contract tests: realistic Lex V2 events in, a real gateway on loopback, valid Lex V2 responses out.

Each event follows the documented input format (see ``lex_events``); each response is checked
against the schema written from the response format (``lex_schema``); each request the gateway
receives is checked against the OpenAI chat completions format LiteLLM serves.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from bedrockgate.lex_fulfillment.memory import MEMORY_ATTRIBUTE
from gateway_stub import GatewayStub, Reply, completion
from lex_events import FakeContext, lex_event
from lex_helpers import LogLines, MakeFulfiller
from lex_schema import handler_problems

CASES = {
    "text, fulfillment hook, no attributes": lex_event("What is Amazon Bedrock?"),
    "text, dialog hook": lex_event("What is Amazon Bedrock?", hook="DialogCodeHook"),
    "speech, fulfillment hook": lex_event("what is amazon bedrock", mode="Speech"),
    "speech, dialog hook, no interpretations": lex_event(
        "what is amazon bedrock", mode="Speech", hook="DialogCodeHook", interpretations=False
    ),
    "DTMF": lex_event("1234#", mode="DTMF"),
    "text with client attributes": lex_event(
        "What is Amazon Bedrock?", session_attributes={"customerId": "42", "tier": "gold"}
    ),
    "text without interpretations": lex_event("What is Amazon Bedrock?", interpretations=False),
    "text with an active context": lex_event(
        "What is Amazon Bedrock?",
        active_contexts=[
            {
                "name": "support",
                "timeToLive": {"timeToLiveInSeconds": 300, "turnsToLive": 5},
                "contextAttributes": {"a": "b"},
            }
        ],
    ),
}


@pytest.mark.parametrize("event", CASES.values(), ids=CASES.keys())
def test_documented_events_get_the_gateway_s_answer(
    event: dict[str, Any], gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    gateway.reset(Reply(200, completion("Amazon Bedrock is a managed service for foundation models.")))
    response = make_fulfiller()(event, FakeContext())

    assert handler_problems(response) == []
    assert response["messages"] == [
        {"contentType": "PlainText", "content": "Amazon Bedrock is a managed service for foundation models."}
    ]
    state = response["sessionState"]
    assert state["intent"] == {"name": "FallbackIntent", "state": "Fulfilled"}
    attributes = event["sessionState"]["sessionAttributes"]
    assert {k: v for k, v in state["sessionAttributes"].items() if k != MEMORY_ATTRIBUTE} == attributes
    assert state.get("activeContexts", []) == event["sessionState"].get("activeContexts", [])
    assert logs.last["outcome"] == "answered"

    [request] = gateway.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-key-0123456789"
    assert request.headers["content-type"] == "application/json"
    assert request.json["model"] == "claude-fast"
    assert request.json["stream"] is False
    assert request.json["max_tokens"] == 1024
    assert request.json["messages"][0]["role"] == "system"
    assert request.json["messages"][-1] == {"role": "user", "content": event["inputTranscript"]}


def test_the_best_transcription_is_asked_when_the_transcript_is_empty(
    gateway: GatewayStub, make_fulfiller: MakeFulfiller
) -> None:
    event = lex_event("", mode="Speech", transcriptions=[("what's bedrock", 0.95), ("what's bed rock", 0.5)])
    response = make_fulfiller()(event, FakeContext())
    assert handler_problems(response) == []
    assert gateway.requests[0].json["messages"][-1]["content"] == "what's bedrock"


def test_follow_up_questions_carry_the_conversation(gateway: GatewayStub, make_fulfiller: MakeFulfiller) -> None:
    handler = make_fulfiller()
    gateway.push(
        Reply(200, completion("Paris is the capital of France.")), Reply(200, completion("About 2.1 million."))
    )
    first = handler(lex_event("What is the capital of France?"), FakeContext())
    attributes = first["sessionState"]["sessionAttributes"]
    assert json.loads(attributes[MEMORY_ATTRIBUTE]) == {
        "v": 1,
        "turns": [["What is the capital of France?", "Paris is the capital of France."]],
    }
    second = handler(lex_event("How many people live there?", session_attributes=attributes), FakeContext())
    assert handler_problems(second) == []
    sent = gateway.requests[1].json["messages"]
    assert [(m["role"], m["content"]) for m in sent[1:]] == [
        ("user", "What is the capital of France?"),
        ("assistant", "Paris is the capital of France."),
        ("user", "How many people live there?"),
    ]
    turns = json.loads(second["sessionState"]["sessionAttributes"][MEMORY_ATTRIBUTE])["turns"]
    assert len(turns) == 2


def test_memory_keeps_the_newest_turns(gateway: GatewayStub, make_fulfiller: MakeFulfiller) -> None:
    handler = make_fulfiller(memory_turns=2)
    attributes: dict[str, str] = {}
    for index in range(5):
        gateway.push(Reply(200, completion(f"answer {index}")))
        response = handler(lex_event(f"question {index}", session_attributes=attributes), FakeContext())
        attributes = response["sessionState"]["sessionAttributes"]
    turns = json.loads(attributes[MEMORY_ATTRIBUTE])["turns"]
    assert turns == [["question 3", "answer 3"], ["question 4", "answer 4"]]


def test_a_long_reply_becomes_several_messages(gateway: GatewayStub, make_fulfiller: MakeFulfiller) -> None:
    reply = " ".join(f"sentence{index}." for index in range(300))  # about 3,300 characters
    gateway.reset(Reply(200, completion(reply)))
    response = make_fulfiller()(lex_event(), FakeContext())
    assert handler_problems(response, max_messages=4) == []
    contents = [message["content"] for message in response["messages"]]
    assert len(contents) == 4
    assert " ".join(contents) == reply


def test_an_empty_utterance_is_answered_without_calling_the_gateway(
    gateway: GatewayStub, make_fulfiller: MakeFulfiller, logs: LogLines
) -> None:
    response = make_fulfiller()(lex_event("   "), FakeContext())
    assert handler_problems(response) == []
    assert response["messages"][0]["content"] == "Sorry, I didn't catch that. Could you say it again?"
    assert gateway.requests == []
    assert logs.last["outcome"] == "empty_input"


def test_the_content_of_parts_lists_is_joined(gateway: GatewayStub, make_fulfiller: MakeFulfiller) -> None:
    body = completion("")
    body["choices"][0]["message"]["content"] = [
        {"type": "text", "text": "Part one. "},
        {"type": "text", "text": "Part two."},
    ]
    gateway.reset(Reply(200, body))
    response = make_fulfiller()(lex_event(), FakeContext())
    assert response["messages"][0]["content"] == "Part one. Part two."


def test_unicode_reaches_the_gateway_intact_and_forged_surrogates_do_not(
    gateway: GatewayStub, make_fulfiller: MakeFulfiller
) -> None:
    forged = '{"v":1,"turns":[["earlier \\ud800 question","earlier answer"]]}'  # a lone surrogate, JSON-escaped
    event = lex_event("Wie spät ist es in 東京? 😀", session_attributes={MEMORY_ATTRIBUTE: forged})
    make_fulfiller()(event, FakeContext())
    [request] = gateway.requests
    assert request.raw.isascii(), "the body is ASCII JSON: nothing in it can fail to encode"
    sent = request.json["messages"]
    assert sent[-1]["content"] == "Wie spät ist es in 東京? 😀"
    assert sent[1]["content"] == "earlier \ufffd question"


def test_an_empty_system_prompt_sends_none(gateway: GatewayStub, make_fulfiller: MakeFulfiller) -> None:
    make_fulfiller(system_prompt="")(lex_event("hi"), FakeContext())
    assert [message["role"] for message in gateway.requests[0].json["messages"]] == ["user"]
