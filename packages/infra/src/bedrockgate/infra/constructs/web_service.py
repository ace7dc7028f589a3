"""A Fargate web service behind the ALB: what the gateway and Phoenix stacks both run.

Each is an ARM64 Fargate task, logging to its own log group, run as a service in the private
subnets with a Cloud Map name, registered in an IP target group that a listener rule on the shared
ALB forwards a path to, and rolled back when a deployment fails. What differs (port, health check,
counts, route) is a :class:`WebServiceSpec`; the task definition is the stack's own.

:class:`FargateWebService` is a component, not a construct of its own: it creates its resources in
the stack it is given, under the ids the stacks always used (``Logs``, ``Service``, ``TargetGroup``,
``Route``), so their logical IDs, and so every deployed resource, stay as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_servicediscovery as servicediscovery
from bedrockgate.infra.settings import DeploymentSettings
from bedrockgate.infra.stacks.network import NetworkStack
from constructs import Construct

__all__ = [
    "ECR_IMAGE",
    "FargateWebService",
    "WebServiceSpec",
    "arm64_task_definition",
    "attach_to_target_group",
    "container_image",
    "service_log_group",
]

ECR_IMAGE: Final = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repository>[^@:]+)(:[^@]+)?@(?P<digest>sha256:[0-9a-f]{64})"
)
"""An image in an ECR repository, pinned by digest: pulls are then granted on that repository alone."""


@dataclass(frozen=True)
class WebServiceSpec:
    """What one web service sets apart from the other: its name, port, counts, health and route."""

    name: str
    """The service is ``<prefix>-<name>``, its Cloud Map name ``<name>``, its log group ``/<prefix>/<name>``."""
    container: str
    """The task's container the target group sends traffic to."""
    port: int
    security_group: ec2.ISecurityGroup
    desired_count: int
    min_healthy_percent: int
    max_healthy_percent: int
    health_check: elbv2.HealthCheck
    deregistration_delay: cdk.Duration
    route_priority: int
    path_pattern: str
    grace: cdk.Duration
    """How long ECS ignores the target group's health checks after a task starts."""


def service_log_group(scope: Construct, settings: DeploymentSettings, name: str) -> logs.LogGroup:
    """The service's log group ``/<prefix>/<name>`` (id ``Logs``), kept as long as the settings say."""
    return logs.LogGroup(
        scope,
        "Logs",
        log_group_name=f"/{settings.prefix}/{name}",
        retention=logs.RetentionDays[settings.log_retention],
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )


def arm64_task_definition(scope: Construct, *, family: str, cpu: int, memory_mib: int) -> ecs.FargateTaskDefinition:
    """A Fargate task definition (id ``TaskDefinition``) on ARM64 Linux: Graviton, the images' architecture."""
    return ecs.FargateTaskDefinition(
        scope,
        "TaskDefinition",
        family=family,
        cpu=cpu,
        memory_limit_mib=memory_mib,
        runtime_platform=ecs.RuntimePlatform(
            cpu_architecture=ecs.CpuArchitecture.ARM64, operating_system_family=ecs.OperatingSystemFamily.LINUX
        ),
    )


def container_image(scope: Construct, construct_id: str, reference: str) -> ecs.ContainerImage:
    """An image by digest: from its ECR repository (so pulls are granted on it alone), or a registry."""
    match = ECR_IMAGE.fullmatch(reference)
    if match is None:
        return ecs.ContainerImage.from_registry(reference)
    repository = ecr.Repository.from_repository_attributes(
        scope,
        construct_id,
        repository_arn=f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{match['repository']}",
        repository_name=match["repository"],
    )
    return ecs.ContainerImage.from_ecr_repository(repository, tag=match["digest"])


class FargateWebService:
    """A task definition run as a service in the private subnets, behind a path of the ALB's listener.

    Created in ``scope`` (the stack) under the ids ``Service``, ``TargetGroup`` and ``Route``; the
    log group (:func:`service_log_group`) comes first, because the task definition logs to it.
    """

    def __init__(
        self,
        scope: Construct,
        spec: WebServiceSpec,
        *,
        settings: DeploymentSettings,
        network: NetworkStack,
        listener: elbv2.IApplicationListener,
        task_definition: ecs.FargateTaskDefinition,
        log_group: logs.ILogGroup,
    ) -> None:
        self.log_group = log_group
        self.service = _service(scope, spec, settings=settings, network=network, task_definition=task_definition)
        self.target_group = elbv2.ApplicationTargetGroup(
            scope,
            "TargetGroup",
            vpc=network.vpc,
            port=spec.port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            health_check=spec.health_check,
            deregistration_delay=spec.deregistration_delay,
        )
        self.route = elbv2.ApplicationListenerRule(
            scope,
            "Route",
            listener=listener,
            priority=spec.route_priority,
            conditions=[elbv2.ListenerCondition.path_patterns([spec.path_pattern])],
            action=elbv2.ListenerAction.forward([self.target_group]),
        )
        attach_to_target_group(
            self.service, self.target_group, self.route, container=spec.container, port=spec.port, grace=spec.grace
        )


def _service(
    scope: Construct,
    spec: WebServiceSpec,
    *,
    settings: DeploymentSettings,
    network: NetworkStack,
    task_definition: ecs.FargateTaskDefinition,
) -> ecs.FargateService:
    """The service: private subnets, no public IP or exec, rolled back when a deployment fails."""
    return ecs.FargateService(
        scope,
        "Service",
        service_name=f"{settings.prefix}-{spec.name}",
        cluster=network.cluster,
        task_definition=task_definition,
        desired_count=spec.desired_count,
        security_groups=[spec.security_group],
        vpc_subnets=network.private_subnets,
        assign_public_ip=False,
        circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
        min_healthy_percent=spec.min_healthy_percent,
        max_healthy_percent=spec.max_healthy_percent,
        enable_execute_command=False,
        propagate_tags=ecs.PropagatedTagSource.SERVICE,
        cloud_map_options=ecs.CloudMapOptions(
            name=spec.name,
            cloud_map_namespace=network.namespace,
            dns_record_type=servicediscovery.DnsRecordType.A,
            dns_ttl=cdk.Duration.seconds(10),
        ),
    )


def attach_to_target_group(
    service: ecs.FargateService,
    target_group: elbv2.ApplicationTargetGroup,
    rule: elbv2.ApplicationListenerRule,
    *,
    container: str,
    port: int,
    grace: cdk.Duration,
) -> None:
    """Register the service's tasks in the target group without CDK adding security-group rules.

    ``target_group.add_target(service)`` would add an ingress rule from the ALB's group in this
    stack, duplicating the one the network stack already owns (and CloudFormation refuses a
    duplicate permission). The network stack draws every path; this only wires the targets.
    """
    cfn_service = service.node.default_child
    if not isinstance(cfn_service, ecs.CfnService):  # pragma: no cover - the L2 always wraps a CfnService
        raise TypeError("unexpected ECS service construct")
    cfn_service.load_balancers = [
        ecs.CfnService.LoadBalancerProperty(
            container_name=container, container_port=port, target_group_arn=target_group.target_group_arn
        )
    ]
    cfn_service.health_check_grace_period_seconds = int(grace.to_seconds())
    # ECS refuses a target group that no listener uses yet: create the rule first.
    cfn_service.node.add_dependency(_default_child(rule))


def _default_child(construct: Construct) -> cdk.CfnResource:
    child = construct.node.default_child
    if not isinstance(child, cdk.CfnResource):  # pragma: no cover
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return child
