"""LiteLLM's database migration as a one-off Fargate task, run once per deployment by a custom resource.

See :mod:`bedrockgate.infra.migration` for why. This construct creates, in the gateway stack:

- the migration task definition (family ``<prefix>-gateway-migration``): the gateway's image, its
  environment and secrets, with ``DISABLE_SCHEMA_UPDATE=false`` and LiteLLM's
  ``--config <path> --skip_server_startup`` as the command, run like the gateway (same user,
  read-only root, ``/tmp`` volume, its log group under the stream prefix ``migration``); its own
  roles, so the migration gets no Bedrock access;
- a CDK ``Provider`` whose two Python handlers (:mod:`bedrockgate.infra.migration_runner.handler`)
  start that task (``ecs:RunTask`` on that family only, ``iam:PassRole`` on its two roles only)
  and poll ``ecs:DescribeTasks`` until it stops, failing the deployment on a non-zero exit code;
- the custom resource (``Custom::DatabaseMigration``), whose properties are the image and the config
  digest: CloudFormation runs it again only when one of them changes. The gateway service depends
  on it, so its new tasks start after the schema is current.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from bedrockgate.infra.constructs.web_service import arm64_task_definition, container_image
from bedrockgate.infra.environment import EnvironmentPlan
from bedrockgate.infra.image_contract import CONFIG_DIGEST_VARIABLE
from bedrockgate.infra.migration import MIGRATION_RESOURCE_TYPE, SCHEMA_UPDATE_VARIABLE, DatabaseMigration
from bedrockgate.infra.nag import acknowledge
from bedrockgate.infra.settings import DeploymentSettings
from bedrockgate.infra.stacks.gateway import (
    CONTAINER_NAME,
    acknowledge_image_pull,
    add_litellm_container,
    container_secrets,
    mount_writable_paths,
)
from constructs import Construct, IConstruct

__all__ = ["HANDLER_DIRECTORY", "MIGRATION_RESOURCE_TYPE", "MIGRATION_STREAM_PREFIX", "DatabaseMigrationRun"]

HANDLER_DIRECTORY: Final = Path(__file__).resolve().parents[1] / "migration_runner"
"""The Lambda asset: the handlers' directory in this package (standard library and boto3 only)."""
MIGRATION_STREAM_PREFIX: Final = "migration"
"""The migration task's log streams in the gateway's log group: ``migration/litellm/<task id>``."""
RUNTIME: Final = lambda_.Runtime.PYTHON_3_14
TOTAL_TIMEOUT: Final = cdk.Duration.minutes(30)
"""How long a migration may run (Fargate start, image pull, LiteLLM's setup, ``prisma migrate deploy``)."""
POLL_INTERVAL: Final = cdk.Duration.seconds(15)


