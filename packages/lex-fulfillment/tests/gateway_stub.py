"""A real HTTP server on 127.0.0.1 that plays the gateway: answers, faults and guardrail blocks.

The handler talks to it over a real socket, exactly as it talks to LiteLLM: nothing in the client
is patched. Each request takes the next scripted ``Reply`` (or the default one); every request is
recorded. Faults that stall (``hang``, ``drip``) end when the stub stops, so no thread or socket
outlives a test.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Json = Any


class Reply:
    """What the stub does with one request."""

    def __init__(
        self,
        status: int = 200,
        body: bytes | str | Json = b"",
        headers: dict[str, str] | None = None,
        *,
        delay: float = 0.0,
        hang: bool = False,
        drip: float | None = None,
        close: bool = False,
        raw: bytes | None = None,
    ) -> None:
        self.status = status
        if isinstance(body, bytes):
            self.body = body
        elif isinstance(body, str):
            self.body = body.encode("utf-8")
        else:
            self.body = json.dumps(body).encode("utf-8")
        self.headers = {"Content-Type": "application/json"} | (headers or {})
        self.delay = delay
        self.hang = hang
        """Read the request, then never answer (until the stub stops)."""
        self.drip = drip
        """Send the headers, then one byte of body every ``drip`` seconds, forever."""
        self.close = close
        """Read the request, then close the connection without a response."""
        self.raw = raw
        """Answer with these bytes instead of an HTTP response (a server that does not speak HTTP)."""

    def __repr__(self) -> str:
        kind = "hang" if self.hang else "drip" if self.drip else "close" if self.close else str(self.status)
        kind = "raw" if self.raw is not None else kind
        return f"Reply({kind})"


class Recorded:
    """One request the stub received."""

    def __init__(self, path: str, headers: dict[str, str], body: bytes) -> None:
        self.path = path
        self.headers = headers
        self.raw = body
        try:
            self.json: Json = json.loads(body)
        except ValueError:
            self.json = None


def completion(text: str, *, finish_reason: str = "stop", model: str = "claude-fast") -> Json:
    """An OpenAI chat.completion body, as LiteLLM returns it."""
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason},
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
    }


def guardrail_block(message: str) -> Json:
    """LiteLLM 1.106's body for a Bedrock guardrail block (HTTP 400)."""
    return {
        "error": {
            "message": "Violated guardrail policy",
            "type": "None",
            "param": "None",
            "code": "400",
            "provider_specific_fields": {
                "error": "Violated guardrail policy",
                "bedrock_guardrail_response": message,
                "guardrailIdentifier": "gr-abc123",
                "guardrailVersion": "1",
            },
        }
    }


def legacy_guardrail_block(message: str) -> Json:
    """Older LiteLLM releases: the block as the Python repr of a dict, in ``error.message``."""
    detail = {"error": "Violated guardrail policy", "bedrock_guardrail_response": message}
    return {"error": {"message": repr(detail), "type": "None", "param": "None", "code": "400"}}


def error_body(message: str, code: int) -> Json:
    return {"error": {"message": message, "type": "None", "param": "None", "code": str(code)}}


class _Server(ThreadingHTTPServer):
    # Join every handler thread on close, so nothing outlives the test.
    daemon_threads = False
    block_on_close = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up mid-answer is part of the scenarios, not an error


class GatewayStub:
    """The stub gateway: ``with GatewayStub() as stub: ... stub.url ...``."""

    def __init__(self, default: Reply | None = None, *, tls: tuple[str, str] | None = None) -> None:
        self.default = default or Reply(200, completion("Hello from the gateway."))
        self.script: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self.keep_requests = True
        self._lock = threading.Lock()
        self._stop = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                stub._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls is not None:  # (certificate file, key file): serve HTTPS
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            # The handshake happens in the handler thread, so a client that fails it blocks nothing.
            self._server.socket = context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            self.scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def push(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order, then with the default."""
        with self._lock:
            self.script.extend(replies)

    def reset(self, default: Reply | None = None) -> None:
        with self._lock:
            self.script.clear()
            self.requests.clear()
            if default is not None:
                self.default = default

    def __enter__(self) -> GatewayStub:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        with self._lock:
            reply = self.script.popleft() if self.script else self.default
            if self.keep_requests:
                headers = {name.lower(): value for name, value in handler.headers.items()}
                self.requests.append(Recorded(handler.path, headers, body))
        if reply.delay and self._stop.wait(reply.delay):
            return
        if reply.hang:
            self._stop.wait(30)
            return
        if reply.close:
            handler.close_connection = True
            return
        if reply.raw is not None:
            handler.wfile.write(reply.raw)
            handler.close_connection = True
            return
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.drip is not None:
            handler.send_header("Content-Length", "1000000")
            handler.end_headers()
            while not self._stop.wait(reply.drip):
                handler.wfile.write(b" ")
                handler.wfile.flush()
            return
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)
