"""One HTTP POST to the gateway, with a deadline on every blocking step.

``urllib.request.urlopen(timeout=...)`` bounds each socket operation, not the request: a gateway
that sends a byte every few seconds can hold it far past Lex's 30 s. This module uses
``http.client`` (what urllib is built on) and keeps the socket, so before connecting, sending,
reading the headers and reading each chunk of the body, the socket's timeout is set to the time
left. The attempt therefore ends within its timeout (or the invocation's deadline, whichever is
sooner) plus at most one small read. Name resolution is the one step a socket timeout cannot
bound.

Each attempt opens a fresh connection: Lambda freezes the container between invocations, and a
kept-alive connection would be stale after a thaw. The body is capped at 1 MiB; the gateway's
replies are a few kilobytes.

``http.client`` and ``ssl`` are imported on the first call: together they are most of the
handler's import cost, and an invocation that never calls the gateway (no input, bad
configuration) does not need them.
"""

from __future__ import annotations

from bedrockgate.lex_fulfillment.deadline import Deadline
from bedrockgate.lex_fulfillment.exceptions import (
    GatewayError,
    GatewayResponseError,
    GatewayTimeoutError,
    GatewayUnreachableError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Mapping
    from typing import Final

    from bedrockgate.lex_fulfillment.settings import GatewayURL

__all__ = ["MAX_RESPONSE_BYTES", "RawResponse", "post"]

MAX_RESPONSE_BYTES: Final = 1 << 20
_CHUNK: Final = 64 * 1024


class RawResponse:
    """An HTTP response, read whole: status, headers with lower-case names, body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"RawResponse(status={self.status}, body={len(self.body)} bytes)"


if TYPE_CHECKING:
    Transport = Callable[[GatewayURL, bytes, Mapping[str, str], Deadline, float], RawResponse]
    """``(url, body, headers, invocation deadline, attempt timeout) -> RawResponse``; raises ``GatewayError``."""

_tls_context: ssl.SSLContext | None = None


def post(url: GatewayURL, body: bytes, headers: Mapping[str, str], deadline: Deadline, timeout: float) -> RawResponse:
    """POST ``body`` to ``url``; return any HTTP response, or raise a ``GatewayError`` for no response.

    The attempt ends by ``timeout`` seconds from now or by ``deadline``, whichever is sooner.
    """
    import http.client  # noqa: PLC0415  # see the module docstring: kept off the cold-start path

    attempt = Deadline(min(timeout, deadline.remaining()))
    budget = attempt.remaining()

    def left() -> float:
        remaining = attempt.remaining()
        if remaining <= 0.0:
            raise GatewayTimeoutError(f"no complete response within {budget:.2f} s", retryable=True)
        return remaining

    connection: http.client.HTTPConnection | None = None
    response: http.client.HTTPResponse | None = None
    try:
        if url.scheme == "https":
            connection = http.client.HTTPSConnection(url.host, url.port, timeout=left(), context=_tls())
        else:
            connection = http.client.HTTPConnection(url.host, url.port, timeout=left())
        connection.connect()
        sock = connection.sock  # kept: http.client drops its reference once a response says "close"
        sock.settimeout(left())
        connection.request("POST", url.path, body=body, headers=dict(headers))
        sock.settimeout(left())
        response = connection.getresponse()
        status = response.status
        response_headers = {name.lower(): value for name, value in response.getheaders()}
        chunks: list[bytes] = []
        size = 0
        # A response closes itself once its body is read; its socket is then gone (Python 3.13
        # refuses settimeout on it), so the loop asks the response, not the socket.
        while not response.isclosed():
            sock.settimeout(left())
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise GatewayResponseError(f"the response body is larger than {MAX_RESPONSE_BYTES} bytes")
            chunks.append(chunk)
        return RawResponse(status, response_headers, b"".join(chunks))
    except GatewayError:
        raise
    except TimeoutError:
        raise GatewayTimeoutError(f"no complete response within {budget:.2f} s", retryable=True) from None
    except (OSError, http.client.HTTPException) as error:
        # A certificate that does not verify will not verify on the next attempt either.
        retryable = type(error).__name__ != "SSLCertVerificationError"
        raise GatewayUnreachableError(_describe(error), retryable=retryable) from None
    finally:
        if response is not None:
            response.close()
        if connection is not None:
            connection.close()


def _tls() -> ssl.SSLContext:
    """The default TLS context (system CAs, hostname checks), built once per container."""
    global _tls_context  # noqa: PLW0603  # one context per container: loading the CA store costs ~10 ms
    if _tls_context is None:
        import ssl  # noqa: PLC0415  # with http.client, off the cold-start path

        _tls_context = ssl.create_default_context()
    return _tls_context


def _describe(error: BaseException) -> str:
    """A short, user-data-free description of a connection failure, for the log."""
    text = str(error).strip()
    name = type(error).__name__
    return f"{name}: {text[:200]}" if text else name
