"""Gateway: LiteLLM on ECS Fargate (ARM64), behind the ALB, scaled on CPU, derived from the config.

The container is our gateway image pinned by digest (LiteLLM, the metrics callback and the
rendered config, built by the pipeline); its command is LiteLLM's CLI arguments pointing at that
config. It runs as the image's contract says (:mod:`bedrockgate.infra.image_contract`): as the fixed
non-root user, with a read-only root filesystem and a per-task volume at ``/tmp`` (Fargate ephemeral
storage; the image must declare ``VOLUME ["/tmp"]`` for the volume to be writable by that user).
From the config itself this stack derives:

- the task role's policy: ``bedrock:InvokeModel*`` on exactly the configured models' ARNs
  (inference profiles and the foundation models they route to) and ``bedrock:ApplyGuardrail`` on
  exactly the config's guardrails (:mod:`bedrockgate.infra.bedrock`);
- the container's environment: every ``os.environ/VAR`` the config reads, secrets injected from
  Secrets Manager by the execution role, which may read exactly those secrets
  (:mod:`bedrockgate.infra.environment`).

Health is the proxy's own liveness route on its port (4000; the litellm wheel has no separate
health app), probed by ECS inside the container and by the ALB; a task is replaced only after
three failed probes in a row. The start period and the service's grace period leave room for
LiteLLM's start (its read-only schema check included: with a database, the migration itself runs
once per deployment in its own task before the service's tasks start, see
:mod:`bedrockgate.infra.migration`). Each task runs ``NUM_WORKERS`` worker processes
(:mod:`bedrockgate.infra.workers`). Deployments roll back on failure (circuit breaker).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from bedrockgate.infra.bedrock import APPLY_GUARDRAIL, INVOKE_ACTIONS, BedrockAccess
from bedrockgate.infra.constructs.web_service import (
    ECR_IMAGE,
    FargateWebService,
    WebServiceSpec,
    arm64_task_definition,
    attach_to_target_group,
    container_image,
    service_log_group,
)
from bedrockgate.infra.environment import EnvironmentPlan
from bedrockgate.infra.exceptions import SettingsError
from bedrockgate.infra.image_contract import (
    GATEWAY_PORT,
    GATEWAY_USER,
    GATEWAY_WRITABLE_PATHS,
    HEALTH_CHECK_COMMAND,
    HEALTH_PATH,
    READONLY_ROOT_FILESYSTEM,
)
from bedrockgate.infra.nag import acknowledge
from bedrockgate.infra.settings import DeploymentSettings
from bedrockgate.infra.stacks.network import NetworkStack
from bedrockgate.infra.timeouts import EdgeTimeouts
from constructs import Construct

__all__ = [
    "CONTAINER_NAME",
    "GATEWAY_ROUTE_PRIORITY",
    "HEALTH_CHECK_GRACE",
    "GatewayStack",
    "GatewayTask",
    "acknowledge_image_pull",
    "add_litellm_container",
    "attach_to_target_group",
    "container_image",
    "container_secrets",
    "mount_writable_paths",
    "writable_volume_name",
]

CONTAINER_NAME: Final = "litellm"
GATEWAY_ROUTE_PRIORITY: Final = 1000
HEALTH_CHECK_GRACE: Final = cdk.Duration.minutes(10)
"""LiteLLM's start: its schema check against the database and N workers importing the proxy, on a cold task."""
LOG_BUFFER: Final = cdk.Size.mebibytes(25)
"""What the log driver holds while CloudWatch Logs is slow or unreachable (the driver's own default is 1 MiB)."""


def writable_volume_name(path: str) -> str:
    """The task volume mounted read-write at ``path`` (``/tmp`` → ``writable-tmp``)."""
    return "writable" + re.sub(r"[^A-Za-z0-9_-]", "-", path.rstrip("/"))


