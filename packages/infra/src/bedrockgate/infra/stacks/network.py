"""Network: the VPC, its endpoints, every security group and the rules between them, the cluster.

Two AZs; public subnets hold only the internet-facing ALB and the NAT gateway; private subnets with
egress hold the ECS tasks, Aurora, Valkey, the chatbot's Lambda and an internal ALB. Who may reach
the ALB depends on the exposure: CloudFront's origin-facing prefix list only (cloudfront), the
allow-list or anyone (public_alb), the allow-list or the VPC (internal). Interface endpoints keep the gateway's
Bedrock, Secrets Manager, ECR and CloudWatch Logs traffic inside the VPC (an S3 gateway endpoint
serves ECR's image layers). Security groups admit exactly the paths the design draws::

    client → ALB → gateway :4000 (proxy and its health checks) → Aurora :5432, Valkey :6379
             ALB → Phoenix :6006 → Phoenix's Aurora :5432
    gateway → Phoenix :6006 (OTLP traces)       chatbot Lambda → gateway :4000

The ECS cluster (with Container Insights) and the private DNS namespace through which the gateway
reaches Phoenix and the chatbot reaches the gateway live here too, so the service stacks depend on
this one and never on each other's internals.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk import aws_servicediscovery as servicediscovery
from bedrockgate.infra.exceptions import SettingsError
from bedrockgate.infra.exposure import origin_facing_prefix_list
from bedrockgate.infra.image_contract import GATEWAY_PORT
from bedrockgate.infra.nag import acknowledge
from bedrockgate.infra.settings import DeploymentSettings
from constructs import Construct

__all__ = ["CACHE_PORT", "DATABASE_PORT", "PHOENIX_PORT", "NetworkStack"]

# The gateway's port is the image's contract: bedrockgate.infra.image_contract.GATEWAY_PORT.
PHOENIX_PORT = 6006
DATABASE_PORT = 5432
CACHE_PORT = 6379
VPC_CIDR = "10.40.0.0/16"


class NetworkStack(cdk.Stack):
    """The VPC, endpoints, security groups, flow logs, service namespace and ECS cluster."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploymentSettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.vpc = self._vpc(settings)
        self.private_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.public_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)

        self.alb_sg = self._group("Alb", "The gateway ALB: from clients or CloudFront, to the services")
        self.gateway_sg = self._group("Gateway", "LiteLLM tasks: from the ALB and the chatbot", outbound=True)
        self.phoenix_sg = self._group("Phoenix", "Phoenix tasks: from the ALB and the gateway", outbound=True)
        self.database_sg = self._group("Database", "LiteLLM Aurora PostgreSQL: from the gateway only")
        self.phoenix_database_sg = self._group("PhoenixDatabase", "Phoenix Aurora PostgreSQL: from Phoenix only")
        self.cache_sg = self._group("Cache", "Valkey: from the gateway only")
        self.chatbot_sg = self._group("Chatbot", "The Lex fulfillment Lambda: to the gateway and the endpoints only")
        self.endpoints_sg = self._group("Endpoints", "Interface VPC endpoints: HTTPS from inside the VPC")
        self._client_ingress()
        self._internal_paths()
        self._endpoints()

        self.namespace = servicediscovery.PrivateDnsNamespace(
            self, "Namespace", name=f"{settings.prefix}.internal", vpc=self.vpc, description="bedrockgate services"
        )
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=settings.prefix,
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )

    def _vpc(self, settings: DeploymentSettings) -> ec2.Vpc:
        """Two zones of public and private subnets, NAT as the settings size it, every flow logged."""
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            log_group_name=f"/{settings.prefix}/vpc-flow-logs",
            retention=logs.RetentionDays[settings.log_retention],
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        return ec2.Vpc(
            self,
            "Vpc",
            vpc_name=settings.prefix,
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            # Named explicitly: an Availability Zone lookup would need AWS credentials at synth.
            availability_zones=list(settings.zones),
            nat_gateways=settings.sizes.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20),
            ],
            restrict_default_security_group=True,
            flow_logs={
                "all": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )

    def _internal_paths(self) -> None:
        """Every path inside the VPC, drawn here once: each service reaches exactly what it uses."""
        _allow(self.alb_sg, self.gateway_sg, GATEWAY_PORT, "ALB to LiteLLM's proxy")
        _allow(self.alb_sg, self.phoenix_sg, PHOENIX_PORT, "ALB to Phoenix (/phoenix/*)")
        _allow(self.gateway_sg, self.database_sg, DATABASE_PORT, "LiteLLM to its database")
        _allow(self.gateway_sg, self.cache_sg, CACHE_PORT, "LiteLLM to Valkey")
        _allow(self.gateway_sg, self.phoenix_sg, PHOENIX_PORT, "LiteLLM's traces to Phoenix (OTLP over HTTP)")
        _allow(self.phoenix_sg, self.phoenix_database_sg, DATABASE_PORT, "Phoenix to its database")
        _allow(self.chatbot_sg, self.gateway_sg, GATEWAY_PORT, "The chatbot's Lambda to LiteLLM")
        _allow(self.chatbot_sg, self.endpoints_sg, 443, "The chatbot's Lambda to Secrets Manager's endpoint")
        self.endpoints_sg.add_ingress_rule(ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(443), "AWS APIs from inside the VPC")

    def _endpoints(self) -> None:
        """S3 and the interface endpoints the tasks call (Bedrock, Secrets Manager, ECR, Logs), private DNS on."""
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        for name, service in (
            ("BedrockRuntime", ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME),
            ("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
            ("EcrApi", ec2.InterfaceVpcEndpointAwsService.ECR),
            ("EcrDocker", ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER),
            ("Logs", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS),
        ):
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                private_dns_enabled=True,
                security_groups=[self.endpoints_sg],
                subnets=self.private_subnets,
                open=False,
            )

    def _group(self, name: str, description: str, *, outbound: bool = False) -> ec2.SecurityGroup:
        return ec2.SecurityGroup(
            self,
            f"{name}SecurityGroup",
            vpc=self.vpc,
            description=description,
            security_group_name=f"{self.settings.prefix}-{name.lower()}",
            allow_all_outbound=outbound,
        )

    def _client_ingress(self) -> None:
        """Who may open a connection to the ALB, by exposure (see bedrockgate.infra.exposure).

        cloudfront: only CloudFront's origin-facing managed prefix list of the Region, always (the
        allow-list is enforced by CloudFront's web ACL, which sees the client's address). public_alb:
        the allow-list, else anyone. internal: the allow-list, else the VPC. HTTPS on 443, or plain
        HTTP on 80 with insecure_http.
        """
        settings = self.settings
        port = ec2.Port.tcp(80 if settings.insecure_http else 443)
        exposure = settings.edge_exposure
        if exposure == "cloudfront":
            prefix_list = origin_facing_prefix_list(settings)
            if prefix_list is None:  # pragma: no cover - the settings refuse a Region without one
                raise SettingsError(f"no CloudFront origin-facing prefix list for {settings.region}")
            self.alb_sg.add_ingress_rule(
                ec2.Peer.prefix_list(prefix_list), port, "CloudFront origin-facing (com.amazonaws.global.cloudfront)"
            )
            return
        if settings.allowed_cidrs:
            for cidr in settings.allowed_cidrs:
                peer = ec2.Peer.ipv6(cidr) if ":" in cidr else ec2.Peer.ipv4(cidr)
                self.alb_sg.add_ingress_rule(peer, port, f"allow-listed {cidr}")
            return
        if exposure == "internal":
            self.alb_sg.add_ingress_rule(ec2.Peer.ipv4(VPC_CIDR), port, "agents inside the VPC (internal ALB)")
            return
        self.alb_sg.add_ingress_rule(ec2.Peer.any_ipv4(), port, "the gateway's public endpoint")
        acknowledge(
            self.alb_sg,
            "EC23",
            "The ALB is the gateway's public API endpoint (exposure: public_alb): every request still passes the WAF "
            "web ACL (managed rules, rate limit) and LiteLLM's key check. Set allowed_cidrs, a domain (CloudFront), "
            "or exposure: internal to close it to everyone else.",
        )


def _allow(source: ec2.SecurityGroup, target: ec2.SecurityGroup, port: int, description: str) -> None:
    """Ingress on the target from the source; egress on the source too when its outbound is restricted."""
    target.add_ingress_rule(source, ec2.Port.tcp(port), description)
    if not source.allow_all_outbound:
        source.add_egress_rule(target, ec2.Port.tcp(port), description)
