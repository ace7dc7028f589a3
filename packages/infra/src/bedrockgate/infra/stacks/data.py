"""Data: LiteLLM's Aurora PostgreSQL and Valkey, and the keys LiteLLM needs, all in Secrets Manager.

- Aurora PostgreSQL Serverless v2 (0.5 ACU up to the settings' maximum), encrypted, TLS enforced,
  credentials generated in Secrets Manager, plus a ``DATABASE_URL`` secret assembled from them for
  LiteLLM (``postgresql://...?sslmode=require``).
- Valkey (ElastiCache replication group): encrypted in transit (TLS required) and at rest, AUTH
  token generated in Secrets Manager, a replica in the second AZ with automatic failover.
- With ``multi_provider``, one secret per other provider the config calls
  (``<prefix>/providers/<provider>/api-key``): created with a random value, which the operator
  replaces with the provider's API key (until then that provider answers 401 and the router's
  fallbacks take over); kept with its stack's deletion protection.
- LiteLLM's master key and salt key, generated with the ``sk-`` prefix. The salt key encrypts
  credentials LiteLLM stores in its database and must never change.

Stateful resources are retained (databases snapshotted) unless the settings turn deletion
protection off for a throwaway environment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_secretsmanager as secretsmanager
from bedrockgate.infra.nag import acknowledge
from bedrockgate.infra.settings import DeploymentSettings
from bedrockgate.infra.stacks._parts import generated_key, serverless_postgres
from bedrockgate.infra.stacks.network import CACHE_PORT, DATABASE_PORT, NetworkStack
from bedrockgate.infra.wiring import ProviderSecret
from constructs import Construct

__all__ = ["DataStack"]


class DataStack(cdk.Stack):
    """LiteLLM's database, cache and keys."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        network: NetworkStack,
        provider_secrets: Sequence[ProviderSecret] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.provider_secrets: dict[str, secretsmanager.ISecret] = {
            provider.key: self._provider_secret(settings, provider) for provider in provider_secrets
        }
        self.database = serverless_postgres(
            self,
            "Database",
            settings=settings,
            name="litellm",
            vpc=network.vpc,
            subnets=network.private_subnets,
            security_group=network.database_sg,
            min_acu=settings.sizes.database_min_acu,
            max_acu=settings.sizes.database_max_acu,
            readers=settings.sizes.database_readers,
        )
        self.database_url = self._database_url(settings.prefix)
        self.master_key, self.salt_key = self._litellm_keys(settings.prefix)
        self.cache_auth_token = self._cache_auth_token(settings.prefix)
        self.cache = self._cache(settings, network)

    def _database_url(self, prefix: str) -> secretsmanager.Secret:
        """LiteLLM's ``DATABASE_URL``, assembled by CloudFormation from the generated credentials."""
        credentials = self.database.secret
        if credentials is None:  # pragma: no cover - from_generated_secret always makes one
            raise RuntimeError("the database cluster has no generated secret")
        password = credentials.secret_value_from_json("password").unsafe_unwrap()
        host = self.database.cluster_endpoint.hostname
        database_url = secretsmanager.Secret(
            self,
            "DatabaseUrl",
            secret_name=f"{prefix}/litellm/database-url",
            description="LiteLLM's DATABASE_URL, assembled at deploy time from the generated credentials",
            secret_string_value=cdk.SecretValue.unsafe_plain_text(
                cdk.Fn.join(
                    "",
                    ["postgresql://litellm:", password, "@", host, f":{DATABASE_PORT}/litellm?sslmode=require"],
                )
            ),
        )
        acknowledge(
            database_url,
            "SMG4",
            "DATABASE_URL is derived from the cluster's generated credentials by CloudFormation; it changes only "
            "with them (see the credentials' acknowledgment), never on its own schedule.",
        )
        return database_url

    def _litellm_keys(self, prefix: str) -> tuple[secretsmanager.Secret, secretsmanager.Secret]:
        """LiteLLM's master key and salt key, each ``sk-`` and a generated value."""
        master_key = generated_key(
            self, "MasterKey", name=f"{prefix}/litellm/master-key", description="LiteLLM's master key (admin)"
        )
        acknowledge(
            master_key,
            "SMG4",
            "LiteLLM reads its master key once at start and has no rotation hook; it is rotated by putting a new "
            "sk- value and redeploying the gateway service (documented in the README).",
        )
        salt_key = generated_key(
            self,
            "SaltKey",
            name=f"{prefix}/litellm/salt-key",
            description="LiteLLM's salt key: encrypts stored credentials; never change it after the first start",
        )
        acknowledge(
            salt_key,
            "SMG4",
            "LiteLLM encrypts the credentials it stores in its database with the salt key; rotating it would make "
            "them unreadable (LiteLLM's production guide: do not change it after adding a model).",
        )
        return master_key, salt_key

    def _cache_auth_token(self, prefix: str) -> secretsmanager.Secret:
        token = secretsmanager.Secret(
            self,
            "CacheAuthToken",
            secret_name=f"{prefix}/valkey/auth-token",
            description="Valkey's AUTH token (LiteLLM reads it as REDIS_PASSWORD)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, include_space=False, password_length=64
            ),
        )
        acknowledge(
            token,
            "SMG4",
            "ElastiCache takes a new AUTH token through a ROTATE/SET modification, not a Secrets Manager rotation "
            "Lambda; it is rotated by updating the secret and redeploying both stacks.",
        )
        return token

    def _cache(self, settings: DeploymentSettings, network: NetworkStack) -> elasticache.CfnReplicationGroup:
        """Valkey in the private subnets: TLS required, encrypted at rest, AUTH token, failover with 2+ nodes."""
        prefix = settings.prefix
        subnet_group = elasticache.CfnSubnetGroup(
            self,
            "CacheSubnets",
            cache_subnet_group_name=f"{prefix}-cache",
            description="Private subnets for Valkey",
            subnet_ids=network.vpc.select_subnets(subnet_type=network.private_subnets.subnet_type).subnet_ids,
        )
        nodes = settings.sizes.cache_nodes
        cache = elasticache.CfnReplicationGroup(
            self,
            "Cache",
            replication_group_id=f"{prefix}-cache",
            replication_group_description="LiteLLM's rate limits, router state and response cache",
            engine="valkey",
            engine_version="8.0",
            cache_node_type=settings.sizes.cache_node_type,
            num_cache_clusters=nodes,
            automatic_failover_enabled=nodes > 1,
            multi_az_enabled=nodes > 1,
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=self.cache_auth_token.secret_value.unsafe_unwrap(),
            port=CACHE_PORT,
            cache_subnet_group_name=subnet_group.ref,
            security_group_ids=[network.cache_sg.security_group_id],
            snapshot_retention_limit=1,
            auto_minor_version_upgrade=True,
        )
        cache.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        if nodes == 1:
            acknowledge(
                cache,
                "AEC4",
                "cache_nodes is 1 in this environment's settings: a failed node is replaced by ElastiCache within "
                "minutes and Valkey holds only rate-limit counters and cached answers, an accepted risk outside "
                "production (production settings use 2 or more nodes).",
            )
        return cache

    def _provider_secret(self, settings: DeploymentSettings, provider: ProviderSecret) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            "ProviderKey" + "".join(part.title() for part in re.split(r"[^a-z0-9]+", provider.provider)),
            secret_name=provider.secret_name(settings.prefix),
            description=(
                f"The {provider.provider} API key LiteLLM reads as {provider.variable} (model groups "
                f"{', '.join(provider.model_groups)}): put the key here after the first deploy"
            ),
            removal_policy=cdk.RemovalPolicy.RETAIN if settings.deletion_protection else cdk.RemovalPolicy.DESTROY,
        )
        acknowledge(
            secret,
            "SMG4",
            f"The {provider.provider} API key is issued by {provider.provider}, not by AWS: no rotation Lambda can "
            "create one; it is rotated by putting the new key in the secret and redeploying the gateway service.",
        )
        return secret

    @property
    def cache_host(self) -> str:
        """Valkey's primary endpoint address (a token until deploy)."""
        return self.cache.attr_primary_end_point_address

    @property
    def cache_port(self) -> str:
        """Valkey's port (a token until deploy)."""
        return self.cache.attr_primary_end_point_port
