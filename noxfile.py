"""The project's jobs, the same on a laptop and in CI (``./dev test`` runs the default ones).

Every environment is installed from ``uv.lock`` (``uv sync --frozen``), so a session tests exactly
what the lock pins. ``tests`` installs one package with only its own declared dependencies and
its ``test`` group: a package that imports something it does not declare fails there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nox
from bedrockgate_pipeline.nox_env import NOT_THE_PIPELINE, sync

ROOT = Path(__file__).parent
PACKAGES = sorted(path.name for path in (ROOT / "packages").iterdir() if (path / "pyproject.toml").is_file())
PYTHON = "3.11"

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
# The default sessions (`./dev test`, which is what CI runs) are the pipeline's ci stages, set from the
# one definition in pipelines/nox_sessions.py (loaded at the end of this file).


def _distribution(package: str) -> str:
    return f"bedrockgate-{package}"


def _module(package: str) -> str:
    return "bedrockgate." + package.replace("-", "_")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff's lint rules and formatting over the whole repository."""
    sync(session, "--only-group", "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # The packages' dependency rule ([tool.importlinter] in pyproject.toml). import-linter reads the
    # source, it imports nothing: the packages' src folders are all it needs, not their dependencies.
    sources = os.pathsep.join(str(ROOT / "packages" / package / "src") for package in PACKAGES)
    session.run("lint-imports", "--no-cache", env={"PYTHONPATH": sources})


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Mypy --strict over every package's src and tests, and the repository's own scripts."""
    sync(session, "--all-packages", "--all-groups")
    for package in PACKAGES:
        base = ROOT / "packages" / package
        # src/ is the package base: src/bedrockgate/x maps to bedrockgate.x (a namespace package).
        session.run(
            "mypy",
            "--explicit-package-bases",
            str(base / "src"),
            str(base / "tests"),
            env={"MYPYPATH": str(base / "src")},
        )
    session.run("mypy", "noxfile.py", "scripts")
    # The pipeline: its package (the Dagger module's source) and tests, and its nox sessions.
    pipeline_src = ROOT / "pipelines" / "dagger" / "src"
    session.run("mypy", "--explicit-package-bases", str(pipeline_src), str(ROOT / "pipelines" / "tests"),
                env={"MYPYPATH": f"{pipeline_src}{os.pathsep}{ROOT / 'pipelines' / 'tests'}"})  # fmt: skip
    for path in sorted((ROOT / "pipelines").glob("*sessions.py")):
        session.run("mypy", str(path), env={"MYPYPATH": str(pipeline_src)})
    session.run("mypy", *sorted(str(p) for p in (ROOT / "pipelines" / "image").glob("*.py")))  # the image's scripts
    for path in sorted((ROOT / "packages").glob("*/nox_sessions.py")):
        session.run("mypy", str(path))
    for path in sorted((ROOT / "packages").glob("*/load")):  # load-test scripts (Locust)
        session.run("mypy", str(path))


@nox.session(python=PYTHON)
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """One package's tests, in an environment holding only what that package declares.

    First deptry: an import the package does not declare (or reaches only through another
    dependency) fails. Then the tests with branch coverage of the package, which must not fall
    below its floor in ``coverage-floors.toml`` (checked only for a whole run, without posargs).
    """
    sync(session, "--package", _distribution(package), "--no-default-groups", "--group", "test")
    base = ROOT / "packages" / package
    # deptry reads the package's pyproject.toml from the folder it runs in, and only src/ is the
    # package's code. `bedrockgate` is first-party: which sibling a package may import is import-linter's rule.
    with session.chdir(base):
        session.run("deptry", "src", "--known-first-party", "bedrockgate")
    # In the venv's folder, not session.create_tmp(): that sets TMPDIR, and the tests' tmp_path would be in the repo.
    report = Path(session.virtualenv.location) / "coverage.json"
    report.unlink(missing_ok=True)
    session.run(
        "pytest",
        str(base / "tests"),
        f"--cov={_module(package)}",
        f"--cov-report=json:{report}",
        f"--junitxml={report.with_name('junit.xml')}",  # read by the recap of a failed ./dev test
        *session.posargs,
        # COVERAGE_FILE: the data file in this session's folder, so that sessions running at once never share it.
        env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "COVERAGE_FILE": str(report.with_suffix(".data"))},
    )
    # The floor check runs in nox's own environment, where the pipeline's code is installed.
    partial = ["--partial"] if session.posargs else []  # a part of the suite: its figure says nothing
    session.run(sys.executable, "-m", "bedrockgate_pipeline.coverage_floors", package, str(report), "--root", str(ROOT),
                *partial, external=True)  # fmt: skip


@nox.session(venv_backend="none")
def build(session: nox.Session) -> None:
    """Build every package's sdist and wheel, then install each wheel alone in a clean venv and import it."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    # --no-sources: build with the metadata users get from PyPI, not the workspace's shortcuts.
    session.run("uv", "build", "--all-packages", "--no-sources", "--out-dir", str(dist), silent=True, external=True)
    constraints = _lock_constraints(session)
    for package in PACKAGES:
        distribution = _distribution(package).replace("-", "_")
        wheels = sorted(dist.glob(f"{distribution}-*.whl"))
        sdists = sorted(dist.glob(f"{distribution}-*.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            session.error(f"{package}: expected one wheel and one sdist in dist/, found {wheels + sdists}")
        with tempfile.TemporaryDirectory(prefix=f"wheel-{package}-") as venv:
            session.run("uv", "venv", "--quiet", "--python", PYTHON, venv, silent=True, external=True)
            python = str(Path(venv) / "bin" / "python")
            session.run(
                "uv", "pip", "install", "--quiet", "--python", python, "--find-links", str(dist),
                "--constraints", constraints, str(wheels[0]), silent=True, external=True,
            )  # fmt: skip
            imported = session.run(python, "-I", "-c", _IMPORT_CHECK, _module(package), external=True, silent=True)
            session.log(str(imported).strip())
        session.log(f"{package}: {wheels[0].name} and {sdists[0].name} build, install alone and import")


_IMPORT_CHECK = """
import importlib, importlib.resources, sys
import bedrockgate
module = importlib.import_module(sys.argv[1])
assert getattr(bedrockgate, "__file__", None) is None, "bedrockgate must stay a namespace package"
assert importlib.resources.files(sys.argv[1]).joinpath("py.typed").is_file(), "py.typed is missing"
print(sys.argv[1], "imports from", module.__file__)
"""


def _lock_constraints(session: nox.Session) -> str:
    """The lock's versions as pip constraints, so wheel installs resolve what the tests ran."""
    exported = session.run(
        "uv", "export", "--frozen", "--all-packages", "--all-groups", "--no-hashes",
        "--no-emit-workspace", *NOT_THE_PIPELINE, "--no-header", "--format", "requirements.txt",
        silent=True, external=True,
    )  # fmt: skip
    if not isinstance(exported, str):
        session.error("uv export printed nothing")
    path = Path(session.create_tmp()) / "constraints.txt"
    path.write_text(exported, encoding="utf-8")
    return str(path)


@nox.session(python=PYTHON, default=False)
def demo(session: nox.Session) -> None:
    """Validate every example config and print what the first one needs from the environment."""
    sync(session, "--package", _distribution("gateway-config"))
    examples = sorted(str(path) for path in (ROOT / "examples").glob("*.yaml"))
    session.run("bedrockgate-gateway-config", "validate", *examples)
    session.run("bedrockgate-gateway-config", "env", "--format", "text", *examples)


@nox.session(venv_backend="none", default=False)
def lock_check(session: nox.Session) -> None:
    """Fail when uv.lock no longer matches the pyproject files, or pins a compromised litellm."""
    session.run("uv", "lock", "--check", external=True)
    lock = (ROOT / "uv.lock").read_text(encoding="utf-8")
    for banned in ("1.82.7", "1.82.8"):
        if f'name = "litellm"\nversion = "{banned}"' in lock:
            session.error(f"uv.lock pins litellm {banned}, a compromised release")
    session.log(json.dumps({"lock": "ok"}))


def _load_package_sessions() -> None:
    """Register each package's own jobs (benchmarks, artefacts) from ``packages/<name>/nox_sessions.py``.

    A package's special jobs live beside its code; their ``@nox.session`` functions register
    like the ones in this file (they are not default sessions unless they say so).
    """
    for path in sorted((ROOT / "packages").glob("*/nox_sessions.py")):
        spec = importlib.util.spec_from_file_location(f"nox_sessions_{path.parent.name.replace('-', '_')}", path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {path}")
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


def _load_pipeline_sessions() -> None:
    """Register the pipeline's sessions: every ``pipelines/*sessions.py``.

    ``nox_sessions.py`` holds the stages (gateway_image, evaluate, deploy, ci ...); other jobs keep
    files of their own beside it (release and publish, the harness).
    """
    for path in sorted((ROOT / "pipelines").glob("*sessions.py")):
        spec = importlib.util.spec_from_file_location(f"pipeline_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {path}")
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


_load_package_sessions()
_load_pipeline_sessions()
