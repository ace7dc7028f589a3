"""For tests: a fake OpenAI-compatible server on 127.0.0.1 (also for benchmarks and pipeline dry runs), and records.

It speaks the two calls the suite makes (``/v1/chat/completions`` and ``/v1/embeddings``) over
real sockets, answers each question with the answer it is given, adds latency, and injects faults
from a script: any status (429, 500, 401...), a ``Retry-After`` header, a malformed body, a reply
held back past the client's timeout, or a connection dropped without a reply. It records every
request and the most requests it was handling at once, which is how the suite's own tests measure
the concurrency bound. Embeddings are bags of words: equal word multisets get cosine 1.

Not a model: use it to check that a pipeline wires ``bedrockgate-evals`` and its exit codes correctly::

    python -m bedrockgate.evals.testing --latency 0.2 --answers answers.json
    # prints http://127.0.0.1:PORT/v1; serves until stdin closes

For tests that judge results without making a run, :func:`example`, :func:`run_config` and
:func:`dataset_record` build records whose unnamed fields say nothing a gate or an upload reads,
and :func:`run_cli` runs ``bedrockgate-evals`` in-process. (The suite's own tests share these from
here rather than from each other or from ``conftest.py``.)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bedrockgate.evals.cli import main as cli_main
from bedrockgate.evals.dataset import DatasetInfo, Question
from bedrockgate.evals.results import ConfigRecord, DatasetRecord, ExampleRecord

CHAT_MODEL = "test-model"
EMBEDDING_MODEL = "test-embed"
DIMENSIONS = 64
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or on top of) a normal reply."""

    status: int = 200
    body: bytes | None = None
    """Replaces the normal body (a malformed reply when it is not the OpenAI shape)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Extra latency before the reply."""
    drop: bool = False
    """Close the connection without a response."""


@dataclass(frozen=True)
class Request:
    """One request as the script sees it."""

    kind: str
    """``chat``, ``embeddings`` or ``preflight`` (the runner's one-word chat)."""
    model: str
    question: str | None
    texts: tuple[str, ...]
    attempt: int
    """1 for the first request with this question (or these texts), 2 for the second, ..."""


@dataclass(frozen=True)
class Seen:
    """One request as the server handled it."""

    request: Request
    status: int
    authorization: str | None


Script = Callable[[Request], Fault | None]


