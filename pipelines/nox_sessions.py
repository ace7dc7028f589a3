"""The pipeline's stages as nox sessions, from the one definition in ``bedrockgate_pipeline.stages``.

The root noxfile loads this file. Sessions that already exist there or beside their package
(lint, typecheck, tests, build, lambda_zip, synth) keep their home; this file adds the rest of the
stages (pipeline, supply_chain, gateway_image, evaluate, bootstrap, deploy), the ``ci`` composite
(and, from the same list, nox's default sessions: what ``./dev test`` runs), ``source``,
``affected`` and ``dagger_lock``. Releases live in ``release_sessions.py``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import nox
from bedrockgate_pipeline import dagger_lock as dagger_lock_
from bedrockgate_pipeline.affected import changed_files, plan_for, workspace_graph
from bedrockgate_pipeline.audit import verdict as audit_verdict
from bedrockgate_pipeline.deploy import bootstrap as bootstrap_command
from bedrockgate_pipeline.deploy import deploy_context, guarded_deploy, infra, published_image, settings_path
from bedrockgate_pipeline.deploy import registry as registry_command
from bedrockgate_pipeline.errors import PipelineError
from bedrockgate_pipeline.eval_gate import run_and_gate
from bedrockgate_pipeline.gates import profile, read_records, require_gates, source_commit, source_id, write_record
from bedrockgate_pipeline.image import podman as podman_
from bedrockgate_pipeline.nox_env import NOT_THE_PIPELINE, sync
from bedrockgate_pipeline.stages import ci_stages

ROOT = Path(__file__).resolve().parent.parent

PYTHON = "3.11"
GATES = Path(os.environ.get("BEDROCKGATE_GATES_DIR") or ROOT / ".pipeline" / "gates")
"""Where gate records live; the rehearsal keeps its own (``BEDROCKGATE_GATES_DIR``), apart from real deploys'."""
DIST = ROOT / "dist"


