"""Malformed requests for the proxy's edge, generated from a seed (issue 16, item 6).

Each ``Case`` is one request: either sent with httpx (well-formed HTTP, a bad body or bad fields),
or as raw bytes over a socket, where httpx would refuse to send it (bad request lines, header names
and values out of spec, conflicting lengths). Every case carries what a right answer is.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
BIG_MESSAGE_BYTES = 10_000_000
SERVER_REJECTION = "Invalid HTTP request received."
"""uvicorn's own plain-text 400, sent before the application sees a request it cannot parse."""
_INVALID_JSON_BODY = b'{"model": "claude-fast", "messages": '


@dataclass(frozen=True)
class Case:
    kind: str
    path: str = CHAT
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    """The whole request, sent as is over a socket; ``None``: sent with httpx."""
    may_succeed: bool = False
    """Odd but well-formed input: a 200 is a right answer too."""
    label: str = ""

    @property
    def reaches_the_application(self) -> bool:
        return self.raw is None


def _chat(messages: object, **fields: object) -> dict[str, object]:
    return {"model": "claude-fast", "messages": messages, **fields}


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


def _invalid_json(rng: random.Random) -> Case:
    valid = json.dumps(_chat([{"role": "user", "content": "hello"}]))
    variants: list[Callable[[], str]] = [
        lambda: valid[: rng.randrange(1, len(valid) - 1)],  # truncated
        lambda: valid + rng.choice(["}", "]", ",", " garbage", "{}"]),  # trailing
        lambda: valid.replace('"', "'"),  # single quotes
        lambda: valid.replace('"hello"', rng.choice(["NaN", "Infinity", "undefined", "hello"])),
        lambda: "",
        lambda: " \n\t ",
        lambda: "\ufeff" + valid,  # a byte order mark
        lambda: "[" * 5000 + "]" * 5000,  # deep nesting
        lambda: '{"model": "claude-fast", "messages": [{"role": "user", "content": "a\\x41"}]}',  # bad escape
        lambda: '{"model": "claude-fast",, "messages": []}',
    ]
    text = rng.choice(variants)()
    body = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.15:
        body += rng.choice([b"\xff\xfe", b"\xc3\x28", b"\x80"])  # invalid UTF-8
    return Case("invalid JSON", body=body, label=text[:40])


def _non_object_json(rng: random.Random) -> Case:
    document = rng.choice([None, 5, -1.5, "text", True, [], [1, 2], [_chat([])]])
    return Case("JSON that is not an object", body=_json(document), label=repr(document)[:40])


_ANY_BAD: list[object] = [5, -3, 1.5e308, True, [], [1], {}, {"a": 1}, "x" * 100, ""]
_OPTIONAL = {"max_tokens", "temperature", "stream", "n", "tools", "stop", "top_p", "user", "metadata",
             "tool_choice", "response_format"}  # fmt: skip
# The JSON types each field takes (the OpenAI API): anything else is a wrong type.
_TYPES: dict[str, tuple[type, ...]] = {
    "model": (str,), "messages": (list,), "content": (str, list), "role": (str,), "max_tokens": (int,),
    "temperature": (int, float), "stream": (bool,), "n": (int,), "tools": (list,), "stop": (str, list),
    "top_p": (int, float), "user": (str,), "metadata": (dict,), "tool_choice": (str, dict),
    "response_format": (dict,), "messages[]": (dict,), "embedding input": (str, list),
}  # fmt: skip
_LENIENT = {"temperature", "top_p", "user", "metadata", "stop", "n", "stream", "max_tokens", "tool_choice"}
"""Fields LiteLLM may coerce or drop (``drop_params: true``): a wrong type there can still be served."""


def _wrong_types(rng: random.Random) -> Case:
    message = {"role": "user", "content": "hello"}
    field_name = rng.choice(sorted(_TYPES))
    value = rng.choice([v for v in _ANY_BAD if not isinstance(v, _TYPES[field_name]) or isinstance(v, bool)])
    label = f"{field_name}={value!r}"[:40]
    if field_name == "embedding input":
        return Case("wrong type", EMBEDDINGS, _json({"model": "embeddings", "input": value}), label=label)
    if field_name == "messages":
        document = _chat(value)
    elif field_name == "messages[]":
        document = _chat([value])
    elif field_name in ("content", "role"):
        document = _chat([message | {field_name: value}])
    elif field_name == "model":
        document = {"model": value, "messages": [message]}
    else:
        document = _chat([message], **{field_name: value})
    return Case("wrong type", body=_json(document), may_succeed=field_name in _LENIENT, label=label)


def _unknown_model(rng: random.Random) -> Case:
    name = rng.choice(
        ["gpt-4", "claude-primary ", "CLAUDE-FAST", "../../etc/passwd", "*", "bedrock/anthropic.claude-v2",
         "x" * 5000, "claude-fast\u0000", "модель", "🤖", "claude-fast\nX-Injected: 1"]
    )  # fmt: skip
    path = rng.choice([CHAT, EMBEDDINGS])
    document = {"model": name, "input": "hello"} if path == EMBEDDINGS else _chat([{"role": "user", "content": "hi"}])
    if path == CHAT:
        document["model"] = name
    return Case("unknown model", path, _json(document), label=name[:40])