class FakeOpenAI:
    """The server's state; use :func:`serve` to run it."""

    def __init__(
        self,
        *,
        answers: Mapping[str, str] | None = None,
        latency_s: float = 0.0,
        api_key: str | None = None,
        script: Script | None = None,
        cost_usd: float | None = None,
    ) -> None:
        self.answers = dict(answers or {})
        self.latency_s = latency_s
        self.api_key = api_key
        self.script = script
        self.cost_usd = cost_usd
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""
        self._attempts: Counter[tuple[str, ...]] = Counter()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        # Longest question first, so a question that contains another is matched as itself.
        self._questions = sorted(self.answers, key=len, reverse=True)

    def reset(
        self, *, answers: Mapping[str, str] | None = None, script: Script | None = None, latency_s: float | None = None
    ) -> None:
        """Forget the traffic (and optionally change the behaviour) between hypothesis examples."""
        with self._lock:
            if answers is not None:
                self.answers = dict(answers)
                self._questions = sorted(self.answers, key=len, reverse=True)
            self.script = script
            if latency_s is not None:
                self.latency_s = latency_s
            self.seen.clear()
            self._attempts.clear()
            self.max_in_flight = 0

    def asked(self, question: str) -> int:
        """How many chat requests carried this question."""
        return sum(1 for s in self.seen if s.request.kind == "chat" and s.request.question == question)

    def chat_requests(self) -> list[Seen]:
        """Chat requests for questions (not the preflight)."""
        return [s for s in self.seen if s.request.kind == "chat"]

    # --- called from handler threads ---

    def begin(self, kind: str, model: str, payload: Mapping[str, Any]) -> Request:
        """Count a request in (and in flight), naming its question or texts and its attempt number."""
        question: str | None = None
        texts: tuple[str, ...] = ()
        if kind == "chat":
            prompt = "\n".join(str(m.get("content", "")) for m in payload.get("messages", []) if isinstance(m, dict))
            question = next((q for q in self._questions if q in prompt), None)
            if question is None and "Reply with the single word OK." in prompt:
                kind = "preflight"
            key: tuple[str, ...] = (kind, question or prompt)
        else:
            raw = payload.get("input", [])
            texts = tuple(raw) if isinstance(raw, list) else (str(raw),)
            key = (kind, *texts)
        with self._lock:
            self._attempts[key] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return Request(kind, model, question, texts, self._attempts[key])

    def leave(self, request: Request, status: int, authorization: str | None) -> None:
        """Record a request and count it out of flight, just *before* its reply (or dropped connection) goes out.

        Not after: the client may see the reply, send its next request, or finish its run before
        this thread runs again; the server would then count two requests at once, or a test would
        read the record before it is written.
        """
        with self._lock:
            self.in_flight -= 1
            self.seen.append(Seen(request, status, authorization))

    def chat_body(self, request: Request) -> dict[str, Any]:
        """A chat completion carrying the question's answer (or "I do not know.")."""
        text = "OK" if request.kind == "preflight" else self.answers.get(request.question or "", "I do not know.")
        prompt_tokens = 40 + len(request.question or "") // 4
        completion_tokens = max(1, len(text.split()))
        return {
            "id": f"chatcmpl-{request.attempt}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def answers_for(questions: Iterable[Question], template: str = "{}") -> dict[str, str]:
    """Answers for :class:`FakeOpenAI`: each question's first reference answer, put into ``template``."""
    return {question.question: template.format(question.answers[0]) for question in questions}


def embedding(text: str) -> list[float]:
    """A deterministic bag-of-words vector: equal word multisets give cosine 1, disjoint ones 0."""
    vector = [0.0] * DIMENSIONS
    for word in _WORDS.findall(text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIMENSIONS] += 1.0
    return vector


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    _flying = False
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every reply, which would swamp the latencies measured.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the recorded requests instead."""

    def do_POST(self) -> None:
        fake = self.server.fake
        self._flying = False
        length = int(self.headers.get("Content-Length", "0"))
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send(400, {"error": {"message": "invalid JSON"}})
            return
        path = self.path.rstrip("/")
        kind = {"/v1/chat/completions": "chat", "/v1/embeddings": "embeddings"}.get(path)
        if kind is None:
            self._send(404, {"detail": "Not Found"})
            return
        model = str(payload.get("model", ""))
        self._request = fake.begin(kind, model, payload)
        self._authorization = self.headers.get("Authorization")
        self._flying = True
        try:
            self._reply(fake, self._request, kind, self._authorization)
        finally:
            self._land(500)  # only if no reply went out: the handler failed

    def _land(self, status: int) -> None:
        if self._flying:
            self._flying = False
            self.server.fake.leave(self._request, status, self._authorization)

    def _reply(self, fake: FakeOpenAI, request: Request, kind: str, authorization: str | None) -> int:  # noqa: PLR0911  (one return per scripted outcome)
        if fake.api_key is not None and authorization != f"Bearer {fake.api_key}":
            return self._send(
                401, {"error": {"message": "Authentication Error, Invalid proxy server token passed.", "code": "401"}}
            )
        expected = CHAT_MODEL if kind == "chat" else EMBEDDING_MODEL
        if request.model != expected:
            return self._send(
                400, {"error": {"message": f"Invalid model name passed in model={request.model}", "code": "400"}}
            )
        fault = fake.script(request) if fake.script is not None else None
        fault = fault or Fault()
        if fake.stopping.wait(fake.latency_s + fault.delay_s):  # the server is shutting down
            self._land(599)
            return 599
        if fault.drop:
            self.close_connection = True
            self._land(598)
            self.connection.shutdown(socket.SHUT_RDWR)
            return 598
        headers = dict(fault.headers)
        if fake.cost_usd is not None:
            headers.setdefault("x-litellm-response-cost", repr(fake.cost_usd))
        if fault.body is not None:
            return self._send_raw(fault.status, fault.body, headers)
        if fault.status >= 400:
            return self._send(fault.status, {"error": {"message": f"injected HTTP {fault.status}"}}, headers)
        if kind == "chat":
            return self._send(200, fake.chat_body(request), headers)
        body = {
            "object": "list",
            "model": request.model,
            "data": [
                {"object": "embedding", "index": i, "embedding": embedding(t)} for i, t in enumerate(request.texts)
            ],
            "usage": {"prompt_tokens": sum(len(t.split()) for t in request.texts), "total_tokens": 0},
        }
        return self._send(200, body, headers)

    def _send(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> int:
        return self._send_raw(status, json.dumps(body).encode(), headers or {})

    def _send_raw(self, status: int, body: bytes, headers: Mapping[str, str]) -> int:
        self._land(status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout): nothing to do
            self.close_connection = True
        return status


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default backlog of 5 makes concurrent connects wait for SYN retries

    def __init__(self, fake: FakeOpenAI) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@contextmanager
def serve(fake: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """Run ``fake`` on a free loopback port in a background thread; ``fake.url`` is its ``/v1`` base URL."""
    server = _Server(fake)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        fake.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``bedrockgate-evals ARGV`` in this process: the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


_EXAMPLE: dict[str, Any] = {
    "title": "",
    "question": "What?",
    "question_type": "what",
    "answers": ("an answer",),
    "raw_answer": None,
    "prediction": None,
    "postprocess_changed": (),
    "exact_match": 0,
    "f1": 0.0,
    "raw_exact_match": 0,
    "raw_f1": 0.0,
    "reference": None,
    "similarity": None,
    "similarity_error": None,
    "latency_ms": None,
    "elapsed_ms": None,
    "attempts": 1,
    "prompt_tokens": None,
    "completion_tokens": None,
    "total_tokens": None,
    "cost_usd": None,
    "finish_reason": None,
    "response_model": None,
    "started_at": None,
    "finished_at": None,
    "error": None,
}


def example(identifier: str, **fields: Any) -> ExampleRecord:
    """A question's record in ``results.json`` with the given fields; the others say nothing a check reads."""
    return ExampleRecord(id=identifier, **{**_EXAMPLE, **fields})


_CONFIG = ConfigRecord(
    endpoint="http://127.0.0.1:9/v1",
    model=CHAT_MODEL,
    embedding_model=None,
    api_key_env="OPENAI_API_KEY",
    api_key_set=False,
    concurrency=1,
    timeout_s=60.0,
    retries=3,
    backoff_s=1.0,
    max_backoff_s=20.0,
    max_tokens=16,
    temperature=0.0,
    system_prompt="",
    user_template="{context} {question}",
    prompt_digest="0000000000000000",
    postprocess=("trim",),
    dataset="sample",
    samples=30,
    offset=0,
    seed=0,
    gates={},
)


def run_config(**settings: Any) -> ConfigRecord:
    """A run's recorded configuration with ``settings`` (a gates file's pins, say) in place of the defaults."""
    return replace(_CONFIG, **settings)


def dataset_record(source: str, selected: int = 30) -> DatasetRecord:
    """Where a run's questions came from, as ``results.json`` records it (``sample``, ``hub`` or ``file``)."""
    return DatasetRecord(DatasetInfo(source, f"test {source}", None, None), 302, selected)


def main(argv: list[str] | None = None) -> int:
    """Serve from a process of its own (the benchmark): prints the URL, serves until stdin closes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument("--answers", help="JSON file of {question: answer}")
    args = parser.parse_args(argv)
    answers = json.loads(Path(args.answers).read_text(encoding="utf-8")) if args.answers else {}
    with serve(FakeOpenAI(answers=answers, latency_s=args.latency)) as fake:
        sys.stdout.write(fake.url + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # serve until the parent closes stdin (or kills this process)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
