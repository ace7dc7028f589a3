"""A monthly cost estimate of one deployment, by service, from the pricing table in this package.

Fixed costs come from the sizes in the settings (tasks, ACUs, nodes, NAT gateways) and from what
the synthesized templates hold (endpoints, secrets, alarms, WAF rules, keys), so the estimate
follows the app rather than a hand-kept list. Usage-based costs use the table's ``assumptions``
(dev traffic). Bedrock model usage is not estimated.
"""

from __future__ import annotations

import importlib.resources
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bedrockgate.infra.settings import DeploymentSettings

__all__ = ["CostLine", "Pricing", "estimate", "load_pricing"]

# The metrics callback writes up to 10 metrics (TimeToFirstTokenMs only for streamed requests).
_CALLBACK_METRICS = 10


@dataclass(frozen=True, slots=True)
class Pricing:
    """The pricing table: prices by service, its date, source and the usage assumptions."""

    date: str
    region: str
    currency: str
    source: str
    hours: float
    prices: Mapping[str, Any]
    assumptions: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class CostLine:
    """One service's monthly cost and how it was reckoned."""

    service: str
    monthly: float
    basis: str


def load_pricing() -> Pricing:
    """The pricing table shipped with this package (``pricing.toml``)."""
    text = importlib.resources.files("bedrockgate.infra").joinpath("pricing.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return Pricing(
        date=str(data["date"]),
        region=str(data["region"]),
        currency=str(data["currency"]),
        source=str(data["source"]),
        hours=float(data["hours_per_month"]),
        prices={key: value for key, value in data.items() if isinstance(value, dict) and key != "assumptions"},
        assumptions={key: float(value) for key, value in data["assumptions"].items()},
    )


def _count(templates: Mapping[str, Mapping[str, Any]], resource_type: str, **properties: Any) -> int:
    total = 0
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            if resource.get("Type") != resource_type:
                continue
            props = resource.get("Properties", {})
            if all(props.get(key) == value for key, value in properties.items()):
                total += 1
    return total


