"""AWS event-stream framing (``application/vnd.amazon.eventstream``), the encoding side.

botocore ships only the decoder (``botocore.eventstream.EventStreamBuffer``), which is what
LiteLLM's Bedrock provider reads ``converse-stream`` with; the tests decode our frames with it.
The format: a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes), the
headers, the payload, and a CRC32 of everything before it. All integers are big-endian.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping

_STRING_HEADER_TYPE = 7
_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
_MAX_HEADER_NAME = 255
_MAX_HEADER_VALUE = 32767


def encode_headers(headers: Mapping[str, str]) -> bytes:
    """String-valued headers: name length (1 byte), name, type 7, value length (2 bytes), value."""
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        if not 0 < len(raw_name) <= _MAX_HEADER_NAME:
            raise ValueError(f"event-stream header name must be 1-255 bytes, got {len(raw_name)}: {name!r}")
        if len(raw_value) > _MAX_HEADER_VALUE:
            raise ValueError(f"event-stream header {name!r} value is {len(raw_value)} bytes; the limit is 32767")
        out += bytes([len(raw_name)]) + raw_name + bytes([_STRING_HEADER_TYPE])
        out += struct.pack(">H", len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One complete event-stream message."""
    raw_headers = encode_headers(headers)
    total = _PRELUDE.size + _CRC.size + len(raw_headers) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total, len(raw_headers))
    head = prelude + _CRC.pack(zlib.crc32(prelude)) + raw_headers + payload
    return head + _CRC.pack(zlib.crc32(head))


def encode_event(event_type: str, body: Mapping[str, object]) -> bytes:
    """A Bedrock stream event (``messageStart``, ``contentBlockDelta``, ``metadata`` ...)."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps(body, separators=(",", ":")).encode())


def encode_exception(exception_type: str, message: str) -> bytes:
    """An in-stream error (``throttlingException`` ...), as Bedrock sends one mid-stream."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, json.dumps({"message": message}).encode())