class GatewayTask(Construct):
    """LiteLLM's task definition: its image, environment, secrets and exactly-scoped roles.

    Kept apart from the service so a test can synthesise it alone, with stand-in secrets.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        access: BedrockAccess,
        plan: EnvironmentPlan,
        secrets: Mapping[str, secretsmanager.ISecret],
        log_group: logs.ILogGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        image = settings.gateway_image
        if image is None:
            raise SettingsError(
                "the gateway task needs gateway_image: -c gateway_image=<registry>/<repository>@sha256:<digest>"
            )
        missing = sorted(plan.secret_keys - set(secrets))
        if missing:
            raise KeyError(f"the environment plan names secrets that were not created: {', '.join(missing)}")
        self.task_definition = arm64_task_definition(
            self,
            family=f"{settings.prefix}-gateway",
            cpu=settings.sizes.gateway_cpu,
            memory_mib=settings.sizes.gateway_memory_mib,
        )
        self._grant_bedrock(access)
        self.container = self._add_container(settings, image, plan, secrets, log_group)
        self._mount_writable_paths()
        acknowledge(
            self.task_definition,
            "ECS2",
            "The plain environment holds only non-secret settings (log level, metrics namespace, hosts, Region, "
            "guardrail id, config digest); every variable the config treats as secret is injected from Secrets "
            "Manager, which a test asserts.",
        )
        acknowledge_image_pull(self.task_definition, image)

    def _grant_bedrock(self, access: BedrockAccess) -> None:
        """The task role may invoke exactly the config's models and apply exactly its guardrails."""
        task_role = self.task_definition.task_role
        if access.model_arns:
            task_role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="InvokeConfiguredModels", actions=list(INVOKE_ACTIONS), resources=sorted(access.model_arns)
                )
            )
        if access.guardrail_arns:
            task_role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ApplyConfiguredGuardrails", actions=[APPLY_GUARDRAIL], resources=sorted(access.guardrail_arns)
                )
            )

    def _add_container(
        self,
        settings: DeploymentSettings,
        image: str,
        plan: EnvironmentPlan,
        secrets: Mapping[str, secretsmanager.ISecret],
        log_group: logs.ILogGroup,
    ) -> ecs.ContainerDefinition:
        """LiteLLM's container, run as the image contract says, with the planned environment."""
        return add_litellm_container(
            self.task_definition,
            image=container_image(self, "Image", image),
            command=["--config", settings.gateway_config_path_in_image, "--port", str(GATEWAY_PORT)],
            environment=dict(plan.plain),
            secrets=container_secrets(plan, secrets),
            log_group=log_group,
            stream_prefix=CONTAINER_NAME,
            health_check=ecs.HealthCheck(
                # Exec form: no shell is assumed in the image, only Debian's python3.
                command=["CMD", *HEALTH_CHECK_COMMAND],
                interval=cdk.Duration.seconds(30),
                timeout=cdk.Duration.seconds(5),
                retries=3,
                start_period=cdk.Duration.seconds(300),
            ),
        )

    def _mount_writable_paths(self) -> None:
        mount_writable_paths(self.task_definition, self.container)


def add_litellm_container(
    task_definition: ecs.TaskDefinition,
    *,
    image: ecs.ContainerImage,
    command: list[str],
    environment: dict[str, str],
    secrets: dict[str, ecs.Secret],
    log_group: logs.ILogGroup,
    stream_prefix: str,
    health_check: ecs.HealthCheck | None,
) -> ecs.ContainerDefinition:
    """The gateway image's container (``CONTAINER_NAME``) as its contract says: user, read-only root, port, logs.

    The gateway's task and the database migration's task (:mod:`bedrockgate.infra.constructs.database_migration`)
    run it alike; only the command, the environment and the health check differ.
    """
    return task_definition.add_container(
        CONTAINER_NAME,
        container_name=CONTAINER_NAME,
        image=image,
        command=command,
        environment=environment,
        secrets=secrets,
        port_mappings=[ecs.PortMapping(container_port=GATEWAY_PORT, name="proxy")],
        user=GATEWAY_USER,
        readonly_root_filesystem=READONLY_ROOT_FILESYSTEM,
        # Non-blocking: the proxy writes its JSON access log to stdout from the event loop, so a
        # blocking driver that cannot reach CloudWatch stalls every request once the pipe is full
        # (~64 KiB; `nox -s faults` reproduces it with a stdout nobody reads). A full buffer drops
        # log lines instead; the EMF metrics lines go the same way, and the alarms still see the
        # ALB's figures.
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix=stream_prefix,
            log_group=log_group,
            mode=ecs.AwsLogDriverMode.NON_BLOCKING,
            max_buffer_size=LOG_BUFFER,
        ),
        health_check=health_check,
        stop_timeout=cdk.Duration.seconds(120),
    )


def container_secrets(plan: EnvironmentPlan, secrets: Mapping[str, secretsmanager.ISecret]) -> dict[str, ecs.Secret]:
    """The plan's secret variables, each injected by ECS from its Secrets Manager secret (and JSON field)."""
    return {
        name: ecs.Secret.from_secrets_manager(secrets[source.key], source.field)
        for name, source in plan.secrets.items()
    }


