"""The Dagger functions' container graphs, inspected without an engine (calls are lazy until awaited)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import dagger
import pytest
from bedrockgate_pipeline import containers
from bedrockgate_pipeline.errors import UnpinnedImageError
from bedrockgate_pipeline.images import IMAGES, UNPINNED, Images
from bedrockgate_pipeline.main import Bedrockgate
from bedrockgate_pipeline.stages import STAGES, stage
from dagger import dag

DIGEST = "sha256:" + "ab" * 32
PINNED = Images(
    python=f"docker.io/library/python:3.11-slim@{DIGEST}",
    node=f"docker.io/library/node:22-slim@{DIGEST}",
)
BY_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def calls(container: dagger.Container) -> list[tuple[str, dict[str, Any]]]:
    """The chained API calls (the SDK's private selection list, wrapped here once)."""
    return [(field.name, dict(field.args)) for field in container._ctx.selections]


def test_every_nox_stage_runs_its_session_in_the_pinned_python_image_with_a_uv_cache() -> None:
    for current in STAGES:
        if current.name in ("deploy",):
            continue
        chain = calls(containers.nox_stage(dag.directory(), current, PINNED))
        froms = [args["address"] for name, args in chain if name == "from"]
        assert froms == [PINNED.python]
        assert any(name == "withMountedCache" for name, _ in chain)
        assert chain[-1] == ("withExec", {"args": ["./dev", "nox", "-s", current.name]})
        [include] = [args["include"] for name, args in chain if name == "withDirectory"]
        assert set(current.inputs) <= set(include)
        assert ".venv" not in include


def test_the_gateway_image_is_built_from_our_recipe_for_the_asked_platform_and_smoke_tested() -> None:
    image = containers.gateway_image(dag.directory(), "arm64", {"REVISION": "abc", "BASE_SHA256": "0" * 64})
    chain = calls(image)
    assert not any(name == "from" for name, _ in chain)  # nothing pulled: the Containerfile starts FROM scratch
    [args] = [a for n, a in chain if n == "dockerBuild"]
    assert args["dockerfile"] == "Containerfile"
    assert args["platform"] == "linux/arm64"
    assert [(arg["name"], arg["value"]) for arg in args["buildArgs"]] == [
        ("BASE_SHA256", "0" * 64),
        ("REVISION", "abc"),
    ]
    smoke = calls(containers.smoke_test(image, PINNED))
    assert any(name == "withServiceBinding" and args["alias"] == "gateway" for name, args in smoke)
    assert "/health/liveliness" in smoke[-1][1]["args"][-1]


def test_deploy_passes_credentials_only_as_secrets() -> None:
    secret_values = ("AKIAEXAMPLEKEY", "wJalrEXAMPLESECRET", "SESSIONTOKENEXAMPLE")
    container = containers.deploy_container(
        dag.directory(), PINNED,
        aws_access_key_id=dag.set_secret("aws-id", secret_values[0]),
        aws_secret_access_key=dag.set_secret("aws-key", secret_values[1]),
        aws_session_token=dag.set_secret("aws-token", secret_values[2]),
        region="eu-west-1", settings="settings/prod.yaml", gateway_image=f"registry/gateway@{DIGEST}",
    )  # fmt: skip
    chain = calls(container)
    secret_names = [args["name"] for name, args in chain if name == "withSecretVariable"]
    assert secret_names == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
    plain = repr([args for name, args in chain if name in ("withEnvVariable", "withExec")])
    assert not any(value in plain for value in secret_values)
    assert "AWS_SECRET_ACCESS_KEY" not in [args.get("name") for name, args in chain if name == "withEnvVariable"]
    assert [args["address"] for name, args in chain if name == "from"] == [PINNED.node]
    assert "deploy" in chain[-1][1]["args"]


def test_every_image_reference_is_by_digest() -> None:
    for reference in IMAGES.references().values():
        assert BY_DIGEST.search(reference), reference


def test_functions_refuse_images_without_a_verified_digest() -> None:
    assert IMAGES.python.endswith(UNPINNED), "pinned now? then this test should check the refusal differently"
    with pytest.raises(UnpinnedImageError, match=r"python \(docker.io/library/python:3.11-slim\)"):
        asyncio.run(Bedrockgate().lint(dag.directory()))
    PINNED.require_pinned()
    with pytest.raises(UnpinnedImageError, match="not a name:tag@sha256"):
        Images(python="python:3.11-slim", node=PINNED.node).require_pinned()


def test_deploy_is_never_cached_and_the_rest_are() -> None:
    functions = vars(Bedrockgate)["__dagger_module__"]._objects["Bedrockgate"].functions
    policies = {name: getattr(function, "cache_policy", None) for name, function in functions.items()}
    assert str(policies["deploy"]).lower().endswith("never")
    assert all(policy is None for name, policy in policies.items() if name != "deploy")
    assert stage("deploy").function == "deploy"
