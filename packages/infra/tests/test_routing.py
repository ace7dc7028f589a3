"""Property 2 of the design: ``/phoenix/*`` goes to Phoenix, every other path to LiteLLM.

The synthesized listener rules are evaluated by a small model of how an ALB routes a request:
rules in ascending priority, the first whose conditions all match wins, else the listener's default
action. A ``path-pattern`` condition matches when any of its values matches the whole request path,
case-sensitively, where ``*`` matches any run of characters (also none) and ``?`` exactly one; every
other character stands for itself. The path is matched as received (no normalisation, no query).
An ``http-header`` condition (with a domain: CloudFront's secret ``X-Origin-Verify``) matches only
requests that came through CloudFront, which the model takes as a flag of the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from bedrockgate.infra.report import Synthesized
from bedrockgate.infra.stacks.edge import ORIGIN_HEADER
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
    origin_header: bool = False
    """The rule also requires CloudFront's secret origin header."""


@dataclass(frozen=True)
class Listener:
    rules: tuple[Rule, ...]
    default: str

    def route(self, path: str, *, through_cloudfront: bool = False) -> str:
        for rule in sorted(self.rules, key=lambda rule: rule.priority):
            if rule.origin_header and not through_cloudfront:
                continue
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
            fields = {condition["Field"]: condition for condition in props["Conditions"]}
            assert len(fields) == len(props["Conditions"])
            assert set(fields) <= {"path-pattern", "http-header"}
            patterns = tuple(fields["path-pattern"]["PathPatternConfig"]["Values"])
            header = fields.get("http-header")
            if header is not None:
                assert header["HttpHeaderConfig"]["HttpHeaderName"] == ORIGIN_HEADER
            target = _target(props["Actions"], stack.stack_name)
            rules.append(Rule(props["Priority"], patterns, target, origin_header=header is not None))
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


def test_routing_is_the_same_with_a_domain_and_only_through_cloudfront(
    with_domain: Synthesized, listener: Listener
) -> None:
    routed = listener_of(with_domain)
    assert routed.default == "fixed 403"
    assert all(rule.origin_header for rule in routed.rules)
    assert sorted((r.priority, r.patterns, r.target) for r in routed.rules) == sorted(
        (r.priority, r.patterns, r.target) for r in listener.rules
    )


@settings(max_examples=300, deadline=None)
@given(path=st.one_of(paths, phoenix_like), through_cloudfront=st.booleans())
def test_with_a_domain_a_request_that_bypassed_cloudfront_is_never_routed(
    with_domain: Synthesized, path: str, through_cloudfront: bool
) -> None:
    routed = listener_of(with_domain)
    wanted = expected(path) if through_cloudfront else "fixed 403"
    assert routed.route(path, through_cloudfront=through_cloudfront) == wanted


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
