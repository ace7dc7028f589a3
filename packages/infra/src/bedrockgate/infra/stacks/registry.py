"""Registry: the ECR repository the pipeline pushes the gateway image to.

A stack of its own, because it comes first: the image must be pushed before the gateway can be
deployed, and the repository must exist before the push. ``bedrockgate-infra cdk deploy
bedrockgate-<env>-registry`` deploys it alone, with no gateway image given yet (the app then holds
only this stack), and its ``RepositoryUri`` output is where the pipeline pushes.

The repository keeps what it is given: tags are immutable (a pushed tag never points at other
bytes), every push is scanned, images are encrypted with KMS (the account's AWS-managed ECR key),
and lifecycle rules bound it: an untagged image expires after ``registry.untagged_days`` and only
the newest ``registry.keep_images`` are kept. The pipeline pushes with a tag, so the image a task
runs is never an untagged one.

The gateway stack does not reference this stack (no export, no stack dependency): it imports the
repository by the name inside its image reference (``.../<repository>@sha256:...``). An export would
pin the repository to its consumer (CloudFormation refuses to change an export in use) and a stack
dependency would add nothing: a gateway deploy needs a pushed digest, which needs this repository.
"""

from __future__ import annotations

from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from bedrockgate.infra.settings import DeploymentSettings
from constructs import Construct

__all__ = ["REPOSITORY_URI_OUTPUT", "RegistryStack", "repository_uri_export"]

REPOSITORY_URI_OUTPUT: Final = "RepositoryUri"
"""The stack output the pipeline reads to know where to push."""


def repository_uri_export(settings: DeploymentSettings) -> str:
    """The export name of the repository URI output, stable per environment."""
    return f"{settings.prefix}-registry-{REPOSITORY_URI_OUTPUT}"


class RegistryStack(cdk.Stack):
    """The gateway image's ECR repository and its URI as an output."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploymentSettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        registry = settings.registry
        throwaway = not settings.deletion_protection
        self.repository = ecr.Repository(
            self,
            "GatewayRepository",
            repository_name=registry.repository_name,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            image_scan_on_push=True,
            encryption=ecr.RepositoryEncryption.KMS,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    rule_priority=1,
                    description=f"untagged images expire after {registry.untagged_days} days",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=cdk.Duration.days(registry.untagged_days),
                ),
                ecr.LifecycleRule(
                    rule_priority=2,
                    description=f"keep the newest {registry.keep_images} images",
                    tag_status=ecr.TagStatus.ANY,
                    max_image_count=registry.keep_images,
                ),
            ],
            # A throwaway environment deletes its images with the stack; otherwise they outlive it.
            removal_policy=cdk.RemovalPolicy.DESTROY if throwaway else cdk.RemovalPolicy.RETAIN,
            empty_on_delete=True if throwaway else None,
        )
        cdk.CfnOutput(
            self,
            REPOSITORY_URI_OUTPUT,
            value=self.repository.repository_uri,
            description="Where the pipeline pushes the gateway image (REGISTRY/REPOSITORY, without a tag)",
            export_name=repository_uri_export(settings),
        )
        cdk.CfnOutput(self, "RepositoryName", value=self.repository.repository_name)
