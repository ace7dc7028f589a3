"""Publishing one package: the release's files, checked, rehearsed on a PyPI-compatible index, then uploaded.

``nox -s publish -- <package or tag>`` builds the wheel and sdist, checks them, and rehearses the
whole publication on loopback: a real index (pypiserver, with an upload password), ``uv publish``
to it, and an install back from it into a clean venv, then an import. The release workflow
(``.github/workflows/release.yml``) runs the same session on the pushed tag and uploads exactly the
rehearsed files to PyPI with trusted publishing (no stored token).

The rehearsal's dependencies: the package's third-party dependencies are installed first from the
lock's exact files (``uv export --format pylock.toml``: URLs and hashes; from the uv cache when
offline), then the package itself from the loopback index *without* ``--no-deps``, so its
published metadata is resolved against them. Workspace siblings it requires (infra needs
gateway-config) come from their freshly built wheels (``--find-links``), as they would from PyPI.
Nothing falls back to PyPI: the index is started with ``--disable-fallback``.
"""

from __future__ import annotations

import contextlib
import hashlib
import html.parser
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

from bedrockgate_pipeline.affected import workspace_graph
from bedrockgate_pipeline.errors import PublishError
from bedrockgate_pipeline.releases import parse_release_tag

PYTHON = "3.11"
PUBLISHER = "publisher"  # the loopback index's only user
# The htpasswd file, written by passlib (what pypiserver reads it with) in the server's interpreter;
# the password arrives in the environment, never on a command line.
_HTPASSWD = """
import os, sys
from passlib.apache import HtpasswdFile
passwords = HtpasswdFile(sys.argv[1], new=True)
passwords.set_password(sys.argv[2], os.environ["BEDROCKGATE_INDEX_PASSWORD"])
passwords.save()
"""
_IMPORT = """
import importlib, sys
module = importlib.import_module(sys.argv[1])
print(module.__file__)
"""


@dataclass(frozen=True)
class Package:
    """One workspace package as the release sees it."""

    folder: str  # packages/<folder>
    distribution: str
    version: str

    @property
    def module(self) -> str:
        """The import name: ``bedrockgate.<folder with _>``."""
        return "bedrockgate." + self.folder.replace("-", "_")


def workspace_packages(root: Path) -> dict[str, Package]:
    """Every package under ``packages/``, by folder name."""
    found = {}
    for path in sorted((root / "packages").glob("*/pyproject.toml")):
        project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
        found[path.parent.name] = Package(path.parent.name, project["name"], project["version"])
    return found


def resolve(root: Path, name_or_tag: str) -> tuple[Package, str | None]:
    """The package a folder name or a release tag names, and the tag (``None`` for a folder name).

    A tag must name a workspace distribution at exactly the version its pyproject.toml holds:
    the release workflow publishes what the tagged commit builds, nothing else.
    """
    packages = workspace_packages(root)
    if "/" not in name_or_tag:
        if name_or_tag not in packages:
            raise PublishError(f"no package {name_or_tag!r} under packages/; the packages are: {', '.join(packages)}")
        return packages[name_or_tag], None
    distribution, version = parse_release_tag(name_or_tag)
    by_distribution = {p.distribution: p for p in packages.values()}
    if distribution not in by_distribution:
        known = ", ".join(sorted(by_distribution))
        raise PublishError(f"tag {name_or_tag!r} names {distribution}, which is not a workspace package ({known})")
    package = by_distribution[distribution]
    if package.version != version:
        raise PublishError(
            f"tag {name_or_tag!r} is for version {version}, but packages/{package.folder}/pyproject.toml says "
            f"{package.version}: tag the commit whose pyproject.toml has {version}, or delete the tag"
        )
    return package, name_or_tag


