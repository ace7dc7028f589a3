"""Image mode: the ``podman run`` of the gateway image, built without starting anything."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import pytest
from bedrockgate.local_stack.cli import _gateway
from bedrockgate.local_stack.containers import (
    IMAGE_USER,
    RUNTIME_CONFIG,
    WRITABLE_PATHS,
    containers_conf,
    image_proxy,
    podman_environment,
)
from hypothesis import given, settings
from hypothesis import strategies as st

NAMES = st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True)
VALUES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=8, max_size=40)


@settings(max_examples=200, deadline=None)  # writes a file per example: no timing limit on a loaded machine
@given(environment=st.dictionaries(NAMES, VALUES, max_size=8), content=st.binary(max_size=100))
def test_variables_reach_the_container_by_name_only_and_the_config_digest_is_the_mounted_files(
    tmp_path_factory: pytest.TempPathFactory, environment: dict[str, str], content: bytes
) -> None:
    config = tmp_path_factory.mktemp("state") / "config.yaml"
    config.write_bytes(content)
    without = image_proxy("localhost/bedrockgate-gateway:x", config=config, port=4321, environment={}, name="p").argv
    spec = image_proxy("localhost/bedrockgate-gateway:x", config=config, port=4321, environment=environment, name="p")
    passed = [spec.argv[i + 1] for i, arg in enumerate(spec.argv) if arg == "--env"]
    assert set(passed) == set(environment) | {"BEDROCKGATE_CONFIG_SHA256"}
    # No value, secret or not, in the process list: the variables add `--env NAME` and nothing else.
    assert sorted(spec.argv) == sorted([*without, *[arg for name in environment for arg in ("--env", name)]])
    assert spec.env["BEDROCKGATE_CONFIG_SHA256"] == hashlib.sha256(content).hexdigest()
    assert all(spec.env[name] == value for name, value in environment.items())
    assert spec.env["CONTAINERS_CONF"] == str(containers_conf())


def test_the_container_runs_as_the_ecs_task_does(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("model_list: []\n", encoding="utf-8")
    argv = image_proxy("img", config=config, port=4100, environment={}, name="bedrockgate-proxy-4100").argv
    assert argv[:2] == ["podman", "run"]
    assert {"--rm", "--read-only", "--read-only-tmpfs=false", "--network=host"} <= set(argv)
    assert argv[argv.index("--user") + 1] == IMAGE_USER
    assert [argv[i + 1].split(":")[0] for i, a in enumerate(argv) if a == "--tmpfs"] == list(WRITABLE_PATHS)
    assert argv[argv.index("--volume") + 1] == f"{config.resolve()}:{RUNTIME_CONFIG}:ro"
    assert argv[argv.index("img") :] == ["img", "--config", RUNTIME_CONFIG, "--host", "127.0.0.1", "--port", "4100"]


def test_podmans_settings_are_the_projects_file_not_a_users() -> None:
    text = containers_conf().read_text(encoding="utf-8")
    assert 'runtime = "runc"' in text
    assert 'cgroup_manager = "cgroupfs"' in text
    assert "nofile=20000:20000" in text
    assert podman_environment({})["CONTAINERS_CONF"] == str(containers_conf())


def test_the_gateway_option_takes_venv_image_or_a_reference() -> None:
    assert _gateway("venv") is None
    assert str(_gateway("image=127.0.0.1:5555/bedrockgate-gateway@sha256:" + "a" * 64)).startswith("127.0.0.1:5555/")
    assert str(_gateway("image")).startswith("localhost/bedrockgate-gateway:latest-")
    for bad in ("docker", "image=", "imagex"):
        with pytest.raises(argparse.ArgumentTypeError, match="use venv, image or image=REF"):
            _gateway(bad)
