"""Phoenix: Arize Phoenix for the gateway's traces, with its own PostgreSQL, at ``/phoenix/*``.

Phoenix runs on the shared ECS cluster with authentication on (``PHOENIX_ENABLE_AUTH``): a JWT
secret, an admin secret and the first admin's password are generated in Secrets Manager. It is
served under ``PHOENIX_HOST_ROOT_PATH=/phoenix``; the ALB forwards ``/phoenix/*`` unchanged, which
Phoenix accepts (Starlette strips a root path when present). LiteLLM sends its traces to Phoenix
inside the VPC (``http://phoenix.<namespace>:6006/v1/traces``), authenticated with the admin
secret, which Phoenix accepts as a bearer token in place of an API key.

Phoenix's database is its own Aurora PostgreSQL Serverless v2 cluster, so traces never share a
database (or a failure) with LiteLLM's keys and spend records.
"""

from __future__ import annotations

from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_servicediscovery as servicediscovery
from bedrockgate.infra.nag import acknowledge
from bedrockgate.infra.settings import DeploymentSettings
from bedrockgate.infra.stacks._parts import serverless_postgres
from bedrockgate.infra.stacks.gateway import attach_to_target_group, container_image
from bedrockgate.infra.stacks.network import DATABASE_PORT, PHOENIX_PORT, NetworkStack
from constructs import Construct

__all__ = ["PHOENIX_PATH", "PHOENIX_ROUTE_PRIORITY", "PhoenixStack"]

PHOENIX_PATH: Final = "/phoenix"
PHOENIX_ROUTE_PRIORITY: Final = 10
CONTAINER_NAME: Final = "phoenix"


class PhoenixStack(cdk.Stack):
    """Phoenix's database, secrets, service, target group and listener rule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        network: NetworkStack,
        listener: elbv2.IApplicationListener,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if settings.phoenix_image is None:  # pragma: no cover - the settings refuse self-hosted without an image
            raise ValueError("the Phoenix stack needs phoenix_image")
        image = settings.phoenix_image
        prefix = settings.prefix
        sizes = settings.sizes
        self.database = serverless_postgres(
            self,
            "Database",
            settings=settings,
            name="phoenix",
            vpc=network.vpc,
            subnets=network.private_subnets,
            security_group=network.phoenix_database_sg,
            min_acu=sizes.phoenix_database_min_acu,
            max_acu=sizes.phoenix_database_max_acu,
        )
        credentials = self.database.secret
        if credentials is None:  # pragma: no cover - from_generated_secret always makes one
            raise RuntimeError("the Phoenix database has no generated secret")

        self.jwt_secret = self._secret("Secret", f"{prefix}/phoenix/secret", "Signs Phoenix's session tokens")
        self.admin_secret = self._secret(
            "AdminSecret",
            f"{prefix}/phoenix/admin-secret",
            "Phoenix's system bearer token; LiteLLM sends traces with it",
        )
        self.admin_password = self._secret(
            "AdminPassword", f"{prefix}/phoenix/admin-initial-password", "The first Phoenix admin's initial password"
        )

        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/{prefix}/phoenix",
            retention=logs.RetentionDays[settings.log_retention],
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            family=f"{prefix}-phoenix",
            cpu=sizes.phoenix_cpu,
            memory_limit_mib=sizes.phoenix_memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64, operating_system_family=ecs.OperatingSystemFamily.LINUX
            ),
        )
        task_definition.add_container(
            CONTAINER_NAME,
            container_name=CONTAINER_NAME,
            image=container_image(self, "Image", image),
            environment={
                "PHOENIX_PORT": str(PHOENIX_PORT),
                "PHOENIX_HOST": "0.0.0.0",  # noqa: S104  # inside a task: the ALB and the gateway reach it by task IP
                "PHOENIX_HOST_ROOT_PATH": PHOENIX_PATH,
                "PHOENIX_ENABLE_AUTH": "true",
                "PHOENIX_USE_SECURE_COOKIES": "true" if settings.domain is not None else "false",
                "PHOENIX_TELEMETRY_ENABLED": "false",
                "PHOENIX_POSTGRES_HOST": self.database.cluster_endpoint.hostname,
                "PHOENIX_POSTGRES_PORT": str(DATABASE_PORT),
                "PHOENIX_POSTGRES_USER": "phoenix",
                "PHOENIX_POSTGRES_DB": "phoenix",
            },
            secrets={
                "PHOENIX_POSTGRES_PASSWORD": ecs.Secret.from_secrets_manager(credentials, "password"),
                "PHOENIX_SECRET": ecs.Secret.from_secrets_manager(self.jwt_secret),
                "PHOENIX_ADMIN_SECRET": ecs.Secret.from_secrets_manager(self.admin_secret),
                "PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD": ecs.Secret.from_secrets_manager(self.admin_password),
            },
            port_mappings=[ecs.PortMapping(container_port=PHOENIX_PORT, name="http")],
            logging=ecs.LogDrivers.aws_logs(stream_prefix=CONTAINER_NAME, log_group=log_group),
        )
        acknowledge(
            task_definition,
            "ECS2",
            "The plain environment holds Phoenix's port, root path, switches and database host and user; its "
            "password and every secret key are injected from Secrets Manager.",
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            service_name=f"{prefix}-phoenix",
            cluster=network.cluster,
            task_definition=task_definition,
            desired_count=1,
            security_groups=[network.phoenix_sg],
            vpc_subnets=network.private_subnets,
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=0,
            max_healthy_percent=100,
            enable_execute_command=False,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            cloud_map_options=ecs.CloudMapOptions(
                name="phoenix",
                cloud_map_namespace=network.namespace,
                dns_record_type=servicediscovery.DnsRecordType.A,
                dns_ttl=cdk.Duration.seconds(10),
            ),
        )
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "TargetGroup",
            vpc=network.vpc,
            port=PHOENIX_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            health_check=elbv2.HealthCheck(
                path="/healthz",
                healthy_http_codes="200",
                interval=cdk.Duration.seconds(30),
                timeout=cdk.Duration.seconds(5),
            ),
            deregistration_delay=cdk.Duration.seconds(30),
        )
        self.route = elbv2.ApplicationListenerRule(
            self,
            "Route",
            listener=listener,
            priority=PHOENIX_ROUTE_PRIORITY,
            conditions=[elbv2.ListenerCondition.path_patterns([f"{PHOENIX_PATH}/*"])],
            action=elbv2.ListenerAction.forward([self.target_group]),
        )
        attach_to_target_group(
            self.service,
            self.target_group,
            self.route,
            container=CONTAINER_NAME,
            port=PHOENIX_PORT,
            grace=cdk.Duration.minutes(5),
        )
        self.collector_endpoint = f"http://phoenix.{network.namespace.namespace_name}:{PHOENIX_PORT}/v1/traces"

    def _secret(self, construct_id: str, name: str, description: str) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            construct_id,
            secret_name=name,
            description=description,
            # Phoenix wants 32+ characters with a digit and a lowercase letter.
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, include_space=False, password_length=48, require_each_included_type=True
            ),
        )
        acknowledge(
            secret,
            "SMG4",
            "Phoenix reads this value once at start and has no rotation hook; it is rotated by putting a new value "
            "and redeploying the Phoenix service (for the admin password: changed in Phoenix itself after first "
            "login).",
        )
        return secret