def _waf_rules(templates: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(
        len(resource.get("Properties", {}).get("Rules", []))
        for template in templates.values()
        for resource in template.get("Resources", {}).values()
        if resource.get("Type") == "AWS::WAFv2::WebACL"
    )


def estimate(
    settings: DeploymentSettings, templates: Mapping[str, Mapping[str, Any]], *, model_groups: int, pricing: Pricing
) -> list[CostLine]:
    """Monthly cost by service for this deployment (sizes from settings, counts from templates)."""
    lines = [
        *_compute_and_data(settings, templates, pricing),
        *_network_and_edge(settings, templates, pricing),
        *_platform(settings, templates, pricing, model_groups),
    ]
    return [CostLine(line.service, round(line.monthly, 2), line.basis) for line in lines]


def _compute_and_data(
    settings: DeploymentSettings, templates: Mapping[str, Mapping[str, Any]], pricing: Pricing
) -> list[CostLine]:
    p, a, hours = pricing.prices, pricing.assumptions, pricing.hours
    sizes = settings.sizes
    fargate = p["fargate"]

    def task_month(cpu: int, memory: int) -> float:
        return float(cpu / 1024 * fargate["arm_vcpu_hour"] + memory / 1024 * fargate["arm_gb_hour"]) * hours

    gateway = sizes.gateway_min_tasks * task_month(sizes.gateway_cpu, sizes.gateway_memory_mib)
    phoenix = task_month(sizes.phoenix_cpu, sizes.phoenix_memory_mib)
    lines = [
        CostLine(
            "ECS Fargate (ARM64)",
            gateway + phoenix,
            f"gateway {sizes.gateway_min_tasks} x {sizes.gateway_cpu / 1024:g} vCPU/"
            f"{sizes.gateway_memory_mib / 1024:g} GB (scales to {sizes.gateway_max_tasks}), Phoenix 1 x "
            f"{sizes.phoenix_cpu / 1024:g} vCPU/{sizes.phoenix_memory_mib / 1024:g} GB, always on",
        )
    ]
    aurora = p["aurora_serverless_v2"]
    litellm_acus = sizes.database_min_acu * (1 + sizes.database_readers)
    acus = litellm_acus + sizes.phoenix_database_min_acu
    clusters = _count(templates, "AWS::RDS::DBCluster")
    per_cluster = (
        a["aurora_storage_gb_per_cluster"] * aurora["storage_gb_month"]
        + a["aurora_io_millions_per_cluster"] * aurora["io_per_million"]
    )
    lines.append(
        CostLine(
            "Aurora PostgreSQL Serverless v2",
            acus * aurora["acu_hour"] * hours + clusters * per_cluster,
            f"{clusters} clusters at their minimum ({litellm_acus:g} + {sizes.phoenix_database_min_acu:g} ACU), "
            f"{a['aurora_storage_gb_per_cluster']:g} GB and {a['aurora_io_millions_per_cluster']:g}M I/Os each",
        )
    )
    node_price = p["elasticache_valkey"]["node_hour"].get(sizes.cache_node_type)
    if node_price is None:
        lines.append(
            CostLine("ElastiCache (Valkey)", 0.0, f"{sizes.cache_node_type} is not in the pricing table: add it")
        )
    else:
        lines.append(
            CostLine(
                "ElastiCache (Valkey)",
                sizes.cache_nodes * node_price * hours,
                f"{sizes.cache_nodes} x {sizes.cache_node_type}",
            )
        )
    return lines


def _network_and_edge(
    settings: DeploymentSettings, templates: Mapping[str, Mapping[str, Any]], pricing: Pricing
) -> list[CostLine]:
    p, a, hours = pricing.prices, pricing.assumptions, pricing.hours
    nat, endpoint, alb, waf = p["nat_gateway"], p["vpc_endpoint"], p["alb"], p["waf"]
    nats = _count(templates, "AWS::EC2::NatGateway")
    endpoints = _count(templates, "AWS::EC2::VPCEndpoint", VpcEndpointType="Interface")
    rules = _waf_rules(templates)
    acls = _count(templates, "AWS::WAFv2::WebACL")
    requests = a["gateway_requests_per_month"]
    lines = [
        CostLine(
            "VPC: NAT gateways",
            nats * nat["hour"] * hours + a["nat_gb_per_month"] * nat["gb_processed"],
            f"{nats} NAT gateway(s), {a['nat_gb_per_month']:g} GB processed",
        ),
        CostLine(
            "VPC: interface endpoints",
            endpoints * 2 * endpoint["interface_az_hour"] * hours
            + a["endpoint_gb_per_month"] * endpoint["gb_processed"],
            f"{endpoints} endpoints x 2 AZs",
        ),
        CostLine("Elastic Load Balancing (ALB)", (alb["hour"] + alb["lcu_hour"]) * hours, "1 ALB, about 1 LCU"),
        CostLine(
            "AWS WAF",
            acls * waf["web_acl_month"] + rules * waf["rule_month"] + requests / 1e6 * waf["requests_per_million"],
            f"{acls} web ACL, {rules} rules, {requests / 1e6:g}M requests",
        ),
    ]
    if settings.domain is not None:
        lines.append(
            CostLine("Amazon CloudFront", p["cloudfront"]["monthly_within_free_tier"], "within the always-free tier")
        )
    return lines


def _platform(
    settings: DeploymentSettings, templates: Mapping[str, Mapping[str, Any]], pricing: Pricing, model_groups: int
) -> list[CostLine]:
    p, a = pricing.prices, pricing.assumptions
    cw, cloud_map, lex, lam = p["cloudwatch"], p["cloud_map"], p["lex"], p["lambda"]
    alarms = _count(templates, "AWS::CloudWatch::Alarm")
    dashboards = _count(templates, "AWS::CloudWatch::Dashboard")
    series = 1 + model_groups + (int(a["key_aliases"] + a["teams"]) if settings.metrics.key_dimensions else 0)
    metrics = _CALLBACK_METRICS * series
    secrets = _count(templates, "AWS::SecretsManager::Secret")
    keys = _count(templates, "AWS::KMS::Key")
    chats = a["chatbot_requests_per_month"]
    gb_seconds = chats * a["chatbot_seconds_per_request"] * settings.sizes.chatbot_lambda_memory_mib / 1024
    return [
        CostLine(
            "Amazon CloudWatch",
            dashboards * cw["dashboard_month"]
            + alarms * cw["standard_alarm_month"]
            + a["logs_gb_per_month"] * (cw["logs_ingested_gb"] + cw["logs_stored_gb_month"])
            + metrics * cw["custom_metric_month"],
            f"{dashboards} dashboard, {alarms} alarms, {metrics} EMF metrics ({model_groups} model groups), "
            f"{a['logs_gb_per_month']:g} GB of logs",
        ),
        CostLine("AWS Secrets Manager", secrets * p["secrets_manager"]["secret_month"], f"{secrets} secrets"),
        CostLine("AWS KMS", keys * p["kms"]["key_month"], f"{keys} customer managed key(s)"),
        CostLine(
            "AWS Cloud Map",
            cloud_map["hosted_zone_month"]
            + (settings.sizes.gateway_min_tasks + 1) * cloud_map["registered_resource_month"],
            "1 private namespace, one registration per task",
        ),
        CostLine(
            "Amazon Lex + AWS Lambda",
            chats * lex["text_request"] + gb_seconds * lam["arm_gb_second"] + chats / 1e6 * lam["requests_per_million"],
            f"{chats:g} chatbot requests of ~{a['chatbot_seconds_per_request']:g} s",
        )
        if settings.chatbot.enabled
        else CostLine("Amazon Lex + AWS Lambda", 0.0, "chatbot disabled"),
    ]
