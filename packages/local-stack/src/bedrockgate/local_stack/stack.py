"""The local stack: the emulator, Redis, Phoenix and the real LiteLLM proxy, started and stopped as one.

``LocalStack`` is what ``bedrockgate-local-stack up`` and the end-to-end tests use. Children start in the
order emulator, Redis, Phoenix, proxy, all at once (the proxy only needs their ports, and its
import is the slow part), and are awaited healthy in that order. Stopping takes the proxies first,
then the rest, each wave at once.
Nothing it starts outlives the process that started it (the parent-death signal and the lifeline,
see ``processes.py`` and ``lifeline.py``), except a detached stack's, once ``detach()`` let it go.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final, Literal, Self

from bedrockgate.local_stack.containers import image_proxy, remove_container, require_image
from bedrockgate.local_stack.embedded import require_models
from bedrockgate.local_stack.exceptions import StackConfigError, StartupError, StateError
from bedrockgate.local_stack.lifeline import Lifeline
from bedrockgate.local_stack.processes import (
    ManagedProcess,
    free_port,
    group_alive,
    http_ok,
    port_is_free,
    redis_ok,
    stop_group,
    stop_processes,
)
from bedrockgate.local_stack.runconfig import Endpoints, RunConfig, build_run_config
from bedrockgate.local_stack.settings import SCRIPTED_RULES, EmulatorSettings

Backend = Literal["embedded", "scripted"]
STATE_FILE = "state.json"
STOP_GRACE_S = 4.0
"""Seconds the proxies, then the other parts, get to exit on SIGTERM before SIGKILL."""
CONTAINER_GRACE_S = 2
"""Seconds ``podman rm`` gives a proxy container that outlived its ``podman run`` (it had STOP_GRACE_S already)."""
OFFLINE_LITELLM = {
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
}
"""LiteLLM's bundled copies, never GitHub's or its blog's (the gateway image sets the same): without them an
unauthenticated GET of ``/public/litellm_blog_posts`` or ``/public/autorouter_presets``, and every Claude call
(its beta headers), make the proxy fetch from the internet."""
WORKERS_VARIABLE: Final = "NUM_WORKERS"
"""LiteLLM's worker count (``litellm --num_workers``): more than one runs uvicorn's supervisor and that many workers."""
PING_VARIABLE: Final = "TIMEOUT_WORKER_HEALTHCHECK"
WORKER_PING_TIMEOUT_S: Final = 60
"""``TIMEOUT_WORKER_HEALTHCHECK``, as the gateway image sets it: uvicorn kills a worker that does not answer its
supervisor's ping in time (its default 5 s), and a spawned worker answers only once it has imported LiteLLM, which
takes longer than 5 s on a busy machine: the workers were killed and respawned forever."""
_SCRUBBED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL")


@dataclass(frozen=True)
class StackOptions:
    """What to start. ``None`` for Redis/Phoenix: start it when it is installed."""

    config: Path
    port: int = 4000
    backend: Backend = "embedded"
    emulator_settings: EmulatorSettings | None = None
    redis: bool | None = None
    phoenix: bool | None = None
    state_dir: Path = Path(".local-stack")
    master_key: str | None = None
    startup_timeout_s: float = 120.0
    proxy_env: dict[str, str] = field(default_factory=dict)
    gateway_image: str | None = None
    """Run the proxy from this gateway image (podman) instead of the workspace's venv."""
    detached: bool = False
    """The children may outlive this process (``up --detach``): no parent-death signal; ``detach()`` lets them go."""
    workers: int | None = None
    """The proxy's worker processes; None: ``NUM_WORKERS`` of ``proxy_env`` or this process's environment, else 1."""


@dataclass(frozen=True)
class StackInfo:
    """What a user needs to call the running stack (also the background stack's state file)."""

    proxy_url: str
    master_key: str
    emulator_url: str
    redis_port: int | None
    phoenix_url: str | None
    state_dir: str
    pids: dict[str, int]
    startup_s: float
    model_ids: dict[str, list[str]]
    notes: list[str]
    ready_s: dict[str, float] = field(default_factory=dict)
    gateway_image: str | None = None
    containers: list[str] = field(default_factory=list)
    """Podman containers of the proxies (image mode), removed by ``down`` whatever became of podman."""
    workers: int = 1
    """The first proxy's worker processes."""


def redis_binary() -> str | None:
    """Debian's redis-server, when installed."""
    return shutil.which("redis-server")