class DatabaseMigrationRun(Construct):
    """The migration task definition, its runner and the custom resource that runs it once per image and config."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        migration: DatabaseMigration,
        plan: EnvironmentPlan,
        secrets: Mapping[str, secretsmanager.ISecret],
        log_group: logs.ILogGroup,
        cluster: ecs.ICluster,
        subnets: list[str],
        security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        image = settings.gateway_image
        if image is None:  # pragma: no cover - derive_deployment refuses a deployment without one
            raise ValueError("the migration task needs gateway_image")
        self.family = f"{settings.prefix}-gateway-migration"
        self.task_definition = arm64_task_definition(
            self, family=self.family, cpu=settings.sizes.gateway_cpu, memory_mib=settings.sizes.gateway_memory_mib
        )
        container = add_litellm_container(
            self.task_definition,
            image=container_image(self, "Image", image),
            command=list(migration.command),
            environment={**plan.plain, SCHEMA_UPDATE_VARIABLE: "false"},
            secrets=container_secrets(plan, secrets),
            log_group=log_group,
            stream_prefix=MIGRATION_STREAM_PREFIX,
            health_check=None,  # it serves nothing: it migrates and exits
        )
        mount_writable_paths(self.task_definition, container)
        self._acknowledge_task()
        acknowledge_image_pull(self.task_definition, image)
        provider = self._provider(settings, cluster)
        self.resource = cdk.CustomResource(
            self,
            "Run",
            service_token=provider.service_token,
            resource_type=MIGRATION_RESOURCE_TYPE,
            properties={
                "Image": image,
                "ConfigDigest": plan.plain[CONFIG_DIGEST_VARIABLE],
                "Cluster": cluster.cluster_arn,
                "TaskDefinitionFamily": self.family,
                "Container": CONTAINER_NAME,
                "Subnets": subnets,
                "SecurityGroups": [security_group.security_group_id],
                "LogGroup": log_group.log_group_name,
                "LogStreamPrefix": f"{MIGRATION_STREAM_PREFIX}/{CONTAINER_NAME}",
            },
        )
        # RunTask names the family: its newest revision must exist before the resource runs.
        self.resource.node.add_dependency(self.task_definition)

    def _acknowledge_task(self) -> None:
        acknowledge(
            self.task_definition,
            "ECS2",
            "The migration task's plain environment is the gateway's (log level, hosts, Region, config digest) with "
            "DISABLE_SCHEMA_UPDATE=false; every secret the config reads is injected from Secrets Manager.",
        )

    def _provider(self, settings: DeploymentSettings, cluster: ecs.ICluster) -> cr.Provider:
        """The runner's two Lambdas and CDK's provider framework (a Step Functions waiter polls is_complete)."""
        logs_group = logs.LogGroup(
            self,
            "RunnerLogs",
            retention=logs.RetentionDays[settings.log_retention],
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        stack = cdk.Stack.of(self)
        on_event = self._function("StartTask", "handler.on_event", logs_group)
        _grant_on_cluster(
            on_event,
            cluster,
            sid="RunTheMigrationTask",
            action="ecs:RunTask",
            resource=stack.format_arn(service="ecs", resource="task-definition", resource_name=f"{self.family}:*"),
            reason="ecs:RunTask may start any revision of the migration task definition's family (RunTask names the "
            "family, and a deploy registers a new revision), in the gateway's cluster only.",
        )
        on_event.add_to_role_policy(
            iam.PolicyStatement(
                sid="PassTheMigrationRoles",
                actions=["iam:PassRole"],
                resources=[
                    self.task_definition.task_role.role_arn,
                    self.task_definition.obtain_execution_role().role_arn,
                ],
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )
        is_complete = self._function("WaitForTask", "handler.is_complete", logs_group)
        _grant_on_cluster(
            is_complete,
            cluster,
            sid="DescribeTheMigrationTask",
            action="ecs:DescribeTasks",
            # The network stack names the cluster after the prefix: a plain name keeps the ARN free of an import.
            resource=stack.format_arn(service="ecs", resource="task", resource_name=f"{settings.prefix}/*"),
            reason="The migration task's id is known only once RunTask started it: ecs:DescribeTasks is granted on "
            "the tasks of the gateway's cluster, a read-only call.",
        )
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=POLL_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
            log_group=logs_group,
            # Roles of our own (the default ones carry AWS's managed AWSLambdaBasicExecutionRole).
            framework_on_event_role=self._role("FrameworkOnEventRole", "the provider framework's onEvent", logs_group),
            framework_complete_and_timeout_role=self._role(
                "FrameworkWaitRole", "the provider framework's isComplete and onTimeout", logs_group
            ),
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=logs_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        acknowledge(
            self,
            "IAM5",
            "CDK's provider framework invokes the runner's two functions by any version or alias (<function ARN>:*), "
            "and its waiter state machine its own two; each grant names those functions, nothing else.",
            findings=tuple(
                f"Resource::<{stack.get_logical_id(_cfn(function))}.Arn>:*"
                for function in (on_event, is_complete, *_framework_functions(provider))
            ),
        )
        acknowledge(
            provider,
            "IAM5",
            "Step Functions' log delivery (logs:CreateLogDelivery, PutResourcePolicy, DescribeLogGroups...) has no "
            "resource-level permissions: the waiter state machine's role needs them on '*' to log its executions.",
            findings=("Resource::*",),
        )
        acknowledge(
            provider,
            "SF2",
            "The waiter state machine only loops isComplete every 15 s for one migration per deployment; its "
            "executions are logged (level ALL) and the runner's Lambdas log each call, so X-Ray adds nothing here.",
        )
        return provider

    def _role(self, construct_id: str, what: str, log_group: logs.LogGroup) -> iam.Role:
        """A Lambda role that may write the runner's log group and nothing else yet (no managed policy)."""
        role = iam.Role(
            self, construct_id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=f"{what}: its logs"
        )
        log_group.grant_write(role)
        return role

    def _function(self, construct_id: str, handler: str, log_group: logs.LogGroup) -> lambda_.Function:
        """One handler, with a role of its own (its logs; the ECS calls are added by the caller)."""
        role = self._role(f"{construct_id}Role", f"the migration runner's {handler}", log_group)
        return lambda_.Function(
            self,
            construct_id,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=lambda_.Code.from_asset(str(HANDLER_DIRECTORY), exclude=["__pycache__", "*.pyc"]),
            timeout=cdk.Duration.minutes(1),
            role=role,
            log_group=log_group,
            description="bedrockgate: runs LiteLLM's database migration task once per image and config",
        )


def _cfn(construct: IConstruct) -> cdk.CfnElement:
    child = construct.node.default_child
    if not isinstance(child, cdk.CfnElement):  # pragma: no cover - a Function always wraps a CfnFunction
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return child


def _framework_functions(provider: cr.Provider) -> list[IConstruct]:
    """The provider framework's isComplete and onTimeout functions, which its waiter state machine invokes."""
    return [
        child for child in provider.node.children if child.node.id in ("framework-isComplete", "framework-onTimeout")
    ]


def _nag_form(stack: cdk.Stack, arn: str) -> str:
    """An ARN as cdk-nag names it in a finding: a reference (the partition) as ``<AWS::Partition>``."""
    resolved = stack.resolve(arn)
    if isinstance(resolved, str):
        return resolved
    parts = resolved["Fn::Join"][1]
    return "".join(_nag_part(part) for part in parts)


def _nag_part(part: object) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and "Ref" in part:
        return f"<{part['Ref']}>"
    raise TypeError(f"cannot name {part!r} as cdk-nag does")


def _grant_on_cluster(
    function: lambda_.Function, cluster: ecs.ICluster, *, sid: str, action: str, resource: str, reason: str
) -> None:
    """Allow one ECS action on one resource pattern, in the gateway's cluster only; acknowledge its wildcard."""
    function.add_to_role_policy(
        iam.PolicyStatement(
            sid=sid,
            actions=[action],
            resources=[resource],
            conditions={"ArnEquals": {"ecs:cluster": cluster.cluster_arn}},
        )
    )
    acknowledge(
        _role_of(function), "IAM5", reason, findings=(f"Resource::{_nag_form(cdk.Stack.of(function), resource)}",)
    )


def _role_of(function: lambda_.Function) -> iam.IRole:
    role = function.role
    if role is None:  # pragma: no cover - every runner function is given its role
        raise TypeError(f"{function.node.path} has no role")
    return role
