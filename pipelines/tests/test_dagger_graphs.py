"""The Dagger functions' container graphs, inspected without an engine (calls are lazy until awaited)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import dagger
import pytest
from bedrockgate_pipeline import containers, main
from bedrockgate_pipeline.deploy import deploy_context
from bedrockgate_pipeline.errors import UnpinnedImageError
from bedrockgate_pipeline.images import IMAGES, UNPINNED, Images, Pin
from bedrockgate_pipeline.main import Bedrockgate
from bedrockgate_pipeline.stages import STAGES, ci_stages, stage
from dagger import dag
from pipeline_helpers import ROOT

DIGEST = "sha256:" + "ab" * 32
PINNED = Images(python=Pin(f"docker.io/library/python:3.11-slim-bookworm@{DIGEST}", "https://example.org/record"))
BY_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
COMMIT = "c" * 40


def calls(container: dagger.Container | dagger.Directory | dagger.File) -> list[tuple[str, dict[str, Any]]]:
    """The chained API calls (the SDK's private selection list, wrapped here once)."""
    return [(field.name, dict(field.args)) for field in container._ctx.selections]


def execs(container: dagger.Container) -> list[list[str]]:
    return [list(args["args"]) for name, args in calls(container) if name == "withExec"]


def test_every_nox_stage_runs_its_session_in_the_pinned_python_image_with_a_uv_cache() -> None:
    for current in STAGES:
        if current.name in ("deploy", "bootstrap"):
            continue
        chain = calls(containers.nox_stage(dag.directory(), current, PINNED))
        froms = [args["address"] for name, args in chain if name == "from"]
        assert froms == [PINNED.python.reference]
        assert any(name == "withMountedCache" for name, _ in chain)
        assert chain[-1] == ("withExec", {"args": ["./dev", "nox", "-s", current.name]})
        [include] = [args["include"] for name, args in chain if name == "withDirectory"]
        assert set(current.inputs) <= set(include)
        assert "examples" in include  # the root symlink every package's configs are read through
        assert ".venv" not in include


def test_one_package_s_tests_run_that_package_only_once() -> None:
    """Defect: tests_stage ran every package's tests before each package's own (the suite six times in ci)."""
    nox_runs = [
        a for a in execs(containers.tests_stage(dag.directory(), stage("tests"), PINNED, "infra")) if "nox" in a
    ]
    assert nox_runs == [["./dev", "nox", "-s", "tests(package='infra')"]]


def test_ci_runs_exactly_the_ci_stages_in_order() -> None:
    """Both runners cover the same stages: the Dagger ci's steps are the in_ci stages, image and pipeline included."""
    assert list(main.CI_STEPS) == [s.name for s in ci_stages()]
    assert {"pipeline", "gateway_image", "supply_chain"} <= set(main.CI_STEPS)


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


def test_evaluate_measures_the_image_built_in_the_same_run_with_podman_nested_in_its_container() -> None:
    """Defect: the Dagger evaluate ran a session that reads the host's last-built image, absent in its container."""
    context, _ = main._image_variant(dag.directory(), "amd64")
    archive = containers.gateway_image(context, "amd64", {"REVISION": COMMIT}).as_tarball()
    chain = calls(containers.evaluate_stage(dag.directory(), stage("evaluate"), PINNED, archive))
    [(path, made)] = [(args["path"], args["source"]) for name, args in chain if name == "withFile"]
    assert path == f"{containers.WORKDIR}/{containers.IMAGE_ARCHIVE}"
    assert [name for name, _ in calls(made)][-2:] == ["dockerBuild", "asTarball"]
    name, args = chain[-1]
    assert name == "withExec"
    assert args["args"] == ["./dev", "nox", "-s", "evaluate", "--", "--image-archive", containers.IMAGE_ARCHIVE]
    assert args["insecureRootCapabilities"] is True  # it runs podman itself
    env = {a["name"]: a["value"] for n, a in chain if n == "withEnvVariable"}
    storage = env["CONTAINERS_STORAGE_CONF"]
    assert storage == f"{containers.WORKDIR}/{containers.NESTED_STORAGE}"
    assert 'driver = "vfs"' in (ROOT / containers.NESTED_STORAGE).read_text(encoding="utf-8")


def test_no_other_stage_runs_with_root_capabilities() -> None:
    for current in STAGES:
        if current.name in ("deploy", "bootstrap"):
            continue
        assert not any(args.get("insecureRootCapabilities") for _, args in calls(containers.nox_stage(
            dag.directory(), current, PINNED)))  # fmt: skip


def test_publishing_attaches_the_registry_credentials_as_a_secret_to_the_registry_host() -> None:
    chain = calls(containers.publishing("123456789012.dkr.ecr.eu-west-1.amazonaws.com/bedrockgate-gateway", "AWS",
                                       dag.set_secret("ecr", "token-value")))  # fmt: skip
    [args] = [a for name, a in chain if name == "withRegistryAuth"]
    assert args["address"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    assert args["username"] == "AWS"
    assert "token-value" not in repr(chain)


def _deploy(run_id: str = "1", allow_replace: tuple[str, ...] = ()) -> dagger.Container:
    secret_values = ("AKIAEXAMPLEKEY", "wJalrEXAMPLESECRET", "SESSIONTOKENEXAMPLE")
    credentials = {
        "aws_access_key_id": dag.set_secret("aws-id", secret_values[0]),
        "aws_secret_access_key": dag.set_secret("aws-key", secret_values[1]),
        "aws_session_token": dag.set_secret("aws-token", secret_values[2]),
    }
    context = deploy_context(gateway_image=f"registry.example/gateway@{DIGEST}", source_commit=COMMIT,
                             account="123456789012", region="eu-west-1")  # fmt: skip
    return containers.deploy_container(
        dag.directory(), PINNED, credentials, region="eu-west-1", settings="settings/prod.yaml", context=context,
        lambda_zip=dag.directory().file("lex-fulfillment.zip"), run_id=run_id, allow_replace=allow_replace,
    )  # fmt: skip


def test_deploy_passes_credentials_only_as_secrets() -> None:
    chain = calls(_deploy())
    secret_names = [args["name"] for name, args in chain if name == "withSecretVariable"]
    assert secret_names == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
    plain = repr([args for name, args in chain if name in ("withEnvVariable", "withExec")])
    assert not any(value in plain for value in ("AKIAEXAMPLEKEY", "wJalrEXAMPLESECRET", "SESSIONTOKENEXAMPLE"))
    assert "AWS_SECRET_ACCESS_KEY" not in [args.get("name") for name, args in chain if name == "withEnvVariable"]
    assert [args["address"] for name, args in chain if name == "from"] == [PINNED.python.reference]


def test_deploy_runs_the_infra_cli_from_the_root_with_the_published_digest_and_the_commit() -> None:
    """Defects: the app ran as `../../dev uv run ...` (./dev changes to the root: settings not found); no image."""
    preflight, synthesized, guarded, deployed = execs(_deploy(allow_replace=("Cache",)))[-4:]
    for command in (preflight, synthesized, guarded, deployed):
        assert command[:8] == ["./dev", "uv", "run", "--frozen", "--directory", "packages/infra", "--package",
                               "bedrockgate-infra"]  # fmt: skip
        assert "../../dev" not in command
    for command in (preflight, synthesized, deployed):
        assert f"gateway_image=registry.example/gateway@{DIGEST}" in command
        assert f"source_commit={COMMIT}" in command
        assert "account=123456789012" in command
    assert preflight[8:10] == ["bedrockgate-infra", "preflight"]
    # Synth once, guard that assembly against the deployed stacks, deploy that very assembly.
    assert synthesized[8:13] == ["bedrockgate-infra", "cdk", "synth", "--quiet", "--output"]
    assert guarded[8:] == ["bedrockgate-infra", "guard", "--synthesized", synthesized[13], "--from-aws",
                           "--allow-replace", "Cache"]  # fmt: skip
    assert deployed[8:14] == ["bedrockgate-infra", "cdk", "deploy", "--all", "--app", synthesized[13]]
    assert "../../dist/deploy-outputs.json" in deployed
    assert any(
        name == "withFile" and args["path"] == f"/src/{containers.LAMBDA_ZIP}" for name, args in calls(_deploy())
    )


def test_every_deploy_run_differs_before_its_execs_so_none_is_served_from_the_cache() -> None:
    """Defect: deploy was cache="never" but its `cdk deploy` exec had no cache-buster."""

    def busters(container: dagger.Container) -> list[str]:
        chain = calls(container)
        first_exec = max(
            i for i, (name, args) in enumerate(chain) if name == "withExec" and "preflight" in args["args"]
        )
        return [args["value"] for name, args in chain[:first_exec] if name == "withEnvVariable"
                and args["name"] == "BEDROCKGATE_DEPLOY_RUN"]  # fmt: skip

    assert busters(_deploy("1")) == ["1"]
    assert busters(_deploy("2")) == ["2"]
    assert main._run_id() != main._run_id()


def test_the_source_check_sees_git_and_runs_the_shared_dirty_tree_rule() -> None:
    chain = calls(containers.source_check(dag.directory(), PINNED))
    [include] = [args["include"] for name, args in chain if name == "withDirectory"]
    assert ".git" in include
    assert chain[-1] == ("withExec", {"args": ["./dev", "nox", "-s", "source"]})


def test_every_image_reference_is_by_digest_with_its_source() -> None:
    for pin in IMAGES.pins().values():
        assert BY_DIGEST.search(pin.reference), pin.reference
        assert not pin.reference.endswith(UNPINNED)
        assert re.fullmatch(r"https://github\.com/docker-library/repo-info/blob/[0-9a-f]{40}/repos/.+\.md", pin.source)
    IMAGES.require_pinned()


def test_functions_refuse_images_without_a_verified_digest() -> None:
    unpinned = Images(python=Pin(f"docker.io/library/python:3.11-slim@{UNPINNED}", "somewhere"))
    with pytest.raises(UnpinnedImageError, match=r"python \(docker.io/library/python:3.11-slim\)"):
        unpinned.require_pinned()
    with pytest.raises(UnpinnedImageError, match="no verified digest"):
        Images(python=Pin(PINNED.python.reference, "")).require_pinned()
    with pytest.raises(UnpinnedImageError, match="not a name:tag@sha256"):
        Images(python=Pin("python:3.11-slim", "somewhere")).require_pinned()


def test_the_module_s_functions_build_their_graphs_with_the_real_pins() -> None:
    """Defect: every function refused to run (zero digests). Now lint builds its graph; only the engine is missing."""
    with pytest.raises(Exception) as raised:  # noqa: PT011 -- any failure but the pin refusal
        asyncio.run(Bedrockgate().lint(dag.directory()))
    assert not isinstance(raised.value, UnpinnedImageError)


def test_what_talks_to_the_world_is_never_cached_and_the_rest_is() -> None:
    functions = vars(Bedrockgate)["__dagger_module__"]._objects["Bedrockgate"].functions
    policies = {name: getattr(function, "cache_policy", None) for name, function in functions.items()}
    never = {"deploy", "bootstrap", "verify", "rehearse"}
    assert {name for name, policy in policies.items() if str(policy).lower().endswith("never")} == never
    assert all(policy is None for name, policy in policies.items() if name not in never)


def test_verify_passes_the_gateway_key_as_a_secret_and_the_rehearsal_sees_the_whole_committed_tree() -> None:
    key = dag.set_secret("key", "sk-never-in-a-graph")
    graph = containers.verify_stage(dag.directory(), stage("verify"), PINNED, endpoint="https://gw.example",
                                    api_key=key, config="examples/agents-gateway.yaml", lex="B/A",
                                    run_id="1")  # fmt: skip
    chain = calls(graph)
    assert ("withSecretVariable", {"name": containers.GATEWAY_KEY, "secret": key}) in chain
    assert "sk-never-in-a-graph" not in repr(chain)
    assert chain[-1][1]["args"][-6:] == ["--api-key-env", containers.GATEWAY_KEY, "--config",
                                         "examples/agents-gateway.yaml", "--lex", "B/A"]  # fmt: skip
    rehearsal = calls(containers.rehearse_stage(dag.directory(), stage("rehearse"), PINNED, run_id="1"))
    [include] = [args["include"] for name, args in rehearsal if name == "withDirectory"]
    assert include == [".git", "*"]
    assert rehearsal[-1] == ("withExec", {"args": ["./dev", "nox", "-s", "rehearse"], "insecureRootCapabilities": True})


def test_bootstrap_bootstraps_every_listed_environment_then_deploys_the_registry_stack_alone() -> None:
    """Defect: nothing ran `cdk bootstrap`, and infra imported an ECR repository that nothing created."""
    credentials = {"aws_access_key_id": dag.set_secret("i", "x"), "aws_secret_access_key": dag.set_secret("k", "y")}
    bootstrap = containers.bootstrap_container(dag.directory(), PINNED, credentials, region=None,
                                               settings="settings/dev.yaml", context={}, run_id="7")  # fmt: skip
    loop, registry = execs(bootstrap)[-2:]
    assert "bedrockgate-infra environments --settings settings/dev.yaml" in loop[-1]
    assert "bedrockgate-infra cdk bootstrap" in loop[-1]
    assert registry[8:] == ["bedrockgate-infra", "cdk", "deploy", "--all", "--require-approval", "never",
                            "-c", "settings=settings/dev.yaml"]  # fmt: skip
    assert not any("gateway_image" in arg for arg in registry)