@nox.session(python=PYTHON)
def pipeline(session: nox.Session) -> None:
    """The pipeline's own tests: stage parity, affected packages, gates, the lock, Dagger graphs without an engine."""
    sync(session, "--only-group", "pipelines", "--only-group", "rehearsal")  # the emulator tests need moto
    junit = Path(session.virtualenv.location) / "junit.xml"  # read by the recap of a failed ./dev test
    session.run("pytest", str(ROOT / "pipelines" / "tests"), f"--junitxml={junit}", *session.posargs)


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
    sync(session, "--all-packages", "--all-groups")
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}  # the pipeline's code is in the venv (the pipelines group)
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
    With ``BEDROCKGATE_REGISTRY=ACCOUNT.dkr.ecr.REGION.amazonaws.com/bedrockgate-gateway`` (after ``podman
    login``) it pushes there instead. The pushed digest is recorded for this commit: ``deploy`` takes it.
    """
    source = _source_or_dirty()
    remote = os.environ.get("BEDROCKGATE_REGISTRY", "")
    _image_session(session, "--arch", "amd64", "--arch", "arm64", "--reproducible", "--push", "--compare-venv",
                   *(["--registry", remote] if remote else []))  # fmt: skip
    if session.posargs[:1] == ["context"]:
        return
    _image_e2e(session)
    pushed = str(json.loads((DIST / "gateway-image" / "figures.json").read_text(encoding="utf-8"))["pushed"])
    if source:  # deploy takes this digest, and only for this source
        write_record(GATES, "gateway_image", source, passed=True, detail=published_image(pushed))
    session.log(f"published {pushed}" + ("" if source else " (not recorded: uncommitted changes)"))


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
    """The local stack's end-to-end tests that must hold for the image too, with the proxy in the container.

    The key answers (401 with a JSON error for a missing or wrong key, on every route) are among them:
    the image's lock and config must give the same answers as the workspace's. So are the production
    config's guardrails (masked answers, streamed too; blocked attacks and filter terms; clean requests
    unchanged; traces of all three in Phoenix): the image bakes that config in.
    """
    image = _built_image(session)
    tests = ROOT / "packages" / "local-stack" / "tests"
    session.run(
        "pytest", str(tests / "test_e2e_stack.py"), str(tests / "test_security_probe.py"),
        str(tests / "test_e2e_guardrails.py"), "--gateway-image", image,
        "-k", "chat_answer or streaming or fallback or metrics_record or email_address or wrong_or_missing_key "
              "or every_route or loopback or anonymised or blocked or clean_request or traces_of",
        env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )  # fmt: skip


def _evaluated_image(session: nox.Session) -> str:
    """The image the gate measures: ``--image-archive PATH`` (loaded into podman), ``--image REF``, or the last built.

    The Dagger ``evaluate`` passes the archive of the amd64 image it built in the same run
    (``as_tarball``); on a laptop the image ``gateway_image_amd64`` recorded is the default.
    """
    args = list(session.posargs)
    for flag in ("--image-archive", "--image"):
        if flag in args:
            at = args.index(flag)
            if at + 1 >= len(args):
                session.error(f"{flag} needs a value: nox -s evaluate -- {flag} PATH|REF")
            value = args[at + 1]
            if flag == "--image":
                return value
            try:
                return podman_.load(Path(value).resolve())
            except PipelineError as error:
                session.error(str(error))
    if args:
        session.error(f"unknown arguments {args}: nox -s evaluate [-- --image-archive PATH | --image REF]")
    return _built_image(session)


@nox.session(python=PYTHON, default=False)
def evaluate(session: nox.Session) -> None:
    """The gateway image on the local stack, judged against the committed baseline (``eval_gate``); recorded."""
    image = _evaluated_image(session)  # the gate measures the artefact: the proxy runs from the gateway image
    sync(session, "--package", "bedrockgate-local-stack", "--package", "bedrockgate-evals", "--extra", "models")
    source = _source_or_dirty()
    out = DIST / "evaluate"
    port = "4700"
    env = {"LITELLM_MASTER_KEY": "sk-evaluate-stage", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    state = str(ROOT / ".pipeline" / "evaluate-stack")
    session.run("bedrockgate-local-stack", "up", "--detach", "--no-phoenix", "--port", port, "--state-dir", state,
                "--ask", "", "--gateway", f"image={image}", env=env)  # fmt: skip
    passed = False
    try:
        run_and_gate(session, endpoint=f"http://127.0.0.1:{port}/v1", key_env="LITELLM_MASTER_KEY", out=out, env=env)
        passed = True
    finally:
        session.run("bedrockgate-local-stack", "down", "--state-dir", state)
        if source:
            write_record(GATES, "evaluate", source, passed=passed)


@nox.session(venv_backend="none", default=False)
def source(session: nox.Session) -> None:
    """The dirty-tree rule both runners share: refuse uncommitted changes, else write the commit (dist/source.json).

    The Dagger ``deploy`` runs this in its container on the source with its ``.git``; ``nox -s deploy``
    applies the same rule (``gates.require_clean``) on the host.
    """
    try:
        checked = {"commit": source_commit(ROOT), "tree": source_id(ROOT)}
    except PipelineError as error:
        session.error(str(error))
    DIST.mkdir(exist_ok=True)
    (DIST / "source.json").write_text(json.dumps(checked), encoding="utf-8")
    session.log(json.dumps(checked))


@nox.session(venv_backend="none", default=False)
def dagger_lock(session: nox.Session) -> None:
    """Lock the Dagger module (``pipelines/dagger/uv.lock``) to the workspace lock's versions; see ``dagger_lock``."""
    module = ROOT / dagger_lock_.MODULE
    sdk, pyproject = module / "sdk", module / "pyproject.toml"
    stub = not sdk.exists()  # a developer who ran `dagger develop` has the real SDK there: lock against it
    if stub:
        (sdk / "src" / "dagger").mkdir(parents=True)
        (sdk / "src" / "dagger" / "__init__.py").write_text("", encoding="utf-8")
        version = dagger_lock_.dagger_io_version(pyproject.read_text(encoding="utf-8"))
        (sdk / "pyproject.toml").write_text(dagger_lock_.sdk_stub(ROOT / "uv.lock", version), encoding="utf-8")
    try:
        unconstrained = dagger_lock_.with_constraints(pyproject.read_text(encoding="utf-8"), {})
        pyproject.write_text(unconstrained, encoding="utf-8")
        session.run("uv", "lock", "--directory", str(module), "--quiet", external=True)
        module_names = dagger_lock_.locked_versions(module / "uv.lock")
        shared = {n: v for n, v in dagger_lock_.locked_versions(ROOT / "uv.lock").items() if n in module_names}
        pyproject.write_text(dagger_lock_.with_constraints(unconstrained, shared), encoding="utf-8")
        session.run("uv", "lock", "--directory", str(module), "--quiet", external=True)
    finally:
        if stub:
            shutil.rmtree(sdk)
    problems = dagger_lock_.disagreements(ROOT / "uv.lock", module / "uv.lock")
    if problems:
        session.error("the Dagger module's lock disagrees with uv.lock: " + "; ".join(problems))
    session.log(f"pipelines/dagger/uv.lock: {len(module_names)} packages, each at the workspace lock's version")


