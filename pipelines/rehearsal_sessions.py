"""The deploy rehearsal (``nox -s rehearse``) and the post-deploy ``verify`` stage.

The root noxfile loads this file. ``rehearse`` runs the pipeline's own sessions (bootstrap, deploy)
unchanged against moto's server on loopback (``bedrockgate_pipeline.rehearsal.emulator``, with the
shim the spike in ``packages/infra/rehearsal-spike.md`` called for), under the ``rehearsal`` gate
profile, with its own gate records (``.pipeline/rehearsal/gates``) so that nothing it records can
reach a real deploy. Its steps: the amd64 image built and pushed to the local registry; the
evaluate gate on it; the Lambda zip; bootstrap; deploy of every stack; read-back; verify against
the local stack running that image (the emulator runs no containers); a second deploy after a
config change (a model group added), which must update in place; destroy; the coverage table.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import nox
import yaml
from bedrockgate_pipeline.deploy import cdk, deploy_context, guard, published_image
from bedrockgate_pipeline.eval_gate import run_and_gate
from bedrockgate_pipeline.gates import source_commit, source_id, write_record
from bedrockgate_pipeline.nox_env import sync
from bedrockgate_pipeline.rehearsal import coverage, readback

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "3.11"
WORK = ROOT / ".pipeline" / "rehearsal"
OUT = ROOT / "dist" / "rehearsal"
CDK_OUT = ROOT / "packages" / "infra" / "cdk.out"
FIRST = WORK / "cdk.out-first"
"""The first deploy's cloud assembly, kept for the coverage table and the retained list."""
LAMBDA_ZIP = ROOT / "dist" / "lambda" / "lex-fulfillment.zip"
SETTINGS = "settings/dev.yaml"
ACCOUNT, REGION = "123456789012", "us-east-1"
PHOENIX = "docker.io/arizephoenix/phoenix@sha256:" + hashlib.sha256(b"rehearsal phoenix").hexdigest()
"""A well-formed Phoenix digest: the emulator runs no container, so nothing pulls it (dev.yaml pins none)."""
ADDED_GROUP = "claude-rehearsal-added"
VERIFY_PORT = 4710
VERIFY_KEY = "sk-rehearsal-verify"
NO_LEX = "the emulator runs no Lex bot (moto has no Lex V2 runtime)"


def emulator_env(port: int, gates: Path) -> dict[str, str]:
    """Fake credentials and every endpoint on the emulator; the CLI's template URLs path-style on ``localhost``."""
    return {
        "AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal", "AWS_SESSION_TOKEN": "rehearsal",
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        # moto reads a template URL path-style only when its host is "localhost" (spike, F1).
        "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": f"http://localhost:{port}",
        "CDK_DISABLE_VERSION_CHECK": "1", "BEDROCKGATE_GATES_DIR": str(gates),
    }  # fmt: skip


@contextmanager
def _emulator(session: nox.Session, port: int, log: Path) -> Iterator[None]:
    """Moto's server with the shim, on loopback, for the duration of the block."""
    env = dict(os.environ)
    argv = [str(Path(session.bin) / "python"), "-m", "bedrockgate_pipeline.rehearsal.emulator", "--port", str(port)]
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(argv, env=env, stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603 -- fixed argv
        try:
            deadline = time.monotonic() + 60
            while "emulator ready" not in log.read_text(encoding="utf-8"):
                if process.poll() is not None or time.monotonic() > deadline:
                    session.error(f"the emulator did not start: {log.read_text(encoding='utf-8')[-2000:]}")
                time.sleep(0.2)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _nox(session: nox.Session, env: Mapping[str, str], *args: str) -> None:
    """One of the pipeline's own sessions, unchanged, in a child nox (the endpoint comes from ``env``)."""
    session.run(sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), *args, env=dict(env), external=True)


def _modelled_types(session: nox.Session) -> frozenset[str]:
    """The types the emulator really creates, asked of the session's venv (where moto is; nox itself has none)."""
    printed = session.run("python", "-c", "import json; from bedrockgate_pipeline.rehearsal import emulator; "
                          "print(json.dumps(sorted(emulator.modelled_types())))", silent=True)  # fmt: skip
    return frozenset(json.loads(str(printed).strip().splitlines()[-1]))


