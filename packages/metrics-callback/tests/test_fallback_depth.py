"""FallbackCount through the proxy: the hop's metadata carries the depth before the header exists."""

from __future__ import annotations

from bedrockgate.metrics_callback.facts import read_facts
from hypothesis import given
from hypothesis import strategies as st

PAYLOAD: dict[str, object] = {"model": "bedrock/x", "model_group": "g", "status": "success"}


@given(depth=st.integers(0, 5), header=st.one_of(st.none(), st.integers(0, 5)))
def test_the_larger_of_the_header_and_the_metadata_depth_is_the_fallback_count(depth: int, header: int | None) -> None:
    payload = dict(PAYLOAD)
    if header is not None:
        payload["hidden_params"] = {"additional_headers": {"x-litellm-attempted-fallbacks": header}}
    facts = read_facts(payload, failed=False, now=0.0, attempted_fallbacks=depth)
    assert facts.fallbacks == max(depth, header or 0)


@given(
    junk=st.one_of(
        st.none(),
        st.text(),
        st.booleans(),
        st.floats().filter(lambda x: not (x >= 0 and float(x).is_integer())),
        st.lists(st.integers()),
        st.integers(max_value=-1),
    )
)
def test_a_malformed_depth_never_raises_and_counts_as_no_fallback(junk: object) -> None:
    # Not ">= 0": a count is clamped at 0, so that would hold for any result. Junk such as 3.7 or
    # True is not a depth and must not become one.
    assert read_facts(PAYLOAD, failed=False, now=0.0, attempted_fallbacks=junk).fallbacks == 0


@given(depth=st.integers(0, 5))
def test_a_whole_float_depth_counts_as_its_value(depth: int) -> None:
    # JSON numbers arrive as floats from some serialisers: 2.0 is two hops.
    assert read_facts(PAYLOAD, failed=False, now=0.0, attempted_fallbacks=float(depth)).fallbacks == depth
