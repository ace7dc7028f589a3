"""Property 2 of the design: ``/phoenix/*`` goes to Phoenix, every other path to LiteLLM.

The synthesized listener rules are evaluated by a small model of how an ALB routes a request:
rules in ascending priority, the first whose conditions all match wins, else the listener's default
action. A ``path-pattern`` condition matches when any of its values matches the whole request path,
case-sensitively, where ``*`` matches any run of characters (also none) and ``?`` exactly one; every
other character stands for itself. The path is matched as received (no normalisation, no query).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from bedrockgate.infra.report import Synthesized
from hypothesis import example, given, settings
from hypothesis import strategies as st


def pattern_matches(pattern: str, path: str) -> bool:
    """ALB path-pattern semantics: whole-path, case-sensitive, ``*`` any run, ``?`` one character."""
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, path, flags=re.DOTALL) is not None


@dataclass(frozen=True, order=True)
class Rule:
    priority: int
    patterns: tuple[str, ...]
    target: str


@dataclass(frozen=True)
class Listener:
    rules: tuple[Rule, ...]
    default: str

    def route(self, path: str) -> str:
        for rule in sorted(self.rules, key=lambda rule: rule.priority):
            if any(pattern_matches(pattern, path) for pattern in rule.patterns):
                return rule.target
        return self.default


def _target(actions: list[dict[str, Any]], stack: str) -> str:
    assert len(actions) == 1
    action = actions[0]
    if action["Type"] == "fixed-response":
        return f"fixed {action['FixedResponseConfig']['StatusCode']}"
    assert action["Type"] == "forward"
    return stack.rsplit("-", 1)[-1]  # the stack whose target group it forwards to: gateway or phoenix


def listener_of(synth: Synthesized) -> Listener:
    """The edge listener's default action and every rule any stack attached to it."""
    edge = synth.deployment.edge
    listeners = synth.resources(edge, "AWS::ElasticLoadBalancingV2::Listener")
    assert len(listeners) == 1
    default = _target(next(iter(listeners.values()))["Properties"]["DefaultActions"], edge.stack_name)
    rules: list[Rule] = []
    for stack in synth.deployment.stacks:
        for rule in synth.resources(stack, "AWS::ElasticLoadBalancingV2::ListenerRule").values():
            props = rule["Properties"]
            assert f"{edge.stack_name}:" in str(props["ListenerArn"])  # the edge stack's one listener
            conditions = props["Conditions"]
            assert [condition["Field"] for condition in conditions] == ["path-pattern"]
            patterns = tuple(conditions[0]["PathPatternConfig"]["Values"])
            rules.append(Rule(props["Priority"], patterns, _target(props["Actions"], stack.stack_name)))
    return Listener(tuple(rules), default)


@pytest.fixture(scope="module")
def listener(dev: Synthesized) -> Listener:
    return listener_of(dev)


def expected(path: str) -> str:
    return "phoenix" if path.startswith("/phoenix/") else "gateway"


paths = st.text(st.characters(codec="utf-8"), max_size=60).map(lambda rest: "/" + rest)
phoenix_like = st.sampled_from(
    ["/phoenix", "/phoenix/", "/Phoenix/", "/phoenix/x", "/phoenixx/", "//phoenix/"]
).flatmap(lambda head: st.text(max_size=20).map(lambda tail: head + tail))


@settings(max_examples=500, deadline=None)
@given(st.one_of(paths, phoenix_like))
@example("/phoenix")
@example("/phoenix/")
@example("/phoenix/v1/traces")
@example("/phoenix/../key/generate")
@example("/PHOENIX/projects")
@example("/v1/chat/completions")
@example("/health/liveliness")
@example("/")
def test_phoenix_paths_go_to_phoenix_and_everything_else_to_litellm(listener: Listener, path: str) -> None:
    assert listener.route(path) == expected(path)


def test_the_listener_has_exactly_the_two_routes_and_a_404_default(listener: Listener) -> None:
    assert listener.default == "fixed 404"
    assert sorted((rule.priority, rule.patterns, rule.target) for rule in listener.rules) == [
        (10, ("/phoenix/*",), "phoenix"),
        (1000, ("/*",), "gateway"),
    ]


def test_routing_is_the_same_with_a_domain(with_domain: Synthesized, listener: Listener) -> None:
    assert sorted(listener_of(with_domain).rules) == sorted(listener.rules)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/phoenix/*", "/phoenix/", True),
        ("/phoenix/*", "/phoenix", False),
        ("/phoenix/*", "/Phoenix/a", False),
        ("/a?c", "/abc", True),
        ("/a?c", "/ac", False),
        ("/a.c", "/abc", False),
        ("/a+", "/aa", False),
        ("/*", "/", True),
        ("*", "", True),
        ("/x*y", "/x\ny", True),
    ],
)
def test_the_evaluator_follows_alb_path_pattern_rules(pattern: str, path: str, matches: bool) -> None:
    assert pattern_matches(pattern, path) is matches
