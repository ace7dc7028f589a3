"""The Dagger module has a lock (defect: its runtime installed dependencies unpinned), and it agrees with uv.lock."""

from __future__ import annotations

import tomllib

from bedrockgate_pipeline import dagger_lock
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_helpers import ROOT

MODULE_LOCK = ROOT / "pipelines" / "dagger" / "uv.lock"


def test_the_module_lock_pins_every_package_at_the_workspace_lock_s_version_with_hashes() -> None:
    assert dagger_lock.disagreements(ROOT / "uv.lock", MODULE_LOCK) == []
    packages = tomllib.loads(MODULE_LOCK.read_text(encoding="utf-8"))["package"]
    registry = [p for p in packages if "registry" in p.get("source", {})]
    assert len(registry) > 20
    for package in registry:
        files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        assert files, package["name"]
        assert all(f["hash"].startswith("sha256:") for f in files), package["name"]
    assert {p["name"] for p in registry} >= {"anyio", "cattrs", "gql", "httpx", "opentelemetry-sdk", "packaging"}


def test_the_sdk_stub_declares_what_the_workspace_locks_for_that_dagger_io() -> None:
    pyproject = (ROOT / "pipelines" / "dagger" / "pyproject.toml").read_text(encoding="utf-8")
    version = dagger_lock.dagger_io_version(pyproject)
    stub = tomllib.loads(dagger_lock.sdk_stub(ROOT / "uv.lock", version))
    locked = {p["name"]: p for p in tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))["package"]}
    expected = {d["name"] for d in locked["dagger-io"]["dependencies"]}
    assert {d.split("[")[0] for d in stub["project"]["dependencies"]} == expected
    [module_entry] = [p for p in tomllib.loads(MODULE_LOCK.read_text(encoding="utf-8"))["package"]
                      if p["name"] == "dagger-io"]  # fmt: skip
    assert {d["name"] for d in module_entry["dependencies"]} == expected


VERSIONS = st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True),
                           st.from_regex(r"[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True), max_size=8)  # fmt: skip


@settings(max_examples=200)
@given(first=VERSIONS, second=VERSIONS)
def test_regenerating_the_constraints_replaces_them_and_keeps_the_rest(
    first: dict[str, str], second: dict[str, str]
) -> None:
    original = '[project]\nname = "m"\nversion = "0"\ndependencies = ["dagger-io==0.21.11"]\n'
    once = dagger_lock.with_constraints(original, first)
    twice = dagger_lock.with_constraints(once, second)
    parsed = tomllib.loads(twice)
    assert parsed["project"]["dependencies"] == ["dagger-io==0.21.11"]
    assert parsed["tool"]["uv"]["constraint-dependencies"] == [f"{n}=={v}" for n, v in sorted(second.items())]
    assert twice == dagger_lock.with_constraints(original, second)
