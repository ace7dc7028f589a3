"""The two sides the replacement guard compares: the templates to deploy and the deployed ones.

The templates to deploy are the stacks of a synthesized cloud assembly (``cdk.out``: its
``manifest.json`` names each stack, its environment and its template file). The deployed ones come
either from a directory (offline: ``<stack>.template.json`` files, such as an earlier ``cdk.out``)
or from CloudFormation itself (``GetTemplate`` of each stack, in the stack's own Region; boto3 honours
``AWS_ENDPOINT_URL``, so an emulator on loopback answers too). A stack that is not deployed yet has
no deployed template: every resource in it is a create.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bedrockgate.infra.exceptions import TemplateSourceError
from bedrockgate.infra.target import aws_client

__all__ = [
    "AssemblyStack",
    "CloudFormationClient",
    "assembly_stacks",
    "deployed_from_cloudformation",
    "deployed_from_directory",
    "read_template",
]

_STACK_ARTIFACT: Final = "aws:cloudformation:stack"
_UNKNOWN_REGION: Final = "unknown-region"
_NOT_DEPLOYED: Final = frozenset({"REVIEW_IN_PROGRESS"})
"""A stack made for a change set that never ran holds nothing yet (the CDK CLI treats it as absent)."""

CloudFormationClient = Callable[[str | None], Any]
"""A CloudFormation client for a Region (None: the default one); boto3's clients carry no types."""


@dataclass(frozen=True, slots=True)
class AssemblyStack:
    """One stack of a cloud assembly: its name, Region (None when environment-agnostic) and template."""

    name: str
    region: str | None
    template_file: Path

    def template(self) -> dict[str, Any]:
        """The synthesized template."""
        return read_template(self.template_file)


def read_template(path: Path) -> dict[str, Any]:
    """A JSON template file (what CDK writes and deploys)."""
    try:
        template = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateSourceError(f"template {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TemplateSourceError(f"template {path} is not a readable JSON template: {error}") from None
    if not isinstance(template, dict):
        raise TemplateSourceError(f"template {path} is JSON but not a template (an object with Resources)")
    return template


def assembly_stacks(assembly: Path) -> list[AssemblyStack]:
    """Every stack of a synthesized cloud assembly, in the manifest's order."""
    manifest_path = assembly / "manifest.json"
    if not manifest_path.is_file():
        raise TemplateSourceError(
            f"{assembly} is not a cloud assembly (no manifest.json): synthesize first, e.g. "
            f"`bedrockgate-infra cdk synth --quiet --output {assembly}`, and pass that directory"
        )
    manifest = read_template(manifest_path)
    stacks: list[AssemblyStack] = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") == "cdk:cloud-assembly":
            raise TemplateSourceError(
                f"{manifest_path}: artifact {artifact_id} is a nested cloud assembly (a CDK Stage), which the "
                "replacement guard does not read: guard each stage's assembly directory on its own"
            )
        if artifact.get("type") != _STACK_ARTIFACT:
            continue
        properties = artifact.get("properties", {})
        region = str(artifact.get("environment", "")).rpartition("/")[2] or None
        stacks.append(
            AssemblyStack(
                name=str(properties.get("stackName") or artifact_id),
                region=None if region == _UNKNOWN_REGION else region,
                template_file=assembly / str(properties["templateFile"]),
            )
        )
    if not stacks:
        raise TemplateSourceError(f"{manifest_path} names no CloudFormation stack: is this the app's assembly?")
    return stacks


def deployed_from_directory(source: Path, stacks: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    """Each stack's deployed template from ``source``: a cloud assembly, a directory or one file.

    In a directory, stack ``S``'s template is ``S.template.json`` (or ``S.json``); a stack with neither is
    not deployed. A single file is ``S.template.json`` or ``S.json`` of one stack.
    """
    names = list(stacks)
    if source.is_file():
        stem = source.name.removesuffix(".json").removesuffix(".template")
        if stem not in names:
            raise TemplateSourceError(
                f"deployed template {source} is named for stack {stem!r}, which the assembly does not have "
                f"({', '.join(names)}): name the file <stack>.template.json"
            )
        return {name: read_template(source) if name == stem else None for name in names}
    if not source.is_dir():
        raise TemplateSourceError(f"deployed templates {source}: no such file or directory")
    if (source / "manifest.json").is_file():
        files = {stack.name: stack.template_file for stack in assembly_stacks(source)}
    else:
        files = {}
        for name in names:
            found = [path for path in (source / f"{name}.template.json", source / f"{name}.json") if path.is_file()]
            if found:
                files[name] = found[0]
    return {name: read_template(files[name]) if name in files else None for name in names}


def _template_body(stack: str, body: Any) -> dict[str, Any]:
    """GetTemplate's ``TemplateBody``: botocore decodes JSON to a mapping, and leaves YAML a string."""
    if isinstance(body, Mapping):
        return dict(body)
    try:
        template = json.loads(str(body))
    except json.JSONDecodeError:
        raise TemplateSourceError(
            f"the deployed template of stack {stack} is not JSON (CDK deploys JSON; was it deployed by other "
            "means?): compare offline with --deployed, giving it as <stack>.template.json"
        ) from None
    if not isinstance(template, dict):
        raise TemplateSourceError(f"the deployed template of stack {stack} is not a template object")
    return template


def _cloudformation_client(region: str | None) -> Any:
    return aws_client("cloudformation", region)


def deployed_from_cloudformation(
    stacks: Iterable[AssemblyStack], *, client: CloudFormationClient = _cloudformation_client
) -> dict[str, dict[str, Any] | None]:
    """Each stack's deployed template, read with ``GetTemplate`` (None for a stack not deployed)."""
    errors = importlib.import_module("botocore.exceptions")  # boto3 only when AWS is asked
    deployed: dict[str, dict[str, Any] | None] = {}
    for stack in stacks:
        cloudformation = client(stack.region)
        where = f"stack {stack.name} in {stack.region or 'the default Region'}"
        try:
            described = cloudformation.describe_stacks(StackName=stack.name)["Stacks"]
            if not described or described[0].get("StackStatus") in _NOT_DEPLOYED:
                deployed[stack.name] = None
                continue
            body = cloudformation.get_template(StackName=stack.name, TemplateStage="Original")["TemplateBody"]
        except errors.ClientError as error:
            message = str(error.response.get("Error", {}).get("Message", error))
            if "does not exist" in message:
                deployed[stack.name] = None
                continue
            raise TemplateSourceError(
                f"cannot read the deployed template of {where} (cloudformation:GetTemplate): {message}. The deploy "
                "role needs cloudformation:DescribeStacks and cloudformation:GetTemplate"
            ) from None
        except errors.BotoCoreError as error:
            raise TemplateSourceError(
                f"cannot reach CloudFormation for {where}: {error}. Check the credentials and AWS_ENDPOINT_URL, or "
                "compare offline with --deployed DIR"
            ) from None
        deployed[stack.name] = _template_body(stack.name, body)
    return deployed
