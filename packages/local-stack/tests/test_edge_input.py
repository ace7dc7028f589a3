"""Bad input at the edge (issue 16, item 6): 1,000 malformed requests to the running proxy.

The cases come from a seed (``edge_cases.py``): invalid JSON, JSON that is not an object, wrong
types, unknown models, unicode edge cases (lone surrogates escaped in JSON among them), a 10 MB
message, wrong content types, and malformed HTTP sent over raw sockets. The rules:

- a request that reaches the application gets a 4xx with a JSON error (a 200 only where the input
  is odd but well-formed, e.g. right-to-left marks in a prompt);
- malformed HTTP is answered by the server before the application: uvicorn's plain 400 is right;
- no 5xx, except those in ``REVIEWED_5XX``, each with its reason;
- the proxy stays healthy: liveness and a real chat answer after each batch.

Loopback only, at most ``CONCURRENCY`` requests at once; the count and the time are printed.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
from bedrockgate.local_stack.stack import LocalStack
from edge_cases import SERVER_REJECTION, Case, generate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_stack_helpers import MASTER_KEY, auth, proxy_url

SEED = 16
TOTAL = 1000
BATCH = 100
CONCURRENCY = 8
RAW_TIMEOUT_S = 5.0
"""A request that never completes is waited for this long (the server waits for the rest, as HTTP says)."""

REVIEWED_5XX: tuple[tuple[str, str, str], ...] = (
    # (case kind, label pattern, why this 5xx is LiteLLM's by design or an upstream bug no hook of ours reaches)
    (
        "JSON that is not an object",
        ".*",
        "LiteLLM 1.106.2's key check reads the parsed body with .get() before anything validates it: a body of "
        "null, a number, a string or an array raises AttributeError there, and its error handler fails the same "
        "way: 500 'Internal server error' (JSON, no detail). It happens before any callback runs.",
    ),
    (
        "wrong type",
        r"messages=(-?\d|1\.5e\+308|True)",
        "'messages' as a number or a boolean: LiteLLM's request set-up iterates it before the pre-call hooks "
        "(500 ''int' object is not iterable', at once); a string or an object is a 400.",
    ),
    (
        "wrong type",
        r"tools=(-?\d|1\.5e\+308|True)",
        "'tools' as a number or a boolean: LiteLLM's request set-up iterates it before the pre-call hooks "
        "(500 'Internal server error', at once); a string or an object is our hook's 400.",
    ),
)
DROPPED_WITHOUT_ANSWER: dict[str, str] = {
    "Content-Length beyond the body": (
        "the client promised 10 bytes and closed after 2: the request never completes, so there is nothing to answer"
    ),
}


@dataclass(frozen=True)
class Outcome:
    case: Case
    status: int | None
    content_type: str
    body: str


async def _send_httpx(client: httpx.AsyncClient, case: Case) -> Outcome:
    headers = auth() | {"Content-Type": "application/json"} | case.headers
    try:
        response = await client.post(case.path, content=case.body, headers=headers)
    except httpx.TransportError as error:
        return Outcome(case, None, "", f"{type(error).__name__}: {error}")
    return Outcome(case, response.status_code, response.headers.get("content-type", ""), response.text)


async def _send_raw(host: str, port: int, case: Case) -> Outcome:
    assert case.raw is not None
    try:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(case.raw)  # no half-close: uvicorn drops a request whose client shut its side
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), RAW_TIMEOUT_S)
        finally:
            writer.close()
    except (OSError, TimeoutError) as error:
        return Outcome(case, None, "", f"{type(error).__name__}: {error}")
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/"):
        return Outcome(case, None, "", answer[:200].decode("latin-1"))
    if any(line.lower() == "transfer-encoding: chunked" for line in lines[1:]):
        body = _dechunk(body)
    content_type = next(
        (line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("content-type:")), ""
    )
    return Outcome(case, int(lines[0].split()[1]), content_type, body.decode("utf-8", "replace"))


def _dechunk(body: bytes) -> bytes:
    """The payload of a chunked body."""
    payload, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        payload, rest = payload + rest[:size], rest[size + 2 :]
    return payload


def _json_error(outcome: Outcome) -> bool:
    if not outcome.content_type.startswith("application/json"):
        return False
    try:
        body: Any = json.loads(outcome.body)
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("error") or body.get("detail"))


def problem(outcome: Outcome) -> str | None:
    """What is wrong with this answer to this case, or ``None``."""
    case, status = outcome.case, outcome.status
    if status is None:
        return None if case.label in DROPPED_WITHOUT_ANSWER else f"no answer [{case.label}]: {outcome.body[:200]}"
    if status >= 500:
        reviewed = any(case.kind == kind and re.fullmatch(label, case.label) for kind, label, _ in REVIEWED_5XX)
        return None if reviewed else f"{status}: {outcome.body[:300]}"
    if status < 400:
        return None if case.may_succeed and status == 200 else f"{status} for malformed input: {outcome.body[:200]}"
    if _json_error(outcome):
        return None
    if not case.reaches_the_application and status == 400 and outcome.body.strip() == SERVER_REJECTION:
        return None
    return f"{status} without a JSON error ({outcome.content_type}): {outcome.body[:200]}"


def _healthy(url: str) -> None:
    assert httpx.get(f"{url}/health/liveliness", timeout=30).status_code == 200
    served = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "claude-fast", "messages": [{"role": "user", "content": "still there?"}]},
        headers=auth(),
        timeout=120,
    )
    assert served.status_code == 200, served.text


async def _run_batch(url: str, cases: list[Case]) -> list[Outcome]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    semaphore = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_keepalive_connections=0, max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one(case: Case) -> Outcome:
            async with semaphore:
                if case.raw is not None:
                    return await _send_raw(host, int(port), case)
                return await _send_httpx(client, case)

        return await asyncio.gather(*(one(case) for case in cases))


def test_a_thousand_malformed_requests_get_4xx_json_and_the_proxy_stays_healthy(stack: LocalStack) -> None:
    url = proxy_url(stack)
    cases = generate(SEED, TOTAL, host=url.removeprefix("http://"), key=MASTER_KEY)
    assert len(cases) == TOTAL
    started = time.monotonic()
    outcomes: list[Outcome] = []
    for first in range(0, TOTAL, BATCH):
        outcomes += asyncio.run(_run_batch(url, cases[first : first + BATCH]))
        _healthy(url)
    took = time.monotonic() - started

    by_kind: dict[str, Counter[str]] = {}
    for outcome in outcomes:
        by_kind.setdefault(outcome.case.kind, Counter())[str(outcome.status)] += 1
    print(f"\nbad input: {len(outcomes)} requests at concurrency {CONCURRENCY} in {took:.1f} s "
          f"(+ a health check and a chat answer after each of {TOTAL // BATCH} batches)")  # fmt: skip
    for kind, statuses in sorted(by_kind.items()):
        print(f"  {kind:28s} {sum(statuses.values()):4d}  {dict(sorted(statuses.items()))}")
    problems = [f"{o.case.kind} [{o.case.label}]: {p}" for o in outcomes if (p := problem(o))]
    assert not problems, "\n".join(problems[:30])
    assert sum(1 for o in outcomes if o.status and 400 <= o.status < 500) > TOTAL // 2


# A property of the same edge, over values hypothesis picks: any JSON object with any field types
# gets 200 (well-formed after all) or a 4xx with a JSON error, never a 5xx.
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "tool", "wizard"]) | _JSON, "content": _JSON}
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    model=st.sampled_from(["claude-fast", "no-such-model"]) | _JSON,
    messages=st.lists(_MESSAGE, max_size=3) | _JSON,
    extra=st.dictionaries(
        st.sampled_from(["max_tokens", "temperature", "stream", "n", "tools", "stop", "user"]), _JSON, max_size=2
    ),
)
def test_any_json_object_gets_200_or_a_4xx_json_error(
    stack: LocalStack, model: object, messages: object, extra: dict[str, object]
) -> None:
    body = {"model": model, "messages": messages} | extra
    response = httpx.post(f"{proxy_url(stack)}/v1/chat/completions", json=body, headers=auth(), timeout=120)
    # REVIEWED_5XX: 'messages' or 'tools' as a number or a boolean fail in LiteLLM before any hook.
    reviewed = any(isinstance(body.get(name), bool | int | float) for name in ("messages", "tools"))
    assert response.status_code < 500 or reviewed, f"{response.status_code} for {body!r}: {response.text[:300]}"
    if response.status_code != 200:
        assert response.status_code >= 400
        assert response.json().get("error"), response.text
