"""The image's wheel set: the lock's closure for the target platform, each package's best wheel."""

from __future__ import annotations

from pathlib import Path

import pytest
from bedrockgate_pipeline.errors import ImageBuildError
from bedrockgate_pipeline.image.wheels import Target, choose_wheels, closure, select_for_target
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.tags import Tag
from packaging.utils import parse_wheel_filename

ROOT = Path(__file__).resolve().parents[2]
TARGETS = [Target("amd64", (3, 11, 2), (2, 36)), Target("arm64", (3, 11, 2), (2, 36))]
MACHINES = ["x86_64", "aarch64", "AMD64", "arm64", "ppc64le"]


@st.composite
def requirement_lines(draw: st.DrawFn) -> tuple[list[str], dict[str, set[str]]]:
    """Lines like uv export's, and per package the machines its marker admits."""
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), min_size=1, max_size=8, unique=True))
    lines, admits = [], {}
    for name in names:
        machines = draw(st.sets(st.sampled_from(MACHINES), max_size=3))
        version = f"{draw(st.integers(0, 9))}.{draw(st.integers(0, 9))}"
        if machines:
            marker = " or ".join(f"platform_machine == '{m}'" for m in sorted(machines))
            lines.append(f"{name}=={version} ; {marker}")
            admits[name] = machines
        else:
            lines.append(f"{name}=={version}")
            admits[name] = set(MACHINES)
    return lines, admits


@settings(max_examples=200)
@given(requirement_lines(), st.sampled_from(TARGETS))
def test_a_package_is_selected_exactly_when_its_marker_holds_on_the_target_not_on_this_machine(
    case: tuple[list[str], dict[str, set[str]]], target: Target
) -> None:
    lines, admits = case
    chosen = select_for_target(lines, target)
    assert set(chosen) == {name for name, machines in admits.items() if target.machine in machines}


def test_python_version_markers_are_evaluated_for_debians_interpreter() -> None:
    lines = ["async-timeout==5.0.1 ; python_full_version < '3.11.3'", "tomli==2.0 ; python_full_version >= '3.12'"]
    assert select_for_target(lines, TARGETS[0]) == {"async-timeout": "5.0.1"}


def _lock(tmp_path: Path, wheels: list[str]) -> Path:
    entries = ",\n".join(
        f'{{ url = "https://files.example/{name}", hash = "sha256:{index:064x}" }}' for index, name in enumerate(wheels)
    )
    path = tmp_path / "uv.lock"
    path.write_text(f'[[package]]\nname = "demo"\nversion = "1.0"\nwheels = [\n{entries}\n]\n', encoding="utf-8")
    return path


PLATFORMS = [
    "manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_39_x86_64", "musllinux_1_2_x86_64",
    "manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_39_aarch64", "macosx_11_0_arm64", "win_amd64",
    "any",
]  # fmt: skip


@settings(max_examples=200)
@given(
    st.lists(st.tuples(st.sampled_from(["cp311", "cp310", "cp312", "py3"]), st.sampled_from(PLATFORMS)),
             min_size=1, max_size=6, unique=True),
    st.sampled_from(TARGETS),
)  # fmt: skip
def test_the_chosen_wheel_runs_on_the_target_and_no_compatible_wheel_ranks_higher(
    tmp_path_factory: pytest.TempPathFactory, builds: list[tuple[str, str]], target: Target
) -> None:
    filenames = []
    for python, platform in builds:
        abi = "none" if python == "py3" else python
        filenames.append(f"demo-1.0-{python}-{abi}-{platform}.whl")
    lock = _lock(tmp_path_factory.mktemp("lock"), filenames)
    rank = {tag: index for index, tag in enumerate(target.tags())}

    def best(filename: str) -> int | None:
        tags: frozenset[Tag] = parse_wheel_filename(filename)[3]
        return min((rank[t] for t in tags if t in rank), default=None)

    compatible = [name for name in filenames if best(name) is not None]
    if not compatible:
        with pytest.raises(ImageBuildError, match="no wheel for linux/"):
            choose_wheels(lock, {"demo": "1.0"}, target)
        return
    [wheel] = choose_wheels(lock, {"demo": "1.0"}, target)
    assert wheel.filename in compatible
    assert best(wheel.filename) == min(best(name) or 0 for name in compatible)
    assert "musllinux" not in wheel.filename
    assert "manylinux_2_39" not in wheel.filename  # newer than the base's glibc 2.36


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.architecture)
def test_the_real_lock_has_a_wheel_of_the_targets_architecture_for_every_package_of_the_image(target: Target) -> None:
    packages = closure(ROOT, target)
    assert {"litellm", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"} <= set(packages)
    wheels = choose_wheels(ROOT / "uv.lock", packages, target)
    assert {w.name for w in wheels} == set(packages)
    other = "aarch64" if target.machine == "x86_64" else "x86_64"
    assert not [w.filename for w in wheels if other in w.filename]
    assert all(len(w.sha256) == 64 for w in wheels)
