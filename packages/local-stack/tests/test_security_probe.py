"""Security on the running stack (issue 16, item 5): what a caller without the key gets, and what leaks.

One session stack (``conftest.stack``) serves every test here; nothing starts another.

- Every operation of the proxy's OpenAPI document, called with no key and with a wrong key, answers
  401/403 with a JSON error, except the operations listed in ``ANSWERS_WITHOUT_A_KEY``, each with its
  reason. Which operations LiteLLM means to be public is read from LiteLLM itself: FastAPI writes a
  ``security`` requirement into the document for every route that depends on LiteLLM's key check,
  and ``LiteLLMRoutes.public_routes`` lists the routes that key check lets through.
- The master key, the Redis password and three canaries sent in prompts appear in no file under the
  state dir (logs, Phoenix's database) and in no Phoenix span: the config turns message logging off.
- The state dir is 0700, the files holding a secret 0600; every listening socket is on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import subprocess
import time
from base64 import b64encode
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from bedrockgate.local_stack.containers import podman_environment
from bedrockgate.local_stack.stack import LocalStack
from litellm.proxy._types import LiteLLMRoutes
from local_stack_helpers import MASTER_KEY, auth, proxy_url

WRONG_KEY = "sk-probe-wrong-key-0123456789"
CONCURRENCY = 8
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
PATH_PARAMETER = re.compile(r"\{[^}]+\}")


@dataclass(frozen=True)
class Allowed:
    """Operations that may answer a caller without a valid key with something other than 401/403."""

    pattern: str
    """A regular expression matched against the whole OpenAPI path."""
    statuses: frozenset[int]
    reason: str
    secured: bool = False
    """The document marks these as needing LiteLLM's key: allowed here only for the reason given."""


def _allowed(pattern: str, statuses: set[int], reason: str, *, secured: bool = False) -> Allowed:
    return Allowed(pattern, frozenset(statuses), reason, secured)


ANSWERS_WITHOUT_A_KEY = (
    _allowed(r"/health/(liveliness|liveness|readiness)", {200}, "the load balancer's and ECS's health probes"),
    _allowed(r"/health/drain", {404}, "a drain endpoint this deployment does not enable"),
    _allowed(
        r"/public/(providers(/fields)?|endpoints|agents/fields|complexity_router/.*|litellm_blog_posts|autorouter_presets)",
        {200},
        "LiteLLM's public catalogue for its UI: providers, endpoints, presets (bundled copies: OFFLINE_LITELLM)",
    ),
    _allowed(
        r"/public/skill_hub",
        {500},
        "public by LiteLLMRoutes; without a database it answers 500 'DB not connected' (Aurora in AWS)",
    ),
    _allowed(r"/get/ui_theme_settings", {200}, "the admin UI's theme, shown before login"),
    _allowed(r"/get/ui_settings", {500}, "the admin UI's login settings; 500 'Database not connected' here"),
    _allowed(r"/claude-code/marketplace.json", {500}, "Claude Code plugin marketplace; 500 without a database"),
    _allowed(r"/robots.txt", {404}, "no robots.txt is served"),
    _allowed(r"/api/event_logging/batch", {200}, "the Anthropic SDK's telemetry sink: LiteLLM accepts and drops it"),
    _allowed(
        r"/\.well-known/.*|/litellm/\.well-known/.*",
        {200, 404},
        "OAuth/OIDC and MCP discovery documents (RFC 8414, RFC 9728): public by the protocols",
    ),
    _allowed(
        r"/(\{mcp_server_name\}/)?(authorize(/complete|/flow|/mcp-session)?|token|register|revoke|callback)",
        {200, 400, 422},
        "the MCP OAuth flow's own endpoints: public by OAuth; they validate their own parameters",
    ),
    _allowed(
        r"/(mcp|mcp/proxy|\{mcp_server_name\}/mcp|toolset/\{toolset_name\}/mcp|v1/mcp/registry.json)",
        {401, 403, 404, 503},
        "MCP transports authenticate inside the MCP handler; an unknown server is 404, toolsets need the "
        "database (503 here)",
    ),
    _allowed(
        r"/(v1/|openai/v1/)?realtime|/vertex_ai/live|/v1/skills/\{skill_id\}/archive",
        {404},
        "websocket and archive routes: a plain HTTP request finds nothing (404)",
    ),
    _allowed(
        r"/langfuse/\{endpoint\}",
        {500},
        "LiteLLM's Langfuse pass-through reads 'Basic base64(public:secret)' before its key check and fails "
        "(IndexError, 500) on any other header; a Basic header with a wrong key is 401 "
        "(test_the_langfuse_pass_through_checks_the_key_inside_basic_auth)",
    ),
    _allowed(
        r"/lens/(worker/.*|internal/ingestion-credentials)",
        {503},
        "Lens worker and service routes check their own bearer credential against the database or the Lens "
        "connection, which this stack does not have (503 'Lens needs a connected Postgres database'); "
        "with no key at all they are 401/403",
        secured=True,
    ),
    _allowed(
        "|".join(re.escape(route) for route in sorted(LiteLLMRoutes.public_routes.value)),
        {200, 404, 422},
        "LiteLLMRoutes.public_routes: the UI's landing page, route list, config discovery and model hub",
        secured=True,  # they carry the key dependency, which lets exactly these routes through
    ),
)