def _unicode(rng: random.Random) -> Case:
    surrogate = rng.choice(["\\ud800", "\\udfff", "\\udbff\\udbff", "a\\ud83d", "\\udc00\\ud800"])
    if rng.random() < 0.5:  # a lone surrogate, escaped: valid JSON syntax, not a Unicode string
        where = rng.choice(["content", "model", "role"])
        document = json.dumps(_chat([{"role": "user", "content": "hello"}]))
        target = {"content": '"hello"', "model": '"claude-fast"', "role": '"user"'}[where]
        body = document.replace(target, f'"{surrogate}"', 1).encode()
        return Case("lone surrogate", body=body, label=f"{where}={surrogate}")
    text = rng.choice(
        ["\u202eevil\u202c", "zero\u200bwidth\u200d", "e\u0301" * 500, "\uffff\ufffe", "🤖👍🏽🇪🇺", "\u0000nul",
         "\U0010ffff", "\uff46\uff55\uff4c\uff4c", "\r\n\r\nX-Injected: 1", "ǅǈǋ" * 100]
    )  # fmt: skip
    return Case("unicode edge", body=_json(_chat([{"role": "user", "content": text}])), may_succeed=True,
                label=repr(text)[:40])  # fmt: skip


def _content_type(rng: random.Random) -> Case:
    body = rng.choice([_json(_chat("not a list")), b"model=claude-fast&messages=hi", b"--x\r\n\r\n--x--"])
    content_type = rng.choice(
        ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/xml", "image/png",
         "application/json; charset=latin-1"]
    )  # fmt: skip
    return Case("wrong content type", body=body, headers={"Content-Type": content_type}, label=content_type)


def big_message() -> Case:
    """One message of about 10 MB: more than any model's context, answered 400 before any call."""
    body = _json(_chat([{"role": "user", "content": "a " * (BIG_MESSAGE_BYTES // 2)}]))
    return Case("10 MB message", body=body, label=f"{len(body)} bytes")


def _raw(request_line: str, headers: list[str], body: bytes = _INVALID_JSON_BODY) -> bytes:
    head = "\r\n".join([request_line, *headers, "Connection: close"]) + "\r\n\r\n"
    return head.encode("latin-1", "surrogateescape") + body


def _raw_http(rng: random.Random, host: str, key: str) -> Case:
    auth = f"Authorization: Bearer {key}"
    length = f"Content-Length: {len(_INVALID_JSON_BODY)}"
    post = f"POST {CHAT} HTTP/1.1"
    common = [f"Host: {host}", auth, "Content-Type: application/json"]
    variants: list[tuple[str, bytes]] = [
        ("garbage request line", b"GARBAGE\r\n\r\n"),
        (
            "TLS on plain HTTP",
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(rng.randrange(256) for _ in range(32)),
        ),
        ("HTTP/9.9", _raw("GET /v1/models HTTP/9.9", common)),
        ("method with a bracket", _raw(f"PO(ST {CHAT} HTTP/1.1", [*common, length])),
        ("space in the target", _raw("POST /v1/chat completions HTTP/1.1", [*common, length])),
        ("space in a header name", _raw(post, [*common, "Bad Header: x", length])),
        ("control byte in a header name", _raw(post, [*common, "X-Bad\x01: x", length])),
        ("empty header name", _raw(post, [*common, ": nameless", length])),
        ("NUL in a header value", _raw(post, [*common, "X-Value: a\x00b", length])),
        ("obsolete line folding", _raw(post, [*common, "X-Folded: a", " b", length])),
        ("no Host in HTTP/1.1", _raw(post, [auth, "Content-Type: application/json", length])),
        ("two different Content-Lengths", _raw(post, [*common, length, "Content-Length: 3"])),
        ("negative Content-Length", _raw(post, [*common, "Content-Length: -5"])),
        ("non-numeric Content-Length", _raw(post, [*common, "Content-Length: ten"])),
        (
            "chunked with a bad chunk size",
            _raw(post, [*common, "Transfer-Encoding: chunked"], b"zz\r\nabc\r\n0\r\n\r\n"),
        ),
        ("chunked and a Content-Length", _raw(post, [*common, "Transfer-Encoding: chunked", length], b"0\r\n\r\n")),
        ("unknown Transfer-Encoding", _raw(post, [*common, "Transfer-Encoding: gzip, rot13", length])),
        ("a 100 KB header", _raw(post, [*common, "X-Big: " + "a" * 100_000, length])),
        ("300 headers", _raw(post, [*common, *(f"X-H{i}: {i}" for i in range(300)), length])),
        ("bare LF line ends", _raw(post, [*common, length]).replace(b"\r\n", b"\n")),
        ("non-ASCII bytes in the key", _raw(post, [f"Host: {host}", "Authorization: Bearer sk-\xff\xfe", length])),
        ("'Bearer' and no key", _raw(post, [f"Host: {host}", "Authorization: Bearer", length])),
        ("Content-Length beyond the body", _raw(post, [*common, "Content-Length: 10"], b"{}")),
    ]
    name, raw = rng.choice(variants)
    # uvicorn (httptools) serves an unknown HTTP version like 1.1: the request itself is fine (GET /v1/models).
    return Case("malformed HTTP", raw=raw, label=name, may_succeed=name == "HTTP/9.9")


GENERATORS: list[tuple[int, Callable[[random.Random], Case]]] = [
    (150, _invalid_json),
    (40, _non_object_json),
    (260, _wrong_types),
    (100, _unknown_model),
    (150, _unicode),
    (50, _content_type),
]


def generate(seed: int, total: int, host: str, key: str) -> list[Case]:
    """``total`` cases from ``seed``: the weights above, the rest malformed HTTP, one 10 MB message."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible test input, not a secret
    weights = [weight for weight, _ in GENERATORS] + [total - 1 - sum(w for w, _ in GENERATORS)]
    makers = [maker for _, maker in GENERATORS] + [lambda r: _raw_http(r, host, key)]
    cases = [big_message()]
    while len(cases) < total:
        cases.append(rng.choices(makers, weights)[0](rng))
    rng.shuffle(cases)
    return cases