def _free_port() -> int:
    """A free loopback port (here, not ``image.smoke.free_port``: that module needs httpx, which nox's env lacks)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _passes(session: nox.Session, module: str, *args: str, env: Mapping[str, str]) -> bool:
    """``python -m MODULE ARGS`` in the session's venv (moto, boto3 are there); True when it exits 0.

    Not ``session.run``: a failed check is recorded and the rehearsal goes on to tear down.
    """
    done = subprocess.run(  # noqa: S603 -- this venv's interpreter and a fixed module
        [str(Path(session.bin) / "python"), "-m", module, *args],
        env=os.environ | dict(env), check=False, timeout=1800,
    )  # fmt: skip
    return done.returncode == 0


def _read_back(session: nox.Session, env: Mapping[str, str], phase: str, *args: str) -> bool:
    """``readback PHASE`` against the emulator; True when every check passed."""
    readback_args = (phase, "--cdk-out", str(CDK_OUT), *args)
    return _passes(session, "bedrockgate_pipeline.rehearsal.readback", *readback_args, env=env)


def _updated_settings() -> str:
    """A copy of the dev settings whose gateway config has one more model group (nothing committed changes)."""
    settings_file = ROOT / "packages" / "infra" / SETTINGS
    settings = yaml.safe_load(settings_file.read_text(encoding="utf-8"))
    config_file = (settings_file.parent / settings["gateway_config"]).resolve()
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    added = json.loads(json.dumps(config["model_list"][-1]))
    added["model_name"] = ADDED_GROUP
    added.setdefault("model_info", {})["id"] = f"{ADDED_GROUP}-1"
    config["model_list"].append(added)
    (WORK / "gateway-updated.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    settings["gateway_config"] = str(WORK / "gateway-updated.yaml")
    (WORK / "settings-updated.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return os.path.relpath(WORK / "settings-updated.yaml", ROOT / "packages" / "infra")


class Rehearsal:
    """One rehearsal's state: timed steps and the failures so far.

    A plain class: the noxfile loads this file without registering it as a module, which dataclasses need.
    """

    def __init__(self, session: nox.Session, gates: Path) -> None:
        self.session, self.gates = session, gates
        self.times: dict[str, float] = {}
        self.guard_verdict = "(not reached)"
        self.failures: list[str] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step (printed, and in the report)."""
        started = time.monotonic()
        yield
        self.times[name] = time.monotonic() - started
        self.session.log(f"rehearse: {name} done in {self.times[name]:.1f} s")

    def image(self, source: str) -> tuple[str, str]:
        """The amd64 image built and pushed to the local registry, recorded for this source: (reference, id)."""
        with self.step("image (amd64, built and pushed to the local registry)"):
            self.session.run("python", "-m", "bedrockgate_pipeline.image", "build", "--arch", "amd64", "--push",
                             "--out", str(WORK / "image"), env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"})  # fmt: skip
            figures = json.loads((WORK / "image" / "figures.json").read_text(encoding="utf-8"))
            image = published_image(str(figures["pushed"]))
            write_record(self.gates, "gateway_image", source, passed=True, detail=image)
        return image, str(figures["architectures"]["amd64"]["image_id"])

    def against_emulator(self, env: Mapping[str, str], image: str, image_id: str) -> None:
        """Bootstrap, deploy, read back, verify, update in place, destroy: the emulator is up throughout."""
        explicit = ("--account", ACCOUNT, "--region", REGION)
        with self.step("bootstrap (every environment) and the registry stack"):
            _nox(self.session, env, "-s", "bootstrap", "--", SETTINGS, *explicit)
        with self.step("deploy --all (rehearsal gate profile)"):
            _nox(self.session, env, "-s", "deploy", "--", SETTINGS, *explicit, "--phoenix-image", PHOENIX,
                 "--profile", "rehearsal")  # fmt: skip
        shutil.copytree(CDK_OUT, FIRST)
        with self.step("read back"):
            if not _read_back(self.session, env, "deployed", "--image", image, "--zip", str(LAMBDA_ZIP)):
                self.failures.append("read back after the first deploy (table above)")
        with self.step("verify (the local stack running the deployed image)"):
            self.failures += _verify(self.session, image_id)
        with self.step("deploy again after a config change (update in place)"):
            _nox(self.session, env, "-s", "deploy", "--", _updated_settings(), *explicit, "--phoenix-image", PHOENIX,
                 "--profile", "rehearsal")  # fmt: skip
            if not _read_back(self.session, env, "updated"):
                self.failures.append("read back after the update (table above)")
            with self.session.chdir(ROOT):  # the guard's verdict on that change, offline, for the report
                self.guard_verdict = str(self.session.run(*guard(deployed=str(FIRST)), env=dict(env), silent=True,
                                                          external=True))  # fmt: skip
        context = deploy_context(gateway_image=image, source_commit=source_commit(ROOT), account=ACCOUNT,
                                 region=REGION) | {"phoenix_image": PHOENIX}  # fmt: skip
        with self.step("destroy (reverse dependency order)"):
            self.session.run(*cdk(["destroy", "--all", "--force"], settings=SETTINGS, context=context), env=dict(env),
                             external=True)  # fmt: skip
            if not _read_back(self.session, env, "destroyed"):
                self.failures.append("destroy (table above)")

    def write_report(self, created: frozenset[str]) -> None:
        """Wall times, what a destroy retains, the coverage table: printed and in dist/rehearsal/report.md."""
        counts, reasons = coverage.template_types(FIRST), coverage.reviewed()
        kept = readback.retained(FIRST) or ["none"]
        times = "\n".join(f"| {name} | {seconds:.1f} s |" for name, seconds in self.times.items())
        report = "\n".join([
            "# Deploy rehearsal", "", "| step | wall time |", "|---|---|", times,
            f"| total | {sum(self.times.values()):.1f} s |", "",
            "## Retained by destroy (DeletionPolicy in the templates)", "", *(f"- {k}" for k in kept), "",
            f"## The replacement guard on the update ({ADDED_GROUP} added)", "", "```",
            self.guard_verdict.strip()[-3000:], "```", "",
            "## Coverage", "", coverage.render(coverage.rows(counts, created, reasons)), "",
        ])  # fmt: skip
        (OUT / "report.md").write_text(report, encoding="utf-8")
        self.session.log(report)
        try:
            coverage.check(counts, created, reasons)
        except coverage.CoverageError as error:
            self.failures.append(str(error))


@nox.session(python=PYTHON, default=False)
def rehearse(session: nox.Session) -> None:
    """Bootstrap, deploy, read back, verify, update in place, destroy against moto; prints the coverage table."""
    sync(session, "--all-packages", "--all-groups")

    for folder in (WORK, OUT):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    rehearsal = Rehearsal(session, WORK / "gates")
    source = source_id(ROOT)  # a rehearsal, like a deploy, runs on a committed source only
    image, image_id = rehearsal.image(source)
    plain = {"BEDROCKGATE_GATES_DIR": str(rehearsal.gates)}
    with rehearsal.step("evaluate gate on that image"):
        _nox(session, plain, "-s", "evaluate", "--", "--image", image_id)
    with rehearsal.step("lambda zip"):
        _nox(session, plain, "-s", "lambda_zip")
    port = _free_port()
    with _emulator(session, port, WORK / "emulator.log"):
        rehearsal.against_emulator(emulator_env(port, rehearsal.gates), image, image_id)
    rehearsal.write_report(_modelled_types(session))
    if rehearsal.failures:
        session.error("rehearsal failed: " + "; ".join(rehearsal.failures))


def _verify(session: nox.Session, image_id: str) -> list[str]:
    """``verify`` against the local stack running the deployed image, then the eval gate on it."""
    state = str(WORK / "verify-stack")
    env = {"LITELLM_MASTER_KEY": VERIFY_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    config = str(ROOT / "examples" / "agents-gateway.yaml")
    session.run("bedrockgate-local-stack", "up", "--detach", "--no-phoenix", "--port", str(VERIFY_PORT),
                "--state-dir", state, "--ask", "", "--gateway", f"image={image_id}", env=env)  # fmt: skip
    try:
        passed = _passes(session, "bedrockgate_pipeline.verify", "--endpoint", f"http://127.0.0.1:{VERIFY_PORT}",
                         "--api-key-env", "LITELLM_MASTER_KEY", "--config", config,
                         "--lex-reason", NO_LEX, env=env)  # fmt: skip
        run_and_gate(
            session,
            endpoint=f"http://127.0.0.1:{VERIFY_PORT}/v1",
            key_env="LITELLM_MASTER_KEY",
            out=OUT / "verify-evals",
            env=env,
        )
    finally:
        session.run("bedrockgate-local-stack", "down", "--state-dir", state)
    return [] if passed else ["verify: a check failed (table above)"]


@nox.session(python=PYTHON, default=False)
def verify(session: nox.Session) -> None:
    """After a deploy: ``nox -s verify -- --endpoint URL --api-key-env VAR --config PATH [--lex BOT/ALIAS]``.

    Health, one chat per model group, the guardrail, the Lex round trip; then run the eval gate
    against the same endpoint (``bedrockgate-evals run --dataset squad`` for a real one).
    """
    sync(session, "--only-group", "pipelines", "--only-group", "rehearsal")
    session.run("python", "-m", "bedrockgate_pipeline.verify", *session.posargs)
