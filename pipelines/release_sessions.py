"""Releases, loaded by the root noxfile: ``release`` checks a package and prints its tag, ``publish`` rehearses.

``release`` says whether a package is ready and prints its tag; ``publish`` builds the release's
files and rehearses their publication on a loopback index.

Nothing here uploads to PyPI: ``.github/workflows/release.yml`` runs ``publish`` on the pushed tag,
then uploads exactly the rehearsed files with ``uv publish`` and PyPI's trusted publishing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import nox
from bedrockgate_pipeline.errors import PipelineError
from bedrockgate_pipeline.nox_env import sync
from bedrockgate_pipeline.publish import build, rehearse, resolve
from bedrockgate_pipeline.releases import check_release

ROOT = Path(__file__).resolve().parent.parent

PYTHON = "3.11"
RELEASE_FILES = ROOT / "dist" / "release"


@nox.session(python=PYTHON, default=False)
def release(session: nox.Session) -> None:
    """``nox -s release -- <package>``: version bumped, changelog entry, wheel+sdist checked; prints the tag."""
    if not session.posargs:
        session.error("name the package: nox -s release -- gateway-config")
    package = session.posargs[0]
    sync(session, "--only-group", "pipelines")
    report = check_release(ROOT, package)
    for line in report.problems:
        session.warn(line)
    if report.problems:
        session.error(f"{package} is not ready for release")
    with tempfile.TemporaryDirectory() as out:
        session.run("uv", "build", "--package", report.distribution, "--no-sources", "--out-dir", out, external=True,
                    silent=True)  # fmt: skip
        built = sorted(str(p) for p in Path(out).iterdir() if p.name.endswith((".whl", ".tar.gz")))
        session.run("twine", "check", "--strict", *built)
        venv = Path(out) / "venv"
        session.run("uv", "venv", "--quiet", "--python", PYTHON, str(venv), external=True, silent=True)
        wheel = next(p for p in built if p.endswith(".whl"))
        session.run("uv", "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), wheel,
                    external=True, silent=True)  # fmt: skip
        session.run(str(venv / "bin" / "python"), "-c", f"import {report.module}", external=True)
    for note in report.notes:
        session.log(note)
    session.log(f"ready: git tag {report.tag} && git push origin {report.tag}")


def _publish_args(posargs: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nox -s publish --", exit_on_error=False)
    parser.add_argument("target", help="a package folder (gateway-config) or a release tag (<distribution>/v<version>)")
    parser.add_argument("--out", type=Path, default=RELEASE_FILES, help=f"where the files go (default {RELEASE_FILES})")
    parser.add_argument("--offline", action="store_true", help="dependencies from the uv cache only, no network")
    parser.add_argument("--rehearse-only", action="store_true", help="rehearse even if the release checks fail")
    return parser.parse_args(posargs)


@nox.session(python=PYTHON, default=False)
def publish(session: nox.Session) -> None:
    """The release's files, built, checked and published for rehearsal on a loopback index, then installed back.

    ``nox -s publish -- gateway-config`` (or ``-- bedrockgate-gateway-config/v0.1.0``: the tag must
    match the version in pyproject.toml) runs the release checks, builds the wheel and sdist into
    ``dist/release/``, ``twine check``s them, starts pypiserver on 127.0.0.1 with an upload password
    made for the run, ``uv publish``es the files to it, checks the hashes it serves, installs the
    package from it into a clean venv (its locked dependencies first; ``--offline``: from the uv
    cache) and imports it. The release workflow uploads the same files to PyPI.
    """
    try:
        args = _publish_args(session.posargs)
    except (argparse.ArgumentError, SystemExit) as error:  # argparse has printed what was wrong
        why = "see above" if isinstance(error, SystemExit) else str(error)
        session.error(
            f"bad arguments ({why}): nox -s publish -- <package or tag> [--out DIR] [--offline] [--rehearse-only]"
        )
    sync(session, "--only-group", "pipelines")
    try:
        package, tag = resolve(ROOT, args.target)
        report = check_release(ROOT, package.folder, publishing=tag)
        for line in report.problems:
            session.warn(line)
        if report.problems and not args.rehearse_only:
            session.error(
                f"{package.distribution} {package.version} is not ready for release "
                "(--rehearse-only rehearses the publication anyway)"
            )
        if args.out == RELEASE_FILES:
            shutil.rmtree(RELEASE_FILES, ignore_errors=True)  # ours: rebuilt on every run
        files = build(ROOT, package, args.out)
        session.run("twine", "check", "--strict", *map(str, files), silent=True)
        with tempfile.TemporaryDirectory(prefix="publish-") as work:
            python = str(Path(session.virtualenv.location) / "bin" / "python")
            rehearsal = rehearse(ROOT, package, files, Path(work), python=python, offline=args.offline)
    except PipelineError as error:
        session.error(str(error))
    figures = {
        "distribution": package.distribution,
        "version": package.version,
        "files": [path.name for path in files],
        "index": rehearsal.index,
        "upload_s": round(rehearsal.upload_s, 2),
        "install_and_import_s": round(rehearsal.install.seconds, 2),
        "imported_from": rehearsal.install.module_file,
    }
    session.log(json.dumps(figures))
    for note in report.notes:
        session.log(note)
    if report.problems:
        session.warn(f"rehearsed only: {package.distribution} {package.version} is not ready for release (above)")
        return
    session.log(
        f"rehearsed: {args.out} holds the files the release workflow uploads to PyPI when {report.tag} is pushed "
        f"(git tag {report.tag} && git push origin {report.tag})"
    )