def phoenix_installed() -> bool:
    """Whether the ``phoenix`` extra (arize-phoenix) is installed: metadata only, importing it takes seconds."""
    try:
        importlib.metadata.distribution("arize-phoenix")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def worker_count(text: str) -> int | None:
    """``text`` as a number of worker processes: a positive whole number in ASCII digits; None otherwise."""
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None


def proxy_workers(requested: int | None, *environments: Mapping[str, str]) -> int:
    """The proxy's worker count: ``requested``, else the first ``NUM_WORKERS`` of ``environments``, else 1.

    A value that is not a positive whole number is refused here, as the gateway image's entrypoint
    refuses it: uvicorn would quietly run one worker on 0, and LiteLLM's CLI stops on a word.
    """
    if requested is not None:
        if requested < 1:
            raise StackConfigError(f"--workers {requested}: the proxy needs at least one worker process")
        return requested
    for environment in environments:
        value = environment.get(WORKERS_VARIABLE, "")
        if not value:
            continue
        count = worker_count(value)
        if count is None:
            raise StackConfigError(
                f"{WORKERS_VARIABLE} is {value!r}: the proxy's worker processes must be a positive whole number; "
                "set it to one, or pass --workers N"
            )
        return count
    return 1


def _script(name: str) -> str:
    """A console script of this environment (next to the interpreter), so children use our venv."""
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        raise StackConfigError(f"the '{name}' command is not installed next to {sys.executable}")
    return str(path)


