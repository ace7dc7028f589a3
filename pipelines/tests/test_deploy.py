"""The deploy path: only a published digest, commands from the root, and the digest reaches the task definition."""

from __future__ import annotations

import json
import re

import pytest
from bedrockgate_pipeline import deploy
from bedrockgate_pipeline.errors import PipelineError
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_helpers import ROOT, Synthesized

HEX = st.text("0123456789abcdef", min_size=64, max_size=64)
HOSTS = st.sampled_from(["127.0.0.1:5555", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "registry.example"])


@settings(max_examples=300)
@given(host=HOSTS, digest=HEX, tag=st.from_regex(r"[a-z0-9.]{1,8}", fullmatch=True))
def test_deploy_takes_a_pushed_digest_and_nothing_else(host: str, digest: str, tag: str) -> None:
    """Defect: deploy took any string as the image."""
    reference = f"{host}/bedrockgate-gateway@sha256:{digest}"
    if digest == "0" * 64:
        with pytest.raises(deploy.ImageReferenceError, match="placeholder"):
            deploy.published_image(reference)
    else:
        assert deploy.published_image(reference) == reference
    for bad in (f"{host}/bedrockgate-gateway:{tag}", f"bedrockgate-gateway@sha256:{digest}", f"{reference} "):
        with pytest.raises(deploy.ImageReferenceError, match="REGISTRY/REPOSITORY@sha256"):
            deploy.published_image(bad)


@settings(max_examples=200)
@given(context=st.dictionaries(st.sampled_from(["account", "region", "gateway_image", "source_commit"]),
                               st.from_regex(r"[a-z0-9:/@.-]{1,20}", fullmatch=True)))  # fmt: skip
def test_every_command_runs_the_infra_cli_from_the_root_with_every_context_value(context: dict[str, str]) -> None:
    """Defect: the app ran as `../../dev uv run ...`, and ./dev changes to the root: settings/dev.yaml not found."""
    for command in (deploy.deploy(settings="settings/dev.yaml", context=context, outputs="o.json"),
                    deploy.infra("preflight", settings="settings/dev.yaml", context=context)):  # fmt: skip
        assert command[:6] == ["./dev", "uv", "run", "--frozen", "--directory", deploy.INFRA]
        pairs = {command[i + 1] for i, arg in enumerate(command) if arg == "-c"}
        assert {f"{k}={v}" for k, v in context.items()} <= pairs
    assert (ROOT / "dev").is_file()
    assert deploy.settings_path(ROOT, "settings/dev.yaml").is_file()
    with pytest.raises(PipelineError, match="not found"):
        deploy.settings_path(ROOT, "settings/nope.yaml")


def test_a_deploy_synthesizes_once_guards_that_assembly_and_deploys_it_with_every_allowance() -> None:
    """The replacement guard reads the assembly that `cdk deploy --app` then deploys: no second synth between."""
    context = {"gateway_image": "r.example/g@sha256:" + "ab" * 32, "source_commit": "c" * 40}
    allowed = ["Cache", "bedrockgate-dev-data/DatabaseB269D8BB"]
    synth, guarded, deployed = deploy.guarded_deploy(
        settings="settings/dev.yaml", context=context, outputs="o.json", allow_replace=allowed
    )
    assert synth[8:14] == ["bedrockgate-infra", "cdk", "synth", "--quiet", "--output", deploy.ASSEMBLY]
    assert guarded[8:] == ["bedrockgate-infra", "guard", "--synthesized", deploy.ASSEMBLY, "--from-aws",
                           "--allow-replace", allowed[0], "--allow-replace", allowed[1]]  # fmt: skip
    assert deployed[8:14] == ["bedrockgate-infra", "cdk", "deploy", "--all", "--app", deploy.ASSEMBLY]
    for command in (synth, deployed):
        assert {"settings=settings/dev.yaml", f"gateway_image={context['gateway_image']}"} <= set(command)
    for bad in ("--all", "Cache X", "a/b/c", "", "-c"):
        with pytest.raises(PipelineError, match="LOGICAL_ID"):
            deploy.guard(allow_replace=[bad])


def test_the_context_needs_a_commit_and_a_published_image() -> None:
    image = "127.0.0.1:5555/bedrockgate-gateway@sha256:" + "ab" * 32
    assert deploy.deploy_context(gateway_image=image, source_commit="c" * 40, region="eu-west-1") == {
        "gateway_image": image, "source_commit": "c" * 40, "region": "eu-west-1",
    }  # fmt: skip
    with pytest.raises(PipelineError, match="40-hex"):
        deploy.deploy_context(gateway_image=image, source_commit="HEAD")
    with pytest.raises(PipelineError, match="12-digit"):
        deploy.bootstrap("aws://111/us-east-1", settings="settings/dev.yaml", context={})


def test_the_published_digest_and_the_commit_reach_the_synthesized_task_definition(synthesized: Synthesized) -> None:
    """The deploy's own command (synth instead of deploy, synth-only so no AWS): what the ECS task would run."""
    out, image, commit = synthesized.out, synthesized.image, synthesized.commit
    [template] = out.glob("*-gateway.template.json")
    resources = json.loads(template.read_text(encoding="utf-8"))
    images = [container["Image"] for resource in resources["Resources"].values()
              if resource["Type"] == "AWS::ECS::TaskDefinition"
              for container in resource["Properties"]["ContainerDefinitions"]]  # fmt: skip
    # The gateway's task and the database migration's (infra, issue 18) run the one published image.
    assert len(images) == 2
    assert set(images) == {image}
    assert resources["Outputs"]["SourceCommit"]["Value"] == commit
    assert re.search(r"bedrockgate-\w+-registry", " ".join(p.name for p in out.iterdir()))
