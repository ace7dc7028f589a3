"""The response schema itself: the documentation's own examples pass, and each rule bites."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from lex_schema import handler_problems, response_problems

# The minimal examples from "AWS Lambda response format for Lex V2", section "Required fields in the response".
DOCUMENTED: list[dict[str, Any]] = [
    {"sessionState": {"dialogAction": {"type": "Delegate"}}},
    {
        "sessionState": {"dialogAction": {"type": "ElicitIntent"}},
        "messages": [{"contentType": "PlainText", "content": "How can I help you?"}],
    },
    {
        "sessionState": {
            "dialogAction": {"slotToElicit": "OriginCity", "type": "ElicitSlot"},
            "intent": {"name": "BookFlight"},
        }
    },
    {
        "sessionState": {
            "dialogAction": {"type": "ConfirmIntent"},
            "intent": {
                "name": "BookFlight",
                "slots": {
                    "OriginCity": {
                        "value": {"originalValue": "nyc", "interpretedValue": "nyc", "resolvedValues": ["nyc"]}
                    }
                },
            },
        },
        "messages": [{"contentType": "PlainText", "content": "Okay, you want to fly from nyc. Is that correct?"}],
    },
    {"sessionState": {"dialogAction": {"type": "Close"}, "intent": {"name": "BookFlight", "state": "Fulfilled"}}},
]

GOOD: dict[str, Any] = {
    "sessionState": {
        "dialogAction": {"type": "Close"},
        "intent": {"name": "FallbackIntent", "state": "Fulfilled"},
        "sessionAttributes": {"k": "v"},
    },
    "messages": [{"contentType": "PlainText", "content": "Hello."}],
}


@pytest.mark.parametrize("response", DOCUMENTED)
def test_the_documented_examples_are_valid(response: dict[str, Any]) -> None:
    assert response_problems(response) == []


def test_a_handler_response_is_valid() -> None:
    assert handler_problems(GOOD) == []


def broken(path: tuple[Any, ...], value: object) -> dict[str, Any]:
    response = copy.deepcopy(GOOD)
    target: Any = response
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return response


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        ([], "not an object"),
        ({}, "sessionState is required"),
        (broken(("sessionState", "dialogAction"), KeyError), "dialogAction.type is required"),
        (broken(("sessionState", "dialogAction", "type"), "Finish"), "dialogAction.type is required"),
        (broken(("sessionState", "intent", "state"), KeyError), "Close needs"),
        (broken(("sessionState", "intent", "state"), "ReadyForFulfillment"), "Close is compatible only"),
        (broken(("sessionState", "intent", "name"), "Fallback Intent"), "not a valid intent name"),
        (broken(("sessionState", "sessionAttributes", "n"), 1), "must map a non-empty string to a string"),
        (broken(("messages", 0, "content"), ""), "1 to 1024 characters"),
        (broken(("messages", 0, "content"), "😀" * 513), "1 to 1024 characters"),
        (broken(("messages", 0, "contentType"), "Markdown"), "is not one of"),
        (broken(("messages",), [{"contentType": "PlainText", "content": "x"}] * 11), "at most 10"),
        (broken(("messages", 0, "content"), "lone \ud800"), "not sendable as JSON"),
        (broken(("sessionState", "ttl"), 1), "unknown sessionState field"),
        (
            broken(("sessionState", "activeContexts"), [{"name": "c", "timeToLive": {}, "contextAttributes": {}}]),
            "timeToLive",
        ),
        (broken(("sessionAttributes",), {}), "unknown top-level field"),
        (broken(("messages", 0, "content"), float("nan")), "not sendable as JSON"),
    ],
)
def test_each_rule_catches_its_violation(response: object, problem: str) -> None:
    problems = response_problems(response)
    assert any(problem in text for text in problems), problems


def test_the_handler_promise_is_stricter() -> None:
    assert "the handler always reports the intent as Fulfilled" in handler_problems(
        broken(("sessionState", "intent", "state"), "Failed")
    )
    assert any("blank" in p for p in handler_problems(broken(("messages", 0, "content"), " padded ")))