def release_files(out: Path, distribution: str, version: str) -> tuple[Path, Path]:
    """The one wheel and the one sdist of ``distribution`` ``version`` in ``out``, and nothing else.

    The workflow uploads every file of that folder, so a stray file is an error, not a guess. Hidden
    files (``uv build`` writes a ``.gitignore``) are not uploaded: neither ``dist/release/*`` nor the
    artifact upload include them.
    """
    wheels, sdists, strays = [], [], []
    for path in sorted(p for p in out.iterdir() if p.is_file() and not p.name.startswith(".")):
        name, built = _parse_dist_filename(path.name)
        if name is None or name != distribution or built != version:
            strays.append(path.name)
        elif path.name.endswith(".whl"):
            wheels.append(path)
        else:
            sdists.append(path)
    if strays or len(wheels) != 1 or len(sdists) != 1:
        raise PublishError(
            f"{out} must hold exactly one wheel and one sdist of {distribution} {version}; it has "
            f"{len(wheels)} wheel(s), {len(sdists)} sdist(s) and other files {strays}: empty it and build again"
        )
    return wheels[0], sdists[0]


def _parse_dist_filename(filename: str) -> tuple[str | None, str | None]:
    """(normalised name, version) of a wheel or sdist file name; ``(None, None)`` for anything else."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return str(name), str(version)
        if filename.endswith(".tar.gz"):
            sdist_name, sdist_version = parse_sdist_filename(filename)
            return str(sdist_name), str(sdist_version)
    except (InvalidWheelFilename, InvalidSdistFilename):
        pass
    return None, None


def sha256(path: Path) -> str:
    """The file's SHA-256, as indexes publish it."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def run(argv: Sequence[str], *, what: str, env: Mapping[str, str] | None = None, timeout: float = 300,
        cwd: Path | None = None, secret: str | None = None) -> str:  # fmt: skip
    """A tool's stdout; a failure says which step failed and shows the tool's own output.

    ``secret`` (a password in ``env``) is blanked from anything shown, should a tool ever echo it.
    """
    try:
        done = subprocess.run(  # noqa: S603 -- fixed tool arguments built here
            list(argv), capture_output=True, text=True, env=dict(env) if env is not None else None,
            timeout=timeout, cwd=cwd, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as error:
        raise PublishError(f"{what}: still running after {timeout:.0f} s, stopped") from error
    except FileNotFoundError as error:
        raise PublishError(f"{what}: {argv[0]} is not installed or not on PATH (./dev puts uv there)") from error
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        if secret:
            output = output.replace(secret, "***")
        raise PublishError(f"{what} failed (exit {done.returncode}):\n{output[-3000:]}")
    return done.stdout


def uv() -> str:
    """The uv that runs everything here: the one on PATH (``./dev`` puts its pinned, hash-checked uv first)."""
    found = shutil.which("uv")
    if found is None:
        raise PublishError("uv is not on PATH: run this through ./dev (e.g. ./dev nox -s publish -- gateway-config)")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class LocalIndex:
    """A running PyPI-compatible index on 127.0.0.1: uploads need the password, downloads do not."""

    url: str
    packages: Path
    log: Path
    username: str
    password: str = field(repr=False)

    @property
    def simple_url(self) -> str:
        """The simple repository API (PEP 503), for ``--index-url``."""
        return f"{self.url}/simple/"

    @property
    def upload_url(self) -> str:
        """The legacy upload API, for ``uv publish --publish-url``."""
        return f"{self.url}/"

    def served(self, distribution: str) -> dict[str, str]:
        """File name -> SHA-256, as the index lists them for ``distribution``."""
        try:
            with urllib.request.urlopen(f"{self.simple_url}{distribution}/", timeout=10) as response:  # noqa: S310 -- our loopback index
                page = response.read().decode()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return {}
            raise PublishError(f"the index at {self.url} answered {error.code} for {distribution}") from error
        links = _Links()
        links.feed(page)
        return links.files


class _Links(html.parser.HTMLParser):
    """The file links of a PEP 503 page and their ``#sha256=`` fragments."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            parsed = urllib.parse.urlsplit(href)
            name = urllib.parse.unquote(parsed.path.rsplit("/", 1)[-1])
            algorithm, _, digest = parsed.fragment.partition("=")
            self.files[name] = digest if algorithm == "sha256" else ""


@contextlib.contextmanager
def local_index(workdir: Path, *, python: str = sys.executable, timeout: float = 30) -> Iterator[LocalIndex]:
    """Pypiserver on a free loopback port, serving ``workdir/packages``; stopped on exit.

    ``python`` must have ``pypiserver[passlib]`` (the pipelines dependency group). Uploads are
    authenticated with a password made for this run; PyPI is never consulted (``--disable-fallback``).
    """
    packages = workdir / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24)
    htpasswd = workdir / "htpasswd"
    env = {**os.environ, "BEDROCKGATE_INDEX_PASSWORD": password}
    run([python, "-c", _HTPASSWD, str(htpasswd), PUBLISHER], what="writing the index's htpasswd", env=env)
    port = _free_port()
    index = LocalIndex(f"http://127.0.0.1:{port}", packages, workdir / "index.log", PUBLISHER, password)
    argv = [python, "-m", "pypiserver", "run", "--host", "127.0.0.1", "--port", str(port),
            "--authenticate", "update", "--passwords", str(htpasswd), "--disable-fallback",
            "--hash-algo", "sha256", "--server", "wsgiref", str(packages)]  # fmt: skip
    with index.log.open("wb") as log:
        server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # noqa: S603 -- fixed arguments
    try:
        _wait_healthy(index, server, timeout)
        yield index
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_healthy(index: LocalIndex, server: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{index.url}/health", timeout=2) as response:  # noqa: S310 -- our loopback index
                if response.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            tail = index.log.read_text(encoding="utf-8", errors="replace")[-2000:]
            state = (
                f"exited with {server.returncode}" if server.poll() is not None else f"not healthy in {timeout:.0f} s"
            )
            raise PublishError(
                f"the loopback index (pypiserver) {state}; is the pipelines group installed "
                f"(./dev nox -s publish does it)? Its log ({index.log}):\n{tail}"
            )
        time.sleep(0.1)


def upload(index: LocalIndex, files: Sequence[Path]) -> str:
    """``uv publish`` the files to the index, with its credentials in the environment; uv's output.

    ``--check-url`` makes a rerun idempotent: a file the index already has with the same hash is skipped.
    """
    # The upload goes to loopback: an offline setting (UV_OFFLINE, as in the harness) must not refuse it.
    env = _without_offline() | {"UV_PUBLISH_USERNAME": index.username, "UV_PUBLISH_PASSWORD": index.password}
    argv = [uv(), "publish", "--no-config", "--publish-url", index.upload_url, "--check-url", index.simple_url,
            "--trusted-publishing", "never", *map(str, files)]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)  # noqa: S603
    except subprocess.TimeoutExpired as error:
        raise PublishError(f"uv publish to {index.upload_url} did not finish in 120 s") from error
    output = (done.stdout + done.stderr).replace(index.password, "***")
    if done.returncode != 0:
        refused = any(f"status code {code}" in output for code in (401, 403))
        hint = " (the index refused the upload credentials, UV_PUBLISH_USERNAME/UV_PUBLISH_PASSWORD)" if refused else ""
        raise PublishError(f"uv publish to {index.upload_url} failed{hint} (exit {done.returncode}):\n{output[-3000:]}")
    return output


def verify_served(index: LocalIndex, distribution: str, files: Sequence[Path]) -> None:
    """The index lists each file under ``distribution`` with the SHA-256 of the file that was uploaded."""
    served = index.served(distribution)
    for path in files:
        if served.get(path.name) != sha256(path):
            raise PublishError(
                f"the index at {index.url} does not serve {path.name} with the uploaded file's SHA-256 "
                f"(it lists {sorted(served) or 'nothing'}): the upload did not land; see {index.log}"
            )


@dataclass(frozen=True)
class Installed:
    """What the install from the index produced."""

    venv: Path
    module_file: str
    seconds: float


def _without_offline() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "UV_OFFLINE"}


def install_from_index(root: Path, index: LocalIndex, package: Package, venv: Path, *,
                       siblings: Path | None = None, offline: bool = False) -> Installed:  # fmt: skip
    """A clean venv: the lock's dependencies, then the package from ``index``, ``uv pip check``, an import.

    ``siblings``: a folder of built wheels for the workspace packages it requires.
    ``offline``: the lock's dependency files come from the uv cache only (no network at all).
    """
    started = time.monotonic()
    tool = uv()
    quiet = ["--quiet", "--no-config"]
    run([tool, "venv", *quiet, "--python", PYTHON, str(venv)], what=f"creating the venv {venv}", timeout=120)
    python = str(venv / "bin" / "python")
    pylock = venv.parent / "pylock.toml"  # uv insists on this name (PEP 751)
    run([tool, "export", "--quiet", "--frozen", "--package", package.distribution, "--no-emit-workspace", "--no-dev",
         "--format", "pylock.toml", "--output-file", str(pylock)], what="exporting the lock's dependencies",
        cwd=root)  # fmt: skip
    network = ["--offline"] if offline else []
    run([tool, "pip", "install", *quiet, *network, "--python", python, "-r", str(pylock)],
        what=f"installing {package.distribution}'s locked dependencies" + (" from the uv cache" if offline else ""),
        timeout=600)  # fmt: skip
    links = ["--find-links", str(siblings)] if siblings else []
    run([tool, "pip", "install", *quiet, "--python", python, "--index-url", index.simple_url, *links,
         f"{package.distribution}=={package.version}"],
        what=f"installing {package.distribution} {package.version} from {index.simple_url}",
        env=_without_offline())  # the index is on loopback: an offline setting must not refuse it  # fmt: skip
    run([tool, "pip", "check", *quiet, "--python", python], what=f"checking {venv}'s requirements")
    module_file = run([python, "-I", "-c", _IMPORT, package.module], what=f"importing {package.module}").strip()
    if not Path(module_file).is_relative_to(venv):
        raise PublishError(f"{package.module} imported from {module_file}, not from {venv}: the install did not take")
    return Installed(venv, module_file, time.monotonic() - started)


def build(root: Path, package: Package, out: Path) -> tuple[Path, Path]:
    """``uv build --no-sources`` of the package's wheel and sdist into ``out`` (which must be empty)."""
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise PublishError(f"{out} is not empty: the release's files are built into an empty folder; remove it first")
    run([uv(), "build", "--quiet", "--package", package.distribution, "--no-sources", "--out-dir", str(out)],
        what=f"building {package.distribution}", cwd=root)  # fmt: skip
    return release_files(out, package.distribution, package.version)


def build_siblings(root: Path, package: Package, out: Path) -> list[str]:
    """Wheels of the workspace packages ``package`` requires (transitively), built into ``out``."""
    graph = workspace_graph(root)
    needed: set[str] = set()
    pending = list(graph.get(package.folder, ()))
    while pending:
        folder = pending.pop()
        if folder not in needed:
            needed.add(folder)
            pending.extend(graph.get(folder, ()))
    packages = workspace_packages(root)
    for folder in sorted(needed):
        run([uv(), "build", "--quiet", "--wheel", "--package", packages[folder].distribution, "--no-sources",
             "--out-dir", str(out)], what=f"building {packages[folder].distribution}", cwd=root)  # fmt: skip
    return sorted(needed)


@dataclass(frozen=True)
class Rehearsal:
    """The figures of one publication on the loopback index."""

    files: tuple[Path, Path]
    index: str
    upload_s: float
    install: Installed
    upload_output: str


def rehearse(root: Path, package: Package, files: tuple[Path, Path], workdir: Path, *,
             python: str = sys.executable, offline: bool = False) -> Rehearsal:  # fmt: skip
    """Upload ``files`` to a fresh loopback index, check what it serves, install from it and import."""
    siblings = workdir / "siblings"
    siblings.mkdir(parents=True, exist_ok=True)
    build_siblings(root, package, siblings)
    with local_index(workdir / "index", python=python) as index:
        started = time.monotonic()
        output = upload(index, files)
        upload_s = time.monotonic() - started
        verify_served(index, package.distribution, files)
        installed = install_from_index(root, index, package, workdir / "venv", siblings=siblings, offline=offline)
    return Rehearsal(files, index.url, upload_s, installed, output)
