"""The pipeline's stages as nox sessions, from the one definition in ``bedrockgate_pipeline.stages``.

The root noxfile loads this file. Sessions that already exist there or beside their package
(lint, typecheck, tests, build, lambda_zip, synth) keep their home; this file adds the rest of the
stages (gateway_image, evaluate, deploy), the ``ci`` composite, ``affected``, ``release`` and the
pipeline's own tests.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "pipelines" / "dagger" / "src"))

from bedrockgate_pipeline.affected import changed_files, plan_for, workspace_graph  # noqa: E402 -- path set above
from bedrockgate_pipeline.gates import read_records, require_gates, source_id, write_record  # noqa: E402
from bedrockgate_pipeline.stages import ci_stages  # noqa: E402

PYTHON = "3.11"
GATES = ROOT / ".pipeline" / "gates"
DIST = ROOT / "dist"
# The local stage's gate: SmolLM2-135M is a toy (F1 ~17 on the sample), so the gate checks that the
# whole chain works (no failed request, answers that overlap the gold ones at all), not quality.
# The agents' config has no embedding alias, so semantic similarity is not gated here.
EVALUATE_GATES = ("--max-error-rate", "0", "--min-f1", "5")


def _sync(session: nox.Session, *args: str) -> None:
    session.run_install(
        "uv", "sync", "--frozen", "--exact", *args,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}, silent=True, external=True,
    )  # fmt: skip


@nox.session(python=PYTHON)
def pipeline(session: nox.Session) -> None:
    """The pipeline's own tests: stage parity, affected packages, gates, the lock, Dagger graphs without an engine."""
    _sync(session, "--only-group", "pipelines")
    session.run("pytest", str(ROOT / "pipelines" / "tests"), *session.posargs)


@nox.session(python=PYTHON, default=False)
def affected(session: nox.Session) -> None:
    """Test only what a change affects: ``nox -s affected -- --base origin/main`` prints the plan and runs it."""
    base = "origin/main"
    if "--base" in session.posargs:
        base = session.posargs[session.posargs.index("--base") + 1]
    plan = plan_for(workspace_graph(ROOT), changed_files(ROOT, base))
    session.log(f"affected since {base}: {', '.join(plan.packages) or 'nothing'} ({plan.reason})")
    for package in plan.packages:
        session.notify(f"tests(package='{package}')", posargs=[])  # not our --base