def acknowledge_image_pull(task_definition: ecs.TaskDefinition, image: str) -> None:
    """cdk-nag's IAM5 on the execution role that pulls an ECR image: the one grant IAM only allows on '*'."""
    if ECR_IMAGE.fullmatch(image):
        acknowledge(
            task_definition.obtain_execution_role(),
            "IAM5",
            "ecr:GetAuthorizationToken has no resource-level permissions (IAM requires Resource '*'); image pulls "
            "themselves are granted on the one repository.",
            findings=("Resource::*",),
        )


def mount_writable_paths(task_definition: ecs.TaskDefinition, container: ecs.ContainerDefinition) -> None:
    """A task volume mounted read-write at each of ``GATEWAY_WRITABLE_PATHS``, the container's only writable paths."""
    for path in GATEWAY_WRITABLE_PATHS:
        # No host and no EFS configuration: a bind mount on the task's ephemeral storage (Fargate
        # has no tmpfs). It is writable by GATEWAY_USER only because the image declares the path
        # as a VOLUME with that owner (see bedrockgate.infra.image_contract).
        name = writable_volume_name(path)
        task_definition.add_volume(name=name)
        container.add_mount_points(ecs.MountPoint(container_path=path, source_volume=name, read_only=False))


class GatewayStack(cdk.Stack):
    """LiteLLM's service, its target group and listener rule, and its auto-scaling."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        network: NetworkStack,
        listener: elbv2.IApplicationListener,
        access: BedrockAccess,
        plan: EnvironmentPlan,
        secrets: Mapping[str, secretsmanager.ISecret],
        timeouts: EdgeTimeouts,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        all_secrets = dict(secrets)
        for index, key in enumerate(sorted(plan.secret_keys - set(secrets))):
            # Secrets named by ARN in the settings' env_sources.
            all_secrets[key] = secretsmanager.Secret.from_secret_complete_arn(self, f"SettingsSecret{index}", key)
        self.task_secrets: Mapping[str, secretsmanager.ISecret] = all_secrets
        """Every secret the task reads, by key: the migration task reads the same."""
        self.migration: Construct | None = None
        """The database migration run (set by the app when the config uses a database)."""
        self.log_group = service_log_group(self, settings, "gateway")
        self.task = GatewayTask(
            self, "Task", settings=settings, access=access, plan=plan, secrets=all_secrets, log_group=self.log_group
        )
        web = FargateWebService(
            self,
            _web_service_spec(settings, network, timeouts),
            settings=settings,
            network=network,
            listener=listener,
            task_definition=self.task.task_definition,
            log_group=self.log_group,
        )
        self.service, self.target_group, self.route = web.service, web.target_group, web.route
        sizes = settings.sizes
        scaling = self.service.auto_scale_task_count(
            min_capacity=sizes.gateway_min_tasks, max_capacity=sizes.gateway_max_tasks
        )
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=sizes.gateway_cpu_target_percent,
            scale_in_cooldown=cdk.Duration.minutes(5),
            scale_out_cooldown=cdk.Duration.minutes(1),
        )


def _web_service_spec(settings: DeploymentSettings, network: NetworkStack, timeouts: EdgeTimeouts) -> WebServiceSpec:
    """The gateway as a web service: every path of the listener, zero-downtime rolling deployments."""
    return WebServiceSpec(
        name="gateway",
        container=CONTAINER_NAME,
        port=GATEWAY_PORT,
        security_group=network.gateway_sg,
        desired_count=settings.sizes.gateway_min_tasks,
        min_healthy_percent=100,
        max_healthy_percent=200,
        health_check=elbv2.HealthCheck(
            path=HEALTH_PATH,
            port="traffic-port",  # GATEWAY_PORT: the proxy answers its own health route
            healthy_http_codes="200",
            interval=cdk.Duration.seconds(30),
            timeout=cdk.Duration.seconds(5),
            healthy_threshold_count=2,
            unhealthy_threshold_count=3,
        ),
        # In-flight requests (up to the gateway's timeout) finish before a task leaves.
        deregistration_delay=cdk.Duration.seconds(min(timeouts.alb_idle, 3600)),
        route_priority=GATEWAY_ROUTE_PRIORITY,
        path_pattern="/*",
        grace=HEALTH_CHECK_GRACE,
    )
