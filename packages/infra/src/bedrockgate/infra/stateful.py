"""The resource types whose replacement or deletion loses something a redeploy cannot bring back.

The replacement guard (:mod:`bedrockgate.infra.replacement_guard`) refuses a deploy that would
replace or delete one of these unless the operator names it. This table is the one place that
says which types, and why each: a type belongs here when what it holds (data, a generated value,
an identity others keep using) would be gone or different after CloudFormation replaced it.

Deliberately left out: ``AWS::Bedrock::GuardrailVersion`` (a version is immutable, and publishing a
new one on a policy change is its design: the gateway moves to it in the same deploy), subnet and
parameter groups (replacing one is harmless in itself, and when it forces the cluster or cache
that uses it to be replaced, CDK's diff reports that resource as replaced too), and everything
whose whole state is in the template (roles, security groups, ECS services, alarms...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["STATEFUL", "is_stateful", "stateful_reason"]

STATEFUL: Final[Mapping[str, str]] = {
    "AWS::RDS::DBCluster": (
        "the Aurora cluster holds LiteLLM's keys and spend (or Phoenix's traces): a new one starts empty"
    ),
    "AWS::RDS::DBInstance": (
        "a cluster's writer: a new one is an outage while it is made (a standalone instance: its data)"
    ),
    "AWS::ElastiCache::ReplicationGroup": (
        "Valkey holds the rate-limit counters and the response cache; a new one is empty, elsewhere"
    ),
    "AWS::ElastiCache::ServerlessCache": "a serverless cache holds its data and endpoint: a new one starts empty",
    "AWS::ElastiCache::CacheCluster": "a cache cluster holds its data and endpoint: a new one starts empty",
    "AWS::ElastiCache::GlobalReplicationGroup": "a global datastore holds its data across Regions",
    "AWS::SecretsManager::Secret": (
        "a generated secret (a password, a master key) gets a value that its old readers do not know"
    ),
    "AWS::Bedrock::Guardrail": (
        "callers and the published versions refer to the guardrail's id: a new one drops every version"
    ),
    "AWS::Logs::LogGroup": (
        "a log group keeps its events for RetentionInDays (forever without it): a new one starts empty"
    ),
    "AWS::ECR::Repository": "the registry holds the gateway images the task definitions pull by digest",
    "AWS::S3::Bucket": "a bucket holds its objects (here the ALB's and CloudFront's access logs)",
    "AWS::KMS::Key": "what was encrypted under a key is unreadable once the replaced key's scheduled deletion ends",
    "AWS::DynamoDB::Table": "a table holds its items",
    "AWS::DynamoDB::GlobalTable": "a global table holds its items",
    "AWS::EFS::FileSystem": "a file system holds its files",
}
"""Stateful resource types, each with why its replacement or deletion loses something."""


def is_stateful(resource_type: str | None) -> bool:
    """Whether a resource of this type holds state that a replacement or deletion would lose."""
    return resource_type is not None and resource_type in STATEFUL


def stateful_reason(resource_type: str) -> str:
    """Why this type counts as stateful (empty for a type that does not)."""
    return STATEFUL.get(resource_type, "")
