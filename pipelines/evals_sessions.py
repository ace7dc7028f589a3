"""The eval gate's own jobs, loaded by the root noxfile: ``baseline`` and ``gate_rates``.

- ``baseline`` replaces an environment's committed baseline (``packages/evals/gates/baselines/``)
  with a fresh run made exactly as its gates file pins, and prints how the headline figures moved.
  Replacing a baseline is the one way to make the gate accept a lower score, so it is never a side
  effect of another job: it is this session, and the commit of the file is the review.
- ``gate_rates`` measures the gate itself: its false-positive rate under real run-to-run variation
  and its detection rate for a modest degradation (``packages/evals/tests/gate_rates.py``).

Both start the local stack (``--gateway venv`` by default: the workspace's LiteLLM, no image build
needed; ``--gateway image=REF`` measures an image), or use ``--endpoint URL --api-key-env VAR``.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import nox
from bedrockgate_pipeline.nox_env import sync

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "3.11"
EVALS = ROOT / "packages" / "evals"
DIST = ROOT / "dist"
STACK_KEY = "sk-local-eval-gate"  # the local stack's master key: loopback only, never a secret
STACK_ENV = {"LITELLM_MASTER_KEY": STACK_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def _sync(session: nox.Session) -> None:
    """The local stack (with its embedded models) and the eval CLI, from the lock."""
    sync(session, "--package", "bedrockgate-local-stack", "--package", "bedrockgate-evals", "--extra", "models")


def _options(session: nox.Session, flags: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """``flags`` (name -> default) taken from the posargs; the rest returned as they are."""
    args, values = list(session.posargs), dict(flags)
    for flag in flags:
        if flag in args:
            at = args.index(flag)
            if at + 1 >= len(args):
                session.error(f"{flag} needs a value")
            values[flag] = args[at + 1]
            del args[at : at + 2]
    return values, args


@contextlib.contextmanager
def _endpoint(session: nox.Session, options: dict[str, str], name: str, port: str) -> Iterator[tuple[str, str]]:
    """(endpoint, key variable): the given ``--endpoint``, or a local stack started here and stopped after."""
    if options["--endpoint"]:
        yield options["--endpoint"], options["--api-key-env"] or "OPENAI_API_KEY"
        return
    gateway = options["--gateway"]
    if gateway != "venv" and not gateway.startswith("image"):
        session.error(f"--gateway {gateway}: use venv (the default) or image=REF")
    state = str(ROOT / ".pipeline" / f"{name}-stack")
    session.run("bedrockgate-local-stack", "up", "--detach", "--no-phoenix", "--port", port, "--state-dir", state,
                "--ask", "", "--gateway", gateway, env=STACK_ENV)  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}/v1", "LITELLM_MASTER_KEY"
    finally:
        session.run("bedrockgate-local-stack", "down", "--state-dir", state)


@nox.session(python=PYTHON, default=False)
def baseline(session: nox.Session) -> None:
    """Replace an environment's baseline with a fresh run made as its gates file pins; print what moved.

    ``nox -s baseline [-- --gates packages/evals/gates/local.toml] [--gateway venv|image=REF]
    [--endpoint URL --api-key-env VAR]``. Then review ``git diff`` and commit the baseline file.
    """
    options, rest = _options(
        session,
        {"--gates": str(EVALS / "gates" / "local.toml"), "--gateway": "venv", "--endpoint": "", "--api-key-env": ""},
    )
    if rest:
        session.error(f"unknown arguments {rest}: nox -s baseline -- [--gates FILE] [--gateway venv|image=REF] "
                      "[--endpoint URL --api-key-env VAR]")  # fmt: skip
    _sync(session)
    gates = Path(options["--gates"]).resolve()
    printed = session.run("bedrockgate-evals", "gate", "--gates", str(gates), "--print-run-args", silent=True)
    run_args = shlex.split(str(printed))
    baseline_file = Path(
        str(session.run("bedrockgate-evals", "gate", "--gates", str(gates), "--print-baseline", silent=True)).strip()
    )
    out = DIST / "baseline" / gates.stem
    with _endpoint(session, options, f"baseline-{gates.stem}", "4710") as (endpoint, key):
        session.run("bedrockgate-evals", "run", "--endpoint", endpoint, "--api-key-env", key, *run_args,
                    "--out", str(out), "--progress", "plain", "--no-phoenix", "--fresh", env=STACK_ENV)  # fmt: skip
    new = out / "results.json"
    if baseline_file.exists():
        session.log(f"the old baseline ({baseline_file.relative_to(ROOT)}) against the new run:")
        session.run("bedrockgate-evals", "compare", str(baseline_file), str(new), success_codes=[0, 1])
    baseline_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(new, baseline_file)
    session.run("bedrockgate-evals", "gate", "--gates", str(gates), "--results", str(new))  # the new file is usable
    session.log(
        f"replaced {baseline_file.relative_to(ROOT)}: review `git diff` and commit it (the commit is the review)"
    )


@nox.session(python=PYTHON, default=False)
def gate_rates(session: nox.Session) -> None:
    """The gate's false-positive and detection rates on the local stack (figures printed; see gates/RATES.md).

    ``nox -s gate_rates [-- --gateway venv|image=REF] [--questions 40] [--temperature 0.7] [--sizes 30,100]
    [--trials 1000] [--gates FILE]``. Runs resume from ``dist/gate-rates``: an interrupted measurement continues.
    """
    options, rest = _options(session, {"--gateway": "venv", "--endpoint": "", "--api-key-env": ""})
    _sync(session)
    with _endpoint(session, options, "gate-rates", "4720") as (endpoint, key):
        session.run("python", str(EVALS / "tests" / "gate_rates.py"), "--endpoint", endpoint, "--api-key-env", key,
                    "--out", str(DIST / "gate-rates"), *rest, env=STACK_ENV)  # fmt: skip
