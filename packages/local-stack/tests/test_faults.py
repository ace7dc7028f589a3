"""Fault draws: certain outcomes at rates 0 and 1, the stated precedence, and rates that hold."""

from __future__ import annotations

import pytest
from bedrockgate.local_stack.faults import FaultBoard
from bedrockgate.local_stack.settings import Faults
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

rates = st.sampled_from([0.0, 1.0])


@settings(max_examples=100)
@given(down=st.booleans(), throttle=rates, error=rates, latency=st.integers(0, 5000))
def test_rates_of_zero_and_one_are_certain_and_down_beats_throttle_beats_error(
    down: bool, throttle: float, error: float, latency: int
) -> None:
    board = FaultBoard({"m": Faults(down=down, throttle_rate=throttle, error_rate=error, latency_ms=latency)}, seed=1)
    draw = board.draw("m")
    expected = "down" if down else "throttle" if throttle == 1.0 else "error" if error == 1.0 else "ok"
    assert draw.verdict == expected
    assert draw.latency_s == latency / 1000


def test_a_model_without_faults_takes_the_star_default_then_none() -> None:
    board = FaultBoard(seed=0)
    assert board.draw("m").verdict == "ok"
    board.set("*", Faults(down=True))
    assert board.draw("m").verdict == "down"
    board.set("m", Faults())
    assert board.draw("m").verdict == "ok"
    board.clear()
    assert board.snapshot() == {}


def test_a_fractional_rate_holds_over_many_draws() -> None:
    board = FaultBoard({"m": Faults(throttle_rate=0.3)}, seed=42)
    throttled = sum(board.draw("m").verdict == "throttle" for _ in range(10_000))
    assert 2_800 <= throttled <= 3_200


@pytest.mark.parametrize(
    "bad", [{"throttle_rate": 1.5}, {"error_rate": -0.1}, {"latency_ms": -1}, {"error_kind": "boom"}, {"x": 1}]
)
def test_bad_faults_are_refused_by_field(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as raised:
        Faults.model_validate(bad)
    assert next(iter(bad)) in str(raised.value)
