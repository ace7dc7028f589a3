"""Publishing: release tags, the release's files, the workflow, and a real round trip through a loopback index."""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from bedrockgate_pipeline import releases
from bedrockgate_pipeline.errors import PublishError
from bedrockgate_pipeline.publish import (
    build,
    local_index,
    rehearse,
    release_files,
    resolve,
    upload,
    workspace_packages,
)
from bedrockgate_pipeline.releases import check_release, parse_release_tag, release_tag
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version
from pipeline_helpers import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"

names = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}", fullmatch=True)
versions = st.builds(
    lambda release, pre, post, dev: str(Version(".".join(map(str, release)) + pre + post + dev)),
    st.lists(st.integers(0, 30), min_size=1, max_size=4),
    st.sampled_from(["", "a1", "b2", "rc3"]),
    st.sampled_from(["", ".post1"]),
    st.sampled_from(["", ".dev4"]),
)


@settings(max_examples=300, deadline=None)
@given(distribution=names, version=versions)
def test_every_release_tag_parses_back_to_its_distribution_and_version(distribution: str, version: str) -> None:
    assert parse_release_tag(release_tag(distribution, version)) == (distribution, version)


@settings(max_examples=300, deadline=None)
@given(tag=st.one_of(st.text(max_size=40), st.builds("{}/v{}".format, st.text(max_size=12), st.text(max_size=8))))
def test_any_text_is_a_release_tag_or_an_error_that_names_it(tag: str) -> None:
    try:
        distribution, version = parse_release_tag(tag)
    except PublishError as error:
        message = str(error)
    else:
        assert release_tag(distribution, version) == tag  # one tag per release: no aliases
        return
    assert repr(tag) in message
    assert "e.g. bedrockgate-gateway-config/v0.2.0" in message or "normal form" in message


def test_a_version_not_in_normal_form_is_refused_with_the_right_tag() -> None:
    with pytest.raises(PublishError, match=r"normal form: bedrockgate-evals/v1\.0\.0rc1"):
        parse_release_tag("bedrockgate-evals/v1.0.0-RC1")


def _glob(pattern: str) -> re.Pattern[str]:
    """A GitHub Actions filter pattern: ``*`` matches anything but ``/``, ``**`` anything."""
    parts = re.split(r"(\*\*|\*)", pattern)
    return re.compile("".join({"**": ".*", "*": "[^/]*"}.get(p, re.escape(p)) for p in parts))


def _workflow() -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return document


def _trigger_patterns() -> list[re.Pattern[str]]:
    on = _workflow()[True]  # YAML 1.1 reads the key `on` as a boolean
    assert set(on) == {"push"}, "only a pushed tag publishes"
    assert set(on["push"]) == {"tags"}
    return [_glob(p) for p in on["push"]["tags"]]


@settings(max_examples=200, deadline=None)
@given(folder=st.sampled_from(sorted(workspace_packages(ROOT))), version=versions)
def test_the_workflow_runs_on_every_workspace_release_tag(folder: str, version: str) -> None:
    distribution = workspace_packages(ROOT)[folder].distribution
    tag = release_tag(distribution, version)
    assert any(p.fullmatch(tag) for p in _trigger_patterns()), tag


@pytest.mark.parametrize("tag", ["v1.0.0", "bedrockgate-evals-1.0.0", "other/v1.0", "bedrockgate-evals/1.0"])
def test_the_workflow_ignores_tags_that_are_not_releases(tag: str) -> None:
    assert not any(p.fullmatch(tag) for p in _trigger_patterns())


def test_the_workflow_pins_its_actions_and_gives_the_oidc_token_only_to_the_upload() -> None:
    workflow = _workflow()
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    for name, job in jobs.items():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), f"{name}: {step['uses']}"
            if "actions/checkout@" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False
    with_token = [name for name, job in jobs.items() if job.get("permissions", {}).get("id-token") == "write"]
    assert with_token == ["pypi"]
    pypi = jobs["pypi"]
    assert pypi["environment"]["name"] == "pypi"
    commands = "\n".join(step.get("run", "") for step in pypi["steps"])
    assert "uv publish --trusted-publishing always" in commands
    assert "${{" not in commands, "expressions go through env, never into a script"
    build_commands = "\n".join(step.get("run", "") for step in jobs["build"]["steps"])
    assert 'nox -s publish -- "$TAG"' in build_commands  # the same session as here, on the pushed tag


def test_a_folder_name_or_its_tag_resolves_to_the_package() -> None:
    package, tag = resolve(ROOT, "gateway-config")
    assert (package.distribution, package.module, tag) == (
        "bedrockgate-gateway-config",
        "bedrockgate.gateway_config",
        None,
    )
    same, tag = resolve(ROOT, release_tag(package.distribution, package.version))
    assert same == package
    assert tag == release_tag(package.distribution, package.version)


