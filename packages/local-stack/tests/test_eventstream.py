"""Our event-stream frames, read back by botocore's decoder: the one LiteLLM reads Bedrock with."""

from __future__ import annotations

import json
import zlib

import pytest
from bedrockgate.local_stack.eventstream import encode_event, encode_exception, encode_message
from botocore.eventstream import EventStreamBuffer  # type: ignore[import-untyped]  # botocore has no type hints
from hypothesis import given, settings
from hypothesis import strategies as st

header_names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40).filter(
    lambda name: 0 < len(name.encode()) <= 255
)
header_values = st.text(st.characters(codec="utf-8"), max_size=200)


def decode(data: bytes) -> list[tuple[dict[str, object], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(dict(message.headers), message.payload) for message in buffer]


@settings(max_examples=200, deadline=None)
@given(headers=st.dictionaries(header_names, header_values, max_size=5), payload=st.binary(max_size=2048))
def test_any_message_round_trips_through_botocore(headers: dict[str, str], payload: bytes) -> None:
    [(decoded_headers, decoded_payload)] = decode(encode_message(headers, payload))
    assert decoded_headers == headers
    assert decoded_payload == payload


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(max_size=100), min_size=1, max_size=10))
def test_a_stream_of_deltas_decodes_in_order_with_bedrock_headers(texts: list[str]) -> None:
    frames = b"".join(
        encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}}) for text in texts
    )
    decoded = decode(frames)
    assert [json.loads(payload)["delta"]["text"] for _, payload in decoded] == texts
    assert all(h[":event-type"] == "contentBlockDelta" and h[":message-type"] == "event" for h, _ in decoded)


def test_an_exception_frame_carries_its_type_for_the_client_to_raise() -> None:
    [(headers, payload)] = decode(encode_exception("throttlingException", "slow down"))
    assert headers[":message-type"] == "exception"
    assert headers[":exception-type"] == "throttlingException"
    assert json.loads(payload) == {"message": "slow down"}


def test_a_corrupted_frame_is_refused_by_the_reader() -> None:
    frame = bytearray(encode_event("messageStop", {"stopReason": "end_turn"}))
    frame[-5] ^= 0xFF  # the payload, under the message CRC
    with pytest.raises(Exception, match=r"CRC|[Cc]hecksum"):
        decode(bytes(frame))
    assert zlib.crc32(bytes(frame[:-4])) != int.from_bytes(frame[-4:], "big")


def test_header_limits_are_errors_that_name_the_header() -> None:
    with pytest.raises(ValueError, match="1-255 bytes"):
        encode_message({"x" * 256: "v"}, b"")
    with pytest.raises(ValueError, match="'big'"):
        encode_message({"big": "v" * 40_000}, b"")