class LocalStack:
    """Start with ``start()`` (or ``with``), stop with ``stop()``; nothing it started outlives it."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.state_dir = options.state_dir.resolve()
        self.processes: list[ManagedProcess] = []
        self.proxies: list[ManagedProcess] = []
        self.run_config: RunConfig | None = None
        self.info: StackInfo | None = None
        self.lifeline: Lifeline | None = None
        self.workers = proxy_workers(options.workers, options.proxy_env, os.environ)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> StackInfo:
        """Start every part and wait until each is healthy; on any failure, stop what started."""
        started = time.monotonic()
        if not port_is_free(self.options.port):
            raise StartupError(f"port {self.options.port} is in use on 127.0.0.1: pass --port with a free one")
        if self.workers > 1 and (self.options.redis is False or redis_binary() is None):
            raise StackConfigError(
                f"{self.workers} proxy workers need Redis: each worker keeps its own routing state and limits "
                "otherwise. Install redis-server (apt-get install redis-server) and drop --no-redis, or run one worker"
            )
        if self.options.gateway_image is not None:
            require_image(self.options.gateway_image)
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)  # logs, traces, the Redis password: the user's alone (an old one too)
        master_key = self.options.master_key or os.environ.get("LITELLM_MASTER_KEY") or _new_master_key()
        try:
            emulator = self._emulator()
            redis = self._redis()
            phoenix = self._phoenix()
            endpoints = Endpoints(
                emulator_url=emulator.url or "",
                redis_port=redis[1] if redis else None,
                redis_password=redis[2] if redis else None,
                phoenix_url=phoenix.url if phoenix else None,
            )
            self.run_config = build_run_config(self.options.config, endpoints, master_key, os.environ)
            (self.state_dir / "config.yaml").write_text(self.run_config.yaml_text, encoding="utf-8")
            self.lifeline = Lifeline(self.state_dir / "logs" / "lifeline.log")  # before any child
            for process in [emulator, *([redis[0]] if redis else []), *([phoenix] if phoenix else [])]:
                self.processes.append(process)  # first: a stop request during the start still finds it
                process.start(self.lifeline, outlive_parent=self.options.detached)
            proxy = self.start_proxy(self.options.port, wait=False)
            deadline = time.monotonic() + self.options.startup_timeout_s
            ready: dict[str, float] = {}
            for process in [*self.processes, proxy]:
                process.wait_healthy(deadline)
                ready[process.name] = round(time.monotonic() - started, 1)
        except BaseException:
            self.stop()
            raise
        self.info = StackInfo(
            proxy_url=proxy.url or "",
            master_key=master_key,
            emulator_url=endpoints.emulator_url,
            redis_port=endpoints.redis_port,
            phoenix_url=endpoints.phoenix_url,
            state_dir=str(self.state_dir),
            pids={p.name: p.pid for p in [*self.processes, *self.proxies] if p.pid is not None},
            startup_s=round(time.monotonic() - started, 2),
            model_ids=self.run_config.model_ids,
            notes=self.run_config.notes,
            ready_s=ready,
            gateway_image=self.options.gateway_image,
            containers=[p.container for p in self.proxies if p.container is not None],
            workers=self.workers,
        )
        return self.info

    def start_proxy(
        self,
        port: int | None = None,
        *,
        wait: bool = True,
        run_config: RunConfig | None = None,
        cpus: str | None = None,
        workers: int | None = None,
    ) -> ManagedProcess:
        """Start a LiteLLM proxy with the stack's config (a second one shares Redis with the first).

        ``run_config``: another config for this proxy (the benchmark runs several side by side, each
        derived with ``build_run_config`` from the stack's ``endpoints``); ``cpus``: the CPUs it may run
        on (``taskset``/``--cpuset-cpus`` list such as ``0`` or ``0,1``), so a benchmark's load
        generator never shares the proxy's core; ``workers``: its worker processes, else ``NUM_WORKERS`` of
        ``run_config``'s environment, else the stack's. Workers are children of the proxy's process, in its
        process group: stopping the proxy (or the lifeline) stops them.
        """
        if self.run_config is None:
            raise StartupError("start the stack before adding a proxy")
        port = port or free_port()
        name = "proxy" if not self.proxies else f"proxy-{len(self.proxies) + 1}"
        url = f"http://127.0.0.1:{port}"
        config = self.state_dir / "config.yaml"
        if run_config is not None:
            config = self.state_dir / f"{name}.yaml"
            config.write_text(run_config.yaml_text, encoding="utf-8")
        log_path = self.state_dir / "logs" / f"{name}.log"
        health = http_ok(f"{url}/health/liveliness")
        environment = (run_config or self.run_config).environment
        count = proxy_workers(workers, environment, {WORKERS_VARIABLE: str(self.workers)})
        proxy_env = (
            OFFLINE_LITELLM | environment | {"PYTHONUNBUFFERED": "1"} | self.options.proxy_env
            | {WORKERS_VARIABLE: str(count)}
        )  # fmt: skip
        if self.options.gateway_image is not None:
            container = f"bedrockgate-{name}-{port}"
            spec = image_proxy(
                self.options.gateway_image, config=config, port=port, environment=proxy_env, name=container, cpus=cpus
            )
            proxy = ManagedProcess(
                name=name,
                argv=spec.argv,
                env=spec.env,
                log_path=log_path,
                health=health,
                url=url,
                after_stop=lambda: remove_container(container, grace_s=CONTAINER_GRACE_S),
                container=container,
            )
        else:
            ping = {PING_VARIABLE: str(WORKER_PING_TIMEOUT_S)}  # the image sets it; here a user's value wins
            env = ping | {k: v for k, v in os.environ.items() if k not in _SCRUBBED} | proxy_env
            argv = [_script("litellm"), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
            if cpus is not None:
                argv = [_taskset(), "--cpu-list", cpus, *argv]  # taskset execs the proxy: the pid stays the proxy's
            proxy = ManagedProcess(name=name, argv=argv, env=env, log_path=log_path, health=health, url=url)
        self.proxies.append(proxy)
        proxy.start(self.lifeline, outlive_parent=self.options.detached)
        if wait:
            proxy.wait_healthy(time.monotonic() + self.options.startup_timeout_s)
        return proxy

    def stop(self) -> None:
        """Stop everything, proxies first (they talk to the others); safe to call again if it was interrupted.

        Each wave has one grace period (``STOP_GRACE_S``): a stop must be over well within 15 s even
        when a request is in flight and every server waits for it.
        """
        stop_processes(self.proxies, STOP_GRACE_S)
        stop_processes(self.processes, STOP_GRACE_S)
        self.proxies.clear()
        self.processes.clear()
        self.release_lifeline()

    def detach(self) -> None:
        """Let the running stack outlive this process (started with ``detached``); ``stop_background`` stops it."""
        if not self.options.detached:
            raise StateError("this stack's children die with this process: start it with detached=True to detach")
        self.release_lifeline()

    def release_lifeline(self) -> None:
        """Let the lifeline watcher go: nothing is left for it to stop, or the stack is detached."""
        if self.lifeline is not None:
            self.lifeline.release()
            self.lifeline = None

    def write_state(self) -> Path:
        """Record the running stack for ``bedrockgate-local-stack down`` and other tools."""
        if self.info is None:
            raise StateError("the stack is not running")
        path = self.state_dir / STATE_FILE
        path.write_text(json.dumps(asdict(self.info), indent=2), encoding="utf-8")
        path.chmod(0o600)  # it holds the master key
        return path

    def _emulator(self) -> ManagedProcess:
        settings = self.options.emulator_settings or EmulatorSettings()
        if self.options.backend == "scripted" and self.options.emulator_settings is None:
            settings = EmulatorSettings(rules=SCRIPTED_RULES)
        require_models(rule.backend for rule in settings.rules)  # what to install, before anything starts
        settings_path = self.state_dir / "emulator.json"
        settings_path.write_text(settings.model_dump_json(indent=2), encoding="utf-8")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "bedrockgate.local_stack.cli", "emulator", "--port", str(port)]
        return ManagedProcess(
            name="emulator",
            argv=[*argv, "--settings", str(settings_path)],
            env=dict(os.environ),
            log_path=self.state_dir / "logs" / "emulator.log",
            health=http_ok(f"{url}/_emulator/health"),
            url=url,
        )

    def _redis(self) -> tuple[ManagedProcess, int, str] | None:
        binary = redis_binary()
        if self.options.redis is False or (binary is None and self.options.redis is None):
            return None
        if binary is None:
            raise StackConfigError(
                "Redis was asked for but redis-server is not installed: apt-get install redis-server"
            )
        port, password = free_port(), secrets.token_urlsafe(18)
        data_dir = self.state_dir / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        config_path = data_dir / "redis.conf"
        # The password goes in a 0600 file, not on the command line where `ps` shows it.
        config_path.write_text(
            f'port {port}\nbind 127.0.0.1\nrequirepass {password}\nsave ""\nappendonly no\ndir {data_dir}\n',
            encoding="utf-8",
        )
        config_path.chmod(0o600)
        process = ManagedProcess(
            name="redis",
            argv=[binary, str(config_path)],
            env=dict(os.environ),
            log_path=self.state_dir / "logs" / "redis.log",
            health=redis_ok(port, password),
        )
        return process, port, password

    def _phoenix(self) -> ManagedProcess | None:
        installed = phoenix_installed()
        if self.options.phoenix is False or (not installed and self.options.phoenix is None):
            return None
        if not installed:
            raise StackConfigError(
                "Phoenix was asked for but is not installed: pip install 'bedrockgate-local-stack[phoenix]'"
            )
        _script("phoenix")  # installed with it: a clear error when the venv has Phoenix's metadata only
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = dict(os.environ) | {
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(port),
            "PHOENIX_GRPC_PORT": str(free_port()),
            "PHOENIX_WORKING_DIR": str(self.state_dir / "phoenix"),
            "PHOENIX_TELEMETRY_ENABLED": "false",
        }
        return ManagedProcess(
            name="phoenix",
            # Phoenix's own CLI, with its gRPC receiver on 127.0.0.1 (it binds every interface otherwise).
            argv=[sys.executable, "-m", "bedrockgate.local_stack.phoenix_loopback", "serve"],
            env=env,
            log_path=self.state_dir / "logs" / "phoenix.log",
            health=http_ok(f"{url}/healthz"),
            url=url,
        )


def _taskset() -> str:
    """util-linux's taskset, which pins a proxy to the CPUs a benchmark gives it."""
    path = shutil.which("taskset")
    if path is None:
        raise StackConfigError("pinning a proxy to CPUs needs taskset: apt-get install util-linux")
    return path


def _new_master_key() -> str:
    return "sk-local-" + secrets.token_urlsafe(24)


def read_state(state_dir: Path) -> StackInfo:
    """The background stack's record; a clear error when there is none."""
    path = state_dir / STATE_FILE
    try:
        return StackInfo(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as error:
        raise StateError(
            f"no stack is running from {state_dir} (no {path}); start one with `bedrockgate-local-stack up`"
        ) from error
    except (OSError, ValueError, TypeError) as error:
        raise StateError(f"{path} is unreadable ({error}); stop the processes by hand and delete it") from error


def stop_background(state_dir: Path, timeout: float = 10.0) -> list[str]:
    """Stop a stack started with ``--detach``; the names of the parts that were still running."""
    info = read_state(state_dir)
    stopped = []
    for name, pid in reversed(list(info.pids.items())):
        if group_alive(pid):
            stop_group(pid, timeout)
            stopped.append(name)
    for container in info.containers:
        remove_container(container)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    return stopped
