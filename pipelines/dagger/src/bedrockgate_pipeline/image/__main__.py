"""``python -m bedrockgate_pipeline.image``: what ``nox -s gateway_image`` and ``gateway_image_amd64`` run.

``build`` builds each architecture from the one recipe, checks the image against the lock, writes
its SBOM, smoke-tests it and prints the figures (JSON, also in ``dist/gateway-image/figures.json``);
``--push`` publishes the multi-arch manifest list to the local registry and prints its reference.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bedrockgate.gateway_config import ConfigValidationError, example_path, load, render
from bedrockgate.local_stack.stack import LocalStack, StackOptions

from bedrockgate_pipeline.errors import PipelineError
from bedrockgate_pipeline.image import build as build_
from bedrockgate_pipeline.image import podman as podman_
from bedrockgate_pipeline.image import registry, sbom, smoke
from bedrockgate_pipeline.image.wheels import Target, closure

OUT = podman_.ROOT / "dist" / "gateway-image"
SMOKE_WORKERS = 2
"""The smoke test's second container runs this many workers (``NUM_WORKERS``), as a 2-vCPU task does."""
_SIZES = """
import importlib.metadata as m, json, os
sizes = {}
for d in m.distributions():
    roots = {str(f).split('/')[0] for f in (d.files or []) if not str(f).startswith('..')}
    total = 0
    for root in roots:
        path = str(d.locate_file(root))
        if os.path.isdir(path):
            total += sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(path) for n in ns)
        elif os.path.isfile(path):
            total += os.path.getsize(path)
    sizes[d.metadata['Name']] = total
print(json.dumps(sorted(sizes.items(), key=lambda kv: -kv[1])[:5]))
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bedrockgate_pipeline.image")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build, check, smoke-test (and push) the gateway image")
    build.add_argument("--arch", action="append", choices=["amd64", "arm64"], required=True)
    build.add_argument("--config", type=Path, default=None, help="gateway config (default: the agents' gateway)")
    build.add_argument("--out", type=Path, default=OUT)
    build.add_argument("--reproducible", action="store_true", help="a second --no-cache build must give the same id")
    build.add_argument("--push", action="store_true", help="push the multi-arch manifest list to the local registry")
    build.add_argument(
        "--registry", default="", help="push to this repository (podman login first) instead of the local registry"
    )
    build.add_argument("--compare-venv", action="store_true", help="also time the workspace proxy's start-up")
    context = commands.add_parser("context", help="lay out the build contexts only (Dagger builds from them)")
    context.add_argument("--arch", action="append", choices=["amd64", "arm64"], required=True)
    context.add_argument("--config", type=Path, default=None)
    context.add_argument("--out", type=Path, default=OUT)
    commands.add_parser("registry-stop", help="stop the local registry")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = _parser().parse_args(argv)
    build_.pin_source()
    try:
        if args.command == "registry-stop":
            print("stopped" if registry.stop() else "no registry was running")
            return 0
        if args.command == "context":
            text = render(load(args.config or example_path("agents-gateway")))
            for architecture in args.arch:
                print(build_.prepare(architecture, text, args.out).context)
            return 0
        figures = _build_all(args)
    except (PipelineError, ConfigValidationError) as error:
        print(f"gateway image: {error}", file=sys.stderr)
        return 1
    print(json.dumps(figures, indent=2))
    return 0


def _build_all(args: argparse.Namespace) -> dict[str, Any]:
    config = args.config or example_path("agents-gateway")
    config_text = render(load(config))
    examples = {path.stem: path for path in sorted(Path(example_path("agents-gateway")).parent.glob("*.yaml"))}
    figures: dict[str, Any] = {"config": str(config), "architectures": {}}
    built: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="gateway-image-") as scratch:
        rendered = {}
        for name, path in examples.items():
            rendered[name] = Path(scratch) / f"{name}.yaml"
            rendered[name].write_text(render(load(path)), encoding="utf-8")
        for architecture in args.arch:
            figures["architectures"][architecture] = _one(architecture, config, config_text, rendered, args)
            built[architecture] = figures["architectures"][architecture]["image_id"]
    if args.compare_venv:
        figures["workspace_proxy_start_to_healthy_s"] = _venv_start(config, args.out)
    if args.push:
        destination = args.registry or registry.ensure_running()
        tag = build_.revision()[:12]
        reference = registry.push_multi_arch(destination, built, tag)
        figures["pushed"] = reference
        (args.out / "reference.txt").write_text(reference + "\n", encoding="utf-8")
    (args.out / "figures.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


def _one(
    architecture: str, config: Path, config_text: str, examples: dict[str, Path], args: argparse.Namespace
) -> dict[str, Any]:
    out: Path = args.out
    cold = build_.build(architecture, config_text, out, no_cache=True)
    # Warm: the same build again with podman's layer cache (a figure only: the cache ignores --timestamp, so a
    # layer cached by an older commit may be reused; the artefact is always the --no-cache build).
    warm = build_.build(architecture, config_text, out)
    build_.retag(cold)
    figures: dict[str, Any] = {
        "image_id": cold.image_id,
        "tag": cold.tag,
        "size_mb": round(cold.size_bytes / 1e6, 1),
        "cold_build_s": round(cold.build_seconds, 1),
        "warm_build_s": round(warm.build_seconds, 1),
        "warm_build_same_image": warm.image_id == cold.image_id,
        "base_sha256": cold.base.sha256,
        "config_sha256": cold.config_sha256,
    }
    if args.reproducible:
        again = build_.build(architecture, config_text, out, no_cache=True)
        if again.image_id != cold.image_id:
            raise PipelineError(
                f"{architecture}: two --no-cache builds of the same commit gave {cold.image_id} and {again.image_id}"
            )
        figures["reproducible"] = True
    figures["biggest_packages_mb"] = _biggest(cold.image_id)
    figures["sbom"] = str(_sbom_and_lock_check(cold, out))
    figures["integrations"] = smoke.check_integrations(cold.image_id, examples)
    smoke.check_refusals(cold.image_id)
    native = architecture == build_.host_architecture()
    # Several workers on the native architecture only: emulated, each worker's import takes minutes.
    report = smoke.serve_and_stop(
        cold.image_id, config, out / architecture / "smoke", timeout_s=300.0 if native else 900.0,
        workers=SMOKE_WORKERS if native else 1,
    )  # fmt: skip
    figures |= {
        "start_to_healthy_s": report.start_to_healthy_s,
        "chat_s": report.chat_s,
        "emf_records": report.emf_records,
        "sigterm_in_flight_status": report.sigterm_request_status,
        "sigterm_to_exit_s": report.sigterm_to_exit_s,
        "sigterm_exit_code": report.exit_code,
    }
    if report.workers > 1:
        figures |= {
            "workers": report.workers,
            "workers_running": report.workers_running,
            "workers_start_to_healthy_s": report.workers_start_to_healthy_s,
            "workers_all_started_s": report.workers_all_started_s,
            "workers_requests": report.workers_requests,
            "workers_sigterm_in_flight_status": report.workers_sigterm_request_status,
            "workers_sigterm_to_exit_s": report.workers_sigterm_to_exit_s,
            "workers_sigterm_exit_code": report.workers_exit_code,
            "workers_check_s": report.workers_check_s,
        }
    figures["pruned_older_images"] = len(build_.prune_older(cold))
    return figures


def _biggest(image_id: str) -> list[tuple[str, float]]:
    done = subprocess.run(
        ["podman", "run", "--rm", "--network=none", "--entrypoint", "/opt/venv/bin/python", image_id, "-c", _SIZES],
        env=podman_.environment(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [(name, round(size / 1e6, 1)) for name, size in json.loads(done.stdout)]


def _sbom_and_lock_check(image: build_.BuiltImage, out: Path) -> Path:
    installed = sbom.installed_python_packages(image.image_id)
    target = Target(image.architecture, image.base.python, image.base.glibc)
    expected = closure(build_.ROOT, target) | {build_.CALLBACK: sbom.workspace_version(build_.ROOT, build_.CALLBACK)}
    problems = sbom.lock_mismatches(installed, expected)
    if problems:
        raise PipelineError(f"the {image.architecture} image is not the lock's environment: " + "; ".join(problems))
    path = out / image.architecture / "sbom.cdx.json"
    path.write_text(
        sbom.cyclonedx(image.tag, build_.revision(), installed, image.base.packages, image.architecture),
        encoding="utf-8",
    )
    return path


def _venv_start(config: Path, out: Path) -> float:
    started = time.monotonic()
    options = StackOptions(config=config, port=smoke.free_port(), backend="scripted", phoenix=False,
                           state_dir=out / "venv-smoke", master_key="sk-smoke-test")  # fmt: skip
    with LocalStack(options) as stack:
        ready = stack.info.ready_s if stack.info is not None else {}
        return ready.get("proxy", round(time.monotonic() - started, 1))


if __name__ == "__main__":
    raise SystemExit(main())