@dataclass(frozen=True)
class Answer:
    method: str
    path: str
    credential: str
    status: int | None
    content_type: str
    body: str
    """The first 300 characters."""
    json_error: bool
    """The whole body is a JSON object with an ``error`` or ``detail``."""


def operations(document: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(method, path, declares LiteLLM's key) for every operation in the document."""
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                found.append((method.upper(), path, bool(operation.get("security"))))
    return found


async def _probe(url: str, ops: list[tuple[str, str, bool]]) -> list[Answer]:
    """Each operation with no key and a wrong key, at most CONCURRENCY at once, one connection per request.

    One connection each: LiteLLM closes a connection after an unhandled exception, and a reused one
    would turn the next answer into a transport error.
    """
    semaphore = asyncio.Semaphore(CONCURRENCY)
    credentials = {"none": {}, "wrong": {"Authorization": f"Bearer {WRONG_KEY}"}}
    limits = httpx.Limits(max_keepalive_connections=0, max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def one(method: str, path: str, credential: str) -> Answer:
            async with semaphore:
                target = PATH_PARAMETER.sub("probe-0", path)
                try:
                    response = await client.request(method, target, headers=credentials[credential])
                except httpx.TransportError as error:
                    return Answer(method, path, credential, None, "", f"{type(error).__name__}: {error}", False)
                content_type = response.headers.get("content-type", "")
                return Answer(
                    method,
                    path,
                    credential,
                    response.status_code,
                    content_type,
                    response.text[:300],
                    _is_json_error(content_type, response.text),
                )

        return await asyncio.gather(*(one(m, p, c) for m, p, _ in ops for c in credentials))


def _is_json_error(content_type: str, text: str) -> bool:
    if not content_type.startswith("application/json"):
        return False
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("error") or body.get("detail"))


def _allowance(path: str) -> Allowed | None:
    """The first entry matching ``path``: the specific ones come before LiteLLM's public list."""
    return next((entry for entry in ANSWERS_WITHOUT_A_KEY if re.fullmatch(entry.pattern, path)), None)


def test_every_route_answers_a_missing_or_wrong_key_with_401_except_the_reviewed_public_ones(
    stack: LocalStack,
) -> None:
    url = proxy_url(stack)
    document = httpx.get(f"{url}/openapi.json", timeout=60).json()
    ops = operations(document)
    assert len(ops) > 500, "the OpenAPI document lists fewer operations than LiteLLM 1.106.2 serves"
    started = time.monotonic()
    answers = asyncio.run(_probe(url, ops))
    took = time.monotonic() - started

    secured = {(m, p) for m, p, s in ops if s}
    problems, reviewed = [], Counter[str]()
    for answer in answers:
        entry = _allowance(answer.path)
        if answer.status in (401, 403):
            if not answer.json_error and (entry is None or answer.status not in entry.statuses):
                problems.append(f"{answer}: a {answer.status} without a JSON error")
            continue
        if entry is None or answer.status not in entry.statuses:
            problems.append(f"{answer.method} {answer.path} ({answer.credential} key): {answer.status} {answer.body}")
        elif (answer.method, answer.path) in secured and not entry.secured:
            problems.append(f"{answer.method} {answer.path}: needs LiteLLM's key per the document, yet {answer.status}")
        else:
            reviewed[entry.reason] += 1
    statuses = Counter(str(a.status) for a in answers)
    print(
        f"\nroute probe: {len(document['paths'])} routes, {len(ops)} operations ({len(secured)} need a key per "
        f"the document), {len(answers)} calls at concurrency {CONCURRENCY} in {took:.1f} s; "
        f"answers {dict(sorted(statuses.items()))}; "
        f"public by design {sum(reviewed.values())} calls on "
        f"{len({(a.method, a.path) for a in answers if a.status not in (401, 403)})} operations"
    )
    for reason, count in reviewed.most_common():
        print(f"  {count:4d}  {reason}")
    assert not problems, "\n".join(problems[:40])
    assert statuses["401"] > len(secured), "fewer 401s than operations that need a key: the probe saw no auth"
    unused = [e.pattern for e in ANSWERS_WITHOUT_A_KEY if not any(re.fullmatch(e.pattern, p) for _, p, _ in ops)]
    assert not unused, f"reviewed entries that match no route any more (remove them): {unused}"


def test_the_langfuse_pass_through_checks_the_key_inside_basic_auth(stack: LocalStack) -> None:
    basic = b64encode(f"pk-probe:{WRONG_KEY}".encode()).decode()
    response = httpx.get(f"{proxy_url(stack)}/langfuse/api/public/health", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 401, response.text


def test_a_wrong_or_missing_key_is_401_with_a_json_error_that_says_why(stack: LocalStack) -> None:
    url = f"{proxy_url(stack)}/v1/chat/completions"
    body = {"model": "claude-fast", "messages": [{"role": "user", "content": "hello"}]}
    missing = httpx.post(url, json=body, timeout=30)
    wrong = httpx.post(url, json=body, headers={"Authorization": f"Bearer {WRONG_KEY}"}, timeout=30)
    assert (missing.status_code, wrong.status_code) == (401, 401), (missing.text, wrong.text)
    assert "No api key passed in" in missing.json()["error"]["message"]
    assert "only its master key is accepted" in wrong.json()["error"]["message"]
    assert WRONG_KEY not in wrong.text
    assert httpx.post(url, json=body, headers=auth(), timeout=60).status_code == 200


# --- secrets ------------------------------------------------------------------------------------

CANARIES = ("canary-7f3a9c-violet-harbor", "canary-2b8e41-quiet-lantern", "canary-9d0c55-amber-orbit")


def _secret_files(state_dir: Path) -> dict[Path, str]:
    """The files under the state dir that hold a secret, and which one."""
    return {state_dir / "redis" / "redis.conf": "redis password", state_dir / "state.json": "master key"}


def _redis_password(stack: LocalStack) -> str:
    assert stack.run_config is not None
    return stack.run_config.environment["REDIS_PASSWORD"]


def _all_spans(stack: LocalStack, since: datetime) -> list[dict[str, Any]]:
    """Every span of every Phoenix project since ``since``."""
    assert stack.info is not None
    assert stack.info.phoenix_url is not None
    base = stack.info.phoenix_url
    projects = httpx.get(f"{base}/v1/projects", timeout=10).json()["data"]
    spans: list[dict[str, Any]] = []
    for project in projects:
        response = httpx.get(
            f"{base}/v1/projects/{project['name']}/spans",
            params={"limit": 1000, "start_time": since.isoformat()},
            timeout=10,
        )
        if response.status_code == 200:
            spans += response.json()["data"]
    return spans


def test_no_secret_and_no_prompt_reaches_a_log_file_or_a_trace(stack: LocalStack) -> None:
    assert stack.run_config is not None
    settings = yaml.safe_load(stack.run_config.yaml_text)["litellm_settings"]
    assert settings.get("turn_off_message_logging") is True, "prompt logging is on: canaries would be logged"
    since = datetime.now(UTC) - timedelta(seconds=1)
    url = f"{proxy_url(stack)}/v1/chat/completions"
    with httpx.Client(headers=auth(), timeout=120) as client:
        plain = client.post(url, json={"model": "claude-fast", "messages": [{"role": "user", "content": CANARIES[0]}]})
        with client.stream(
            "POST",
            url,
            json={"model": "claude-fast", "stream": True, "messages": [{"role": "user", "content": CANARIES[1]}]},
        ) as streamed:
            streamed_text = "".join(streamed.iter_text())
        system = client.post(
            url,
            json={
                "model": "claude-fast",
                "messages": [{"role": "system", "content": CANARIES[2]}, {"role": "user", "content": "hello"}],
            },
        )
    assert plain.status_code == system.status_code == streamed.status_code == 200
    assert CANARIES[0] in plain.text, "the canary never reached the model (the scripted reply echoes it)"
    assert CANARIES[1] in streamed_text, "the canary never reached the model (the scripted reply echoes it)"

    deadline, spans = time.monotonic() + 60, list[dict[str, Any]]()
    while time.monotonic() < deadline and len(spans) < 3:
        spans = _all_spans(stack, since)
        time.sleep(1)
    assert len(spans) >= 3, f"only {len(spans)} spans reached Phoenix: nothing to check"
    span_text = json.dumps(spans)

    state_dir = stack.state_dir
    files = [path for path in state_dir.rglob("*") if path.is_file()]
    logs = [path for path in files if path.suffix == ".log" and path.stat().st_size > 0]
    assert any(path.name == "proxy.log" for path in logs), f"the proxy wrote no log: {logs}"
    secrets = {"master key": MASTER_KEY, "redis password": _redis_password(stack)}
    secrets |= {f"canary {index}": canary for index, canary in enumerate(CANARIES)}
    found = []
    for name, value in secrets.items():
        if value in span_text:
            found.append(f"{name} in a Phoenix span")
        for path in files:
            if value.encode() in path.read_bytes() and _secret_files(state_dir).get(path) != name:
                found.append(f"{name} in {path.relative_to(state_dir)}")
    print(f"\nsecrets: {len(secrets)} strings searched in {len(files)} files ({len(logs)} logs) and {len(spans)} spans")
    assert not found, found


def test_the_state_dir_is_the_users_alone_and_secret_files_are_0600(stack: LocalStack) -> None:
    state_dir = stack.state_dir
    written = stack.write_state()  # the record `up --detach` writes: it holds the master key
    try:
        assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700, oct(state_dir.stat().st_mode)
        for path in _secret_files(state_dir):
            assert path.is_file(), f"{path} is missing: the check would pass vacuously"
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path}: {oct(path.stat().st_mode)}"
    finally:
        written.unlink()


# --- sockets ------------------------------------------------------------------------------------

LISTEN = "0A"
LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F"}  # 127.0.0.1, and as ::ffff:127.0.0.1


def _processes_of(roots: set[int]) -> set[int]:
    """``roots`` and every descendant (the stack's children run in their own sessions)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(roots), set(roots)
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _container_pids(stack: LocalStack) -> set[int]:
    """The init process of each proxy container (image mode): conmon, not `podman run`, is its parent."""
    assert stack.info is not None
    pids = set()
    for container in stack.info.containers:
        shown = subprocess.run(
            ["podman", "inspect", "--format", "{{.State.Pid}}", container],  # noqa: S607 -- podman from PATH, as the stack runs it
            env=podman_environment(),  # the stack's own podman settings, or it would look in other storage
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode == 0 and shown.stdout.strip().isdigit():
            pids.add(int(shown.stdout.strip()))
    return pids


def _listening(pids: set[int]) -> list[tuple[int, str, str, int]]:
    """(pid, table, local address hex, port) of every TCP socket in LISTEN that these processes hold."""
    inodes: dict[str, int] = {}
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes[target[8:-1]] = pid
        except OSError:
            continue
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == LISTEN and fields[9] in inodes:
                found.append((inodes[fields[9]], table, address, int(port, 16)))
    return found


def test_every_listening_socket_of_the_stack_is_on_loopback(stack: LocalStack) -> None:
    assert stack.info is not None
    roots = set(stack.info.pids.values()) | {p.pid for p in stack.proxies if p.pid} | _container_pids(stack)
    pids = _processes_of(roots)
    sockets = _listening(pids)
    ports = {port for *_, port in sockets}
    expected = {int(u.rsplit(":", 1)[1]) for u in (stack.info.proxy_url, stack.info.emulator_url)}
    expected |= {stack.info.redis_port} if stack.info.redis_port else set()
    assert expected <= ports, f"the stack's own ports {expected} are not among the sockets found {ports} ({pids})"
    exposed = [s for s in sockets if s[2] not in LOOPBACK]
    print(f"\nsockets: {len(sockets)} listening sockets of {len(pids)} processes, ports {sorted(ports)}")
    assert not exposed, f"listening beyond 127.0.0.1 (pid, table, address, port): {exposed}"