CI_SESSIONS = [step.ci_session for step in ci_stages()]
"""What ``ci`` runs, in order: the same list as ``./dev test`` (nox's default sessions) and ``dagger call ci``."""
# `./dev test` (nox's default sessions): the ci stages, with the quick harness (a few Dagger functions'
# commands in a clean container with exactly their inputs; `nox -s harness` runs them all) just before
# the pipeline's own tests, which then find its stage image for their real podman run.
nox.options.sessions = [*CI_SESSIONS[: CI_SESSIONS.index("pipeline")], "harness_quick",
                        *CI_SESSIONS[CI_SESSIONS.index("pipeline") :]]  # fmt: skip


@nox.session(venv_backend="none", default=False)
def ci(session: nox.Session) -> None:
    """Every stage up to synth (the same list the Dagger ``ci`` function runs), then records the pass."""
    source = _source_or_dirty()
    session.run(sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-s", *CI_SESSIONS, external=True)
    if source:
        write_record(GATES, "ci", source, passed=True)


def _deploy_options(session: nox.Session) -> tuple[str, dict[str, str]]:
    """``-- [SETTINGS] [--account ID] [--region NAME] [--phoenix-image REF]``: settings and explicit values."""
    args = list(session.posargs)
    explicit: dict[str, str] = {}
    for key in ("account", "region", "phoenix_image"):
        flag = "--" + key.replace("_", "-")
        if flag in args:
            at = args.index(flag)
            explicit[key] = args[at + 1]
            del args[at : at + 2]
    if "phoenix_image" in explicit:
        published_image(explicit["phoenix_image"])
    settings = args[0] if args else "settings/dev.yaml"
    settings_path(ROOT, settings)
    return settings, explicit


@nox.session(venv_backend="none", default=False)
def bootstrap(session: nox.Session) -> None:
    """Once per account: ``cdk bootstrap`` of every environment the app uses, then the registry stack.

    The environments are the main region and us-east-1 when a CloudFront certificate is needed
    (``bedrockgate-infra environments``); the registry stack (ECR, immutable tags, scan on push) must
    exist before the first image push, and with no image given the app is that stack alone.
    """
    settings, explicit = _deploy_options(session)
    with session.chdir(ROOT):
        listed = session.run(*infra("environments", settings=settings, context=explicit), external=True, silent=True)
        for environment in str(listed).split():
            if environment.startswith("aws://"):
                session.run(*bootstrap_command(environment, settings=settings, context=explicit), external=True)
        session.run(*registry_command(settings=settings, context=explicit), external=True)


@nox.session(venv_backend="none", default=False)
def deploy(session: nox.Session) -> None:
    """``cdk deploy`` of every stack with the image pushed for this commit, refused unless its gates passed.

    ``nox -s deploy -- [SETTINGS] [--account ID] [--region NAME] [--phoenix-image REF] [--profile P]
    [--allow-replace LOGICAL_ID]...``. The gates (ci, evaluate, the audit) must have passed for this very
    source; the gateway image is the digest ``gateway_image`` pushed and recorded for it; the commit is
    recorded in the stacks and outputs. Synth, then the replacement guard refuses to replace or delete a
    stateful resource that no ``--allow-replace`` names, then ``cdk deploy`` of that very assembly.
    """
    gate_profile = profile("production")
    if "--profile" in session.posargs:
        at = session.posargs.index("--profile")
        gate_profile = profile(session.posargs[at + 1])
        session.posargs[at : at + 2] = []
    allow_replace: list[str] = []
    while "--allow-replace" in session.posargs:
        at = session.posargs.index("--allow-replace")
        if at + 1 >= len(session.posargs):
            session.error("--allow-replace needs a value: the LOGICAL_ID (or STACK/LOGICAL_ID) the guard names")
        allow_replace.append(session.posargs[at + 1])
        session.posargs[at : at + 2] = []
    source = source_id(ROOT)
    records = read_records(GATES)
    gates = require_gates(records, source, gate_profile)
    image = next((r.detail for r in reversed(records) if r.stage == "gateway_image" and r.source == source), None)
    if image is None:
        session.error(f"no gateway image was pushed for source {source[:12]}: run `nox -s gateway_image` first")
    settings, explicit = _deploy_options(session)
    phoenix = {"phoenix_image": explicit.pop("phoenix_image")} if "phoenix_image" in explicit else {}
    context = deploy_context(gateway_image=image, source_commit=source_commit(ROOT), **explicit) | phoenix
    outputs = DIST / "deploy-outputs.json"
    with session.chdir(ROOT):
        session.run(*infra("preflight", settings=settings, context=context), external=True)
        commands = guarded_deploy(settings=settings, context=context, outputs=str(outputs), allow_replace=allow_replace)
        for command in commands:  # synth, the replacement guard, cdk deploy of that assembly
            session.run(*command, external=True)
    recorded = {"gates": gates, "gateway_image": image, "source_commit": context["source_commit"],
                "stacks": json.loads(outputs.read_text(encoding="utf-8"))}  # fmt: skip
    (DIST / "deploy-record.json").write_text(json.dumps(recorded, indent=2), encoding="utf-8")
    session.log(json.dumps(recorded, indent=2))


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

    The audit asks PyPI's vulnerability data (``pip-audit --strict``). Known vulnerabilities fail the
    session. When no vulnerability source can be reached (as on machines without PyPI's advisory
    data) the audit did not run: the session says so and records the ``audit`` gate as not passed,
    so a production deploy of this source refuses; it is never reported as a pass.
    """
    sync(session, "--only-group", "pipelines")
    sbom_dir = DIST / "sbom"
    sbom_dir.mkdir(parents=True, exist_ok=True)
    packages = sorted(f"bedrockgate-{p.parent.name}" for p in (ROOT / "packages").glob("*/pyproject.toml"))
    _sbom(session, packages, sbom_dir / "wheels.cdx.json")
    exported = session.run("uv", "export", "--frozen", "--all-packages", "--all-groups", "--no-emit-workspace",
                           *NOT_THE_PIPELINE, "--format", "requirements.txt", silent=True, external=True)  # fmt: skip
    requirements = Path(session.create_tmp()) / "locked.txt"
    requirements.write_text(str(exported), encoding="utf-8")
    report = sbom_dir / "audit.json"
    report.unlink(missing_ok=True)
    command = [str(Path(session.bin) / "pip-audit"), "-r", str(requirements), "--disable-pip", "--require-hashes",
               "--strict", "--progress-spinner", "off", "-f", "json", "-o", str(report)]  # fmt: skip
    session.log(" ".join(command[1:]))
    # subprocess, not session.run: the verdict needs the exit code and the output of a failed run.
    ran = subprocess.run(command, capture_output=True, text=True, check=False, timeout=1800)  # noqa: S603
    data = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else None
    found = audit_verdict(ran.returncode, data, ran.stdout + ran.stderr)
    (sbom_dir / "audit-verdict.json").write_text(json.dumps({"status": found.status, "detail": found.describe()}),
                                                 encoding="utf-8")  # fmt: skip
    source = _source_or_dirty()
    if source:
        write_record(GATES, "audit", source, passed=found.passed, detail=found.describe())
    if found.status == "failed":
        session.error(found.describe())
    if found.status == "not-run":
        session.warn(found.describe())  # recorded as not passed: a production deploy refuses this source
        return
    session.log(f"{found.describe()} ({report})")
