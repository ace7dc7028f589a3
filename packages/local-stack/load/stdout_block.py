"""Whether a proxy whose stdout nobody reads keeps serving (``nox -s faults`` runs it after the campaign).

In ECS the container's stdout is a pipe to the awslogs driver; in its default ``blocking`` mode a
driver that falls behind stops reading. This starts a bare LiteLLM proxy on loopback with the
production config's logging (``json_logs: true``) and a mock deployment, its stdout a pipe that is
drained until the proxy is healthy and then never read, and sends chat requests one after another
until one gets no answer within ``--timeout`` seconds or ``--requests`` are done. It prints how
many were served and how many bytes the pipe held. With ``json_logs`` uvicorn writes one
access-log line per request to stdout from the event loop, so a full pipe stops the whole proxy;
the metrics callback's own writer thread never blocks a request (the campaign's sink fault).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from bedrockgate.local_stack.processes import free_port, stop_group

CONFIG = """\
model_list:
  - model_name: mock
    litellm_params: {model: openai/gpt-4o-mini, mock_response: "hello", api_key: not-used}
litellm_settings:
  json_logs: true
general_settings:
  master_key: sk-stdout-block
"""


def main() -> int:
    """Start the proxy, stop reading its stdout, count the requests it still answers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    litellm = str(Path(sys.executable).with_name("litellm"))
    with tempfile.TemporaryDirectory(prefix="stdout-block-") as scratch:
        config = Path(scratch) / "config.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        port = free_port()
        read_end, write_end = os.pipe()
        with (Path(scratch) / "stderr.log").open("wb") as stderr:
            proxy = subprocess.Popen(  # noqa: S603 -- fixed argv, loopback
                [litellm, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
                stdout=write_end, stderr=stderr, start_new_session=True,
                env=os.environ | {"LITELLM_LOCAL_MODEL_COST_MAP": "True"},
            )  # fmt: skip
        os.close(write_end)
        try:
            return _measure(f"http://127.0.0.1:{port}", read_end, args.requests, args.timeout)
        finally:
            stop_group(proxy.pid, 5.0, wait=proxy.wait)
            os.close(read_end)


def _measure(url: str, pipe: int, requests: int, timeout: float) -> int:
    os.set_blocking(pipe, False)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with contextlib.suppress(BlockingIOError):
            os.read(pipe, 1 << 20)  # drained until healthy: the start-up banner is not the point
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health/liveliness", timeout=2).status_code == 200:
                break
        time.sleep(0.2)
    else:
        print("the proxy did not become healthy in 300 s", file=sys.stderr)
        return 1
    served = 0
    headers = {"Authorization": "Bearer sk-stdout-block"}
    body = {"model": "mock", "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(timeout=timeout, headers=headers) as client:
        for _ in range(requests):
            try:
                served += client.post(f"{url}/v1/chat/completions", json=body).status_code == 200
            except httpx.TimeoutException:
                break
    waiting = 0
    with contextlib.suppress(BlockingIOError):
        waiting = len(os.read(pipe, 1 << 20))
    stalled = served < requests
    print(f"stdout unread: {served} requests served, then "
          f"{'no answer within ' + str(timeout) + ' s (the proxy stalled)' if stalled else 'no stall'}; "
          f"{waiting} bytes waiting in the pipe")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