def test_a_tag_for_another_version_says_what_pyproject_holds() -> None:
    package = workspace_packages(ROOT)["gateway-config"]
    with pytest.raises(
        PublishError, match=rf"packages/gateway-config/pyproject.toml says {re.escape(package.version)}"
    ):
        resolve(ROOT, "bedrockgate-gateway-config/v99.0.0")
    with pytest.raises(PublishError, match="not a workspace package"):
        resolve(ROOT, "bedrockgate-nothing/v1.0.0")
    with pytest.raises(PublishError, match=r"the packages are: .*gateway-config"):
        resolve(ROOT, "nothing")


def test_the_published_tag_is_not_counted_as_an_earlier_release(monkeypatch: pytest.MonkeyPatch) -> None:
    package = workspace_packages(ROOT)["gateway-config"]
    tag = release_tag(package.distribution, package.version)
    monkeypatch.setattr(releases, "run_git", lambda *_: tag + "\n")
    assert any("is not above the last release" in p for p in check_release(ROOT, "gateway-config").problems)
    assert not any("is not above" in p for p in check_release(ROOT, "gateway-config", publishing=tag).problems)


WHEELS = ["bedrockgate_evals-1.0.0-py3-none-any.whl", "bedrockgate_evals-1.0.0-py3-none-manylinux_2_17_x86_64.whl"]
SDIST = "bedrockgate_evals-1.0.0.tar.gz"
STRAYS = ["bedrockgate_evals-0.9.0-py3-none-any.whl", "bedrockgate_evals-1.0.0.zip", "other-1.0.0.tar.gz",
          "bedrockgate_evals-0.9.0.tar.gz", "notes.txt"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(present=st.sets(st.sampled_from([*WHEELS, SDIST, *STRAYS])))
def test_the_release_folder_holds_exactly_one_wheel_and_one_sdist(tmp_path_factory: Any, present: set[str]) -> None:
    out = tmp_path_factory.mktemp("out")
    (out / ".gitignore").write_text("*")  # uv build writes one; hidden files are never uploaded
    for name in present:
        (out / name).write_text("x")
    wheels = present & set(WHEELS)
    if len(wheels) == 1 and present == {*wheels, SDIST}:
        assert [p.name for p in release_files(out, "bedrockgate-evals", "1.0.0")] == [*wheels, SDIST]
    else:
        with pytest.raises(PublishError, match=r"exactly one wheel and one sdist of bedrockgate-evals 1\.0\.0"):
            release_files(out, "bedrockgate-evals", "1.0.0")


@pytest.fixture(scope="module")
def gateway_config_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build(ROOT, workspace_packages(ROOT)["gateway-config"], tmp_path_factory.mktemp("dist"))


def test_a_package_round_trips_through_a_loopback_index(
    tmp_path: Path, gateway_config_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    package = workspace_packages(ROOT)["gateway-config"]
    rehearsal = rehearse(ROOT, package, gateway_config_files, tmp_path, offline=True)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\npublish round trip: upload {rehearsal.upload_s:.1f} s, install+import "
              f"{rehearsal.install.seconds:.1f} s, total {elapsed:.1f} s")  # fmt: skip
    assert rehearsal.install.module_file.startswith(str(tmp_path / "venv"))
    assert rehearsal.install.module_file.endswith("bedrockgate/gateway_config/__init__.py")
    assert "Uploading bedrockgate_gateway_config-" in rehearsal.upload_output
    assert elapsed < 60


def test_uploads_need_the_password_and_a_rerun_uploads_nothing_twice(
    tmp_path: Path, gateway_config_files: tuple[Path, Path]
) -> None:
    with local_index(tmp_path) as index:
        with pytest.raises(
            PublishError,
            match=r"(?s)uv publish to http://127\.0\.0\.1:\d+/ failed \(the index refused the upload credentials.*403",
        ):
            upload(dataclasses.replace(index, password="wrong-password"), gateway_config_files)  # noqa: S106 -- a wrong one on purpose
        assert index.served("bedrockgate-gateway-config") == {}
        first = upload(index, gateway_config_files)
        again = upload(index, gateway_config_files)
        assert "Uploading" in first
        assert "Uploading" not in again  # --check-url: the index already has these exact files
        assert sorted(index.served("bedrockgate-gateway-config")) == sorted(p.name for p in gateway_config_files)
        log = index.log.read_text(encoding="utf-8", errors="replace")
    assert index.password not in first + again + log
    assert index.password not in repr(index)