def _image_session(session: nox.Session, *args: str) -> None:
    """Build, check and smoke-test the gateway image (``python -m bedrockgate_pipeline.image build``)."""
    _sync(session, "--all-packages", "--all-groups")
    env = {"PYTHONPATH": str(ROOT / "pipelines" / "dagger" / "src"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    if session.posargs[:1] == ["context"]:  # what the Dagger function asks for: contexts only, it builds them
        arches = [arg for arch in session.posargs[1:] for arg in ("--arch", arch)]
        session.run("python", "-m", "bedrockgate_pipeline.image", "context", *arches, env=env)
        return
    config = ["--config", session.posargs[0]] if session.posargs else []
    session.run("python", "-m", "bedrockgate_pipeline.image", "build", *args, *config, env=env)


@nox.session(python=PYTHON, default=False)
def gateway_image(session: nox.Session) -> None:
    """The gateway image for linux/arm64 (what ECS runs; emulated here) and linux/amd64, pushed as one manifest.

    Both are built from the one recipe, checked for reproducibility and smoke-tested, then pushed to
    the local registry as one multi-arch manifest list.

    ``nox -s gateway_image [-- config.yaml]``; prints per architecture the digest, size, biggest packages, cold
    and warm build time and start-to-healthy, and the pushed ``127.0.0.1:PORT/bedrockgate-gateway@sha256:...``.
    """
    _image_session(session, "--arch", "amd64", "--arch", "arm64", "--reproducible", "--push", "--compare-venv")
    if session.posargs[:1] != ["context"]:
        _image_e2e(session)


@nox.session(python=PYTHON)
def gateway_image_amd64(session: nox.Session) -> None:
    """The amd64 gateway image (part of ``./dev test``): built, checked against the lock, smoke-tested.

    The local stack's end-to-end tests for chat, streaming, fallback, guardrail and metrics then run
    against it (the proxy in the container).
    """
    _image_session(session, "--arch", "amd64")
    _image_e2e(session)


def _built_image(session: nox.Session) -> str:
    """The image id the last gateway_image(_amd64) session built for this machine; an error says how to build it."""
    figures = DIST / "gateway-image" / "figures.json"
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    try:
        return str(json.loads(figures.read_text(encoding="utf-8"))["architectures"][machine]["image_id"])
    except (OSError, KeyError, ValueError):
        session.error(
            f"no {machine} gateway image recorded in {figures}: run ./dev nox -s gateway_image_{machine} first"
        )


def _image_e2e(session: nox.Session) -> None:
    """The local stack's end-to-end tests that must hold for the image too, with the proxy in the container."""
    image = _built_image(session)
    session.run(
        "pytest", str(ROOT / "packages" / "local-stack" / "tests" / "test_e2e_stack.py"), "--gateway-image", image,
        "-k", "chat_answer or streaming or fallback or metrics_record or email_address",
        env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )  # fmt: skip


@nox.session(python=PYTHON, default=False)
def evaluate(session: nox.Session) -> None:
    """The local stack plus the eval gate on the shipped sample; records the verdict for deploy."""
    _sync(session, "--package", "bedrockgate-local-stack", "--package", "bedrockgate-evals", "--extra", "models")
    source = _source_or_dirty()
    out = DIST / "evaluate"
    port = "4700"
    env = {"LITELLM_MASTER_KEY": "sk-evaluate-stage", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    state = str(ROOT / ".pipeline" / "evaluate-stack")
    image = _built_image(session)  # the gate measures the artefact: the proxy runs from the gateway image
    session.run("local-stack", "up", "--detach", "--no-phoenix", "--port", port, "--state-dir", state, "--ask", "",
                "--gateway", f"image={image}", env=env)  # fmt: skip
    passed = False
    try:
        session.run("gateway-evals", "run", "--endpoint", f"http://127.0.0.1:{port}/v1", "--model", "claude-primary",
                    "--api-key-env", "LITELLM_MASTER_KEY", "--dataset", "sample", "--samples", "30", "--out", str(out),
                    "--progress", "plain", "--no-phoenix", "--fresh", *EVALUATE_GATES, env=env)  # fmt: skip
        passed = True
    finally:
        session.run("local-stack", "down", "--state-dir", state)
        if source:
            write_record(GATES, "evaluate", source, passed=passed)


@nox.session(venv_backend="none", default=False)
def ci(session: nox.Session) -> None:
    """Every stage up to synth (the same list the Dagger ``ci`` function runs), then records the pass."""
    source = _source_or_dirty()
    for step in ci_stages():
        session.run(sys.executable, "-m", "nox", "-s", step.name, external=True)
    if source:
        write_record(GATES, "ci", source, passed=True)


@nox.session(python=PYTHON, default=False)
def deploy(session: nox.Session) -> None:
    """``cdk deploy`` of every stack, refused unless ci and evaluate passed for this very commit."""
    require_gates(read_records(GATES), source_id(ROOT))
    _sync(session, "--package", "bedrockgate-infra")
    settings = session.posargs[0] if session.posargs else "settings/dev.yaml"
    with session.chdir(ROOT / "packages" / "infra"):
        session.run("npx", "--yes", "aws-cdk@2.1148.1", "deploy", "--all", "--require-approval", "never",
                    "-c", f"settings={settings}", "--outputs-file", str(DIST / "deploy-outputs.json"),
                    external=True)  # fmt: skip
    session.log((DIST / "deploy-outputs.json").read_text(encoding="utf-8"))


def _sbom(session: nox.Session, packages: list[str], out: Path) -> None:
    """A CycloneDX SBOM of these packages' locked dependency closure (from uv.lock, with hashes)."""
    args = [a for p in packages for a in ("--package", p)]
    exported = session.run("uv", "export", "--frozen", "--no-emit-workspace", "--no-dev", *args, "--format",
                           "requirements.txt", silent=True, external=True)  # fmt: skip
    requirements = Path(session.create_tmp()) / f"{out.stem}.txt"
    requirements.write_text(str(exported), encoding="utf-8")
    session.run("cyclonedx-py", "requirements", str(requirements), "--output-format", "JSON", "--output-file", str(out),
                silent=True)  # fmt: skip
    session.log(f"SBOM {out} ({len(json.loads(out.read_text(encoding='utf-8')).get('components', []))} components)")


def _source_or_dirty() -> str | None:
    """The commit's tree id, or None (with a note) when the tree has uncommitted changes: no gate record then."""
    try:
        return source_id(ROOT)
    except Exception as error:
        print(f"no gate record: {error}", file=sys.stderr)
        return None


@nox.session(python=PYTHON)
def supply_chain(session: nox.Session) -> None:
    """After ``build``: a CycloneDX SBOM of the wheels' locked closure, and an audit of the lock for known CVEs.

    The audit asks PyPI's vulnerability data (``pip-audit``); when it cannot be reached the session
    fails and says so: an audit that did not run is not a pass.
    """
    _sync(session, "--only-group", "pipelines")
    sbom_dir = DIST / "sbom"
    sbom_dir.mkdir(parents=True, exist_ok=True)
    packages = sorted(f"bedrockgate-{p.parent.name}" for p in (ROOT / "packages").glob("*/pyproject.toml"))
    _sbom(session, packages, sbom_dir / "wheels.cdx.json")
    exported = session.run("uv", "export", "--frozen", "--all-packages", "--all-groups", "--no-emit-workspace",
                           "--format", "requirements.txt", silent=True, external=True)  # fmt: skip
    requirements = Path(session.create_tmp()) / "locked.txt"
    requirements.write_text(str(exported), encoding="utf-8")
    report = sbom_dir / "audit.json"
    try:
        session.run("pip-audit", "-r", str(requirements), "--disable-pip", "--require-hashes", "--progress-spinner",
                    "off", "-f", "json", "-o", str(report))  # fmt: skip
    except nox.command.CommandFailed:
        if not report.is_file():
            session.error("the vulnerability audit could not run (is pypi.org reachable?): not a pass")
        found = [
            f"{d['name']} {d['version']}: {', '.join(v['id'] for v in d['vulns'])}"
            for d in json.loads(report.read_text(encoding="utf-8"))["dependencies"]
            if d.get("vulns")
        ]
        session.error("known vulnerabilities in uv.lock: " + "; ".join(found))
    audited = len(json.loads(report.read_text(encoding="utf-8"))["dependencies"])
    session.log(f"audit: {audited} locked packages, no known vulnerabilities ({report})")
