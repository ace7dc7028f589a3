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

from collections.abc import Mapping
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from bedrockgate.infra.constructs.web_service import (
    FargateWebService,
    WebServiceSpec,
    arm64_task_definition,
    container_image,
    service_log_group,
)
from bedrockgate.infra.exceptions import SettingsError
from bedrockgate.infra.nag import acknowledge
from bedrockgate.infra.settings import DeploymentSettings
from bedrockgate.infra.stacks._parts import serverless_postgres
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
            raise SettingsError("the Phoenix stack needs phoenix_image")
        self.database = self._database(settings, network)
        self.jwt_secret = self._secret("Secret", f"{settings.prefix}/phoenix/secret", "Signs Phoenix's session tokens")
        self.admin_secret = self._secret(
            "AdminSecret",
            f"{settings.prefix}/phoenix/admin-secret",
            "Phoenix's system bearer token; LiteLLM sends traces with it",
        )
        self.admin_password = self._secret(
            "AdminPassword",
            f"{settings.prefix}/phoenix/admin-initial-password",
            "The first Phoenix admin's initial password",
        )
        log_group = service_log_group(self, settings, "phoenix")
        web = FargateWebService(
            self,
            _web_service_spec(network),
            settings=settings,
            network=network,
            listener=listener,
            task_definition=self._task_definition(settings, settings.phoenix_image, log_group),
            log_group=log_group,
        )
        self.service, self.target_group, self.route = web.service, web.target_group, web.route
        self.collector_endpoint = f"http://phoenix.{network.namespace.namespace_name}:{PHOENIX_PORT}/v1/traces"

    def _database(self, settings: DeploymentSettings, network: NetworkStack) -> rds.DatabaseCluster:
        """Phoenix's own Aurora PostgreSQL: traces never share a database (or a failure) with LiteLLM's."""
        return serverless_postgres(
            self,
            "Database",
            settings=settings,
            name="phoenix",
            vpc=network.vpc,
            subnets=network.private_subnets,
            security_group=network.phoenix_database_sg,
            min_acu=settings.sizes.phoenix_database_min_acu,
            max_acu=settings.sizes.phoenix_database_max_acu,
        )

    def _task_definition(
        self, settings: DeploymentSettings, image: str, log_group: logs.ILogGroup
    ) -> ecs.FargateTaskDefinition:
        """Phoenix's task: its settings in the plain environment, its database password and keys as secrets."""
        task_definition = arm64_task_definition(
            self,
            family=f"{settings.prefix}-phoenix",
            cpu=settings.sizes.phoenix_cpu,
            memory_mib=settings.sizes.phoenix_memory_mib,
        )
        task_definition.add_container(
            CONTAINER_NAME,
            container_name=CONTAINER_NAME,
            image=container_image(self, "Image", image),
            environment=self._environment(settings),
            secrets=self._secrets(),
            port_mappings=[ecs.PortMapping(container_port=PHOENIX_PORT, name="http")],
            logging=ecs.LogDrivers.aws_logs(stream_prefix=CONTAINER_NAME, log_group=log_group),
        )
        acknowledge(
            task_definition,
            "ECS2",
            "The plain environment holds Phoenix's port, root path, switches and database host and user; its "
            "password and every secret key are injected from Secrets Manager.",
        )
        return task_definition

    def _environment(self, settings: DeploymentSettings) -> dict[str, str]:
        return {
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
        }

    def _secrets(self) -> Mapping[str, ecs.Secret]:
        credentials = self.database.secret
        if credentials is None:  # pragma: no cover - from_generated_secret always makes one
            raise RuntimeError("the Phoenix database has no generated secret")
        return {
            "PHOENIX_POSTGRES_PASSWORD": ecs.Secret.from_secrets_manager(credentials, "password"),
            "PHOENIX_SECRET": ecs.Secret.from_secrets_manager(self.jwt_secret),
            "PHOENIX_ADMIN_SECRET": ecs.Secret.from_secrets_manager(self.admin_secret),
            "PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD": ecs.Secret.from_secrets_manager(self.admin_password),
        }

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


def _web_service_spec(network: NetworkStack) -> WebServiceSpec:
    """Phoenix as a web service: one task at ``/phoenix/*``; a deployment stops it before starting the next."""
    return WebServiceSpec(
        name="phoenix",
        container=CONTAINER_NAME,
        port=PHOENIX_PORT,
        security_group=network.phoenix_sg,
        desired_count=1,
        min_healthy_percent=0,
        max_healthy_percent=100,
        health_check=elbv2.HealthCheck(
            path="/healthz",
            healthy_http_codes="200",
            interval=cdk.Duration.seconds(30),
            timeout=cdk.Duration.seconds(5),
        ),
        deregistration_delay=cdk.Duration.seconds(30),
        route_priority=PHOENIX_ROUTE_PRIORITY,
        path_pattern=f"{PHOENIX_PATH}/*",
        grace=cdk.Duration.minutes(5),
    )
