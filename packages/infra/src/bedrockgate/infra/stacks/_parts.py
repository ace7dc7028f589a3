"""Building blocks that more than one stack uses: Aurora Serverless v2 clusters and generated keys."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from bedrockgate.infra.nag import acknowledge
from bedrockgate.infra.settings import DeploymentSettings
from constructs import Construct

__all__ = ["URL_SAFE_EXCLUDED", "generated_key", "serverless_postgres"]

URL_SAFE_EXCLUDED = " %+~`#$&*()|[]{}:;<>?!'/@\"\\,=^.-_"
"""Characters kept out of generated passwords, so they sit in a URL (DATABASE_URL) unescaped."""

NO_ROTATION_DATABASE = (
    "The password is also embedded in a connection string secret (DATABASE_URL, assembled at deploy time for "
    "LiteLLM, or Phoenix's own settings): single-user rotation would change it underneath the running tasks. "
    "Rotate by changing the secret and redeploying."
)


def serverless_postgres(
    scope: Construct,
    construct_id: str,
    *,
    settings: DeploymentSettings,
    name: str,
    vpc: ec2.IVpc,
    subnets: ec2.SubnetSelection,
    security_group: ec2.ISecurityGroup,
    min_acu: float,
    max_acu: float,
    readers: int = 0,
) -> rds.DatabaseCluster:
    """An encrypted Aurora PostgreSQL Serverless v2 cluster with one database ``name``, user ``name``.

    TLS is enforced (``rds.force_ssl``), IAM authentication is on, credentials are generated into
    Secrets Manager, logs go to a log group with the deployment's retention.
    """
    identifier = f"{settings.prefix}-{name}"
    cluster = rds.DatabaseCluster(
        scope,
        construct_id,
        cluster_identifier=identifier,
        engine=rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_11),
        writer=rds.ClusterInstance.serverless_v2("writer", auto_minor_version_upgrade=True),
        readers=[
            rds.ClusterInstance.serverless_v2(f"reader{index}", scale_with_writer=True, auto_minor_version_upgrade=True)
            for index in range(1, readers + 1)
        ],
        serverless_v2_min_capacity=min_acu,
        serverless_v2_max_capacity=max_acu,
        credentials=rds.Credentials.from_generated_secret(
            name, secret_name=f"{settings.prefix}/{name}/database-credentials", exclude_characters=URL_SAFE_EXCLUDED
        ),
        default_database_name=name,
        port=5432,
        parameters={"rds.force_ssl": "1"},
        storage_encrypted=True,
        iam_authentication=True,
        deletion_protection=settings.deletion_protection,
        removal_policy=cdk.RemovalPolicy.SNAPSHOT if settings.deletion_protection else cdk.RemovalPolicy.DESTROY,
        backup=rds.BackupProps(retention=cdk.Duration.days(7)),
        copy_tags_to_snapshot=True,
        cloudwatch_logs_exports=["postgresql"],
        vpc=vpc,
        vpc_subnets=subnets,
        security_groups=[security_group],
    )
    cluster.node.add_dependency(_postgresql_log_group(scope, construct_id, settings, identifier))
    acknowledge(cluster, "SMG4", NO_ROTATION_DATABASE)
    if not settings.deletion_protection:
        acknowledge(
            cluster,
            "RDS10",
            "deletion_protection is false in this environment's deployment settings (a short-lived environment that "
            "is torn down routinely); production settings keep the default, true.",
        )
    return cluster


def _postgresql_log_group(
    scope: Construct, construct_id: str, settings: DeploymentSettings, identifier: str
) -> logs.LogGroup:
    """The cluster's postgresql log export's log group, created here with a retention.

    RDS would create it without one, and a LogRetention custom resource would add a Lambda to the stack.
    """
    return logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        log_group_name=f"/aws/rds/cluster/{identifier}/postgresql",
        retention=logs.RetentionDays[settings.log_retention],
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )


def generated_key(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    description: str,
    prefix: str = "sk-",
    json_field: str | None = None,
) -> secretsmanager.Secret:
    """A random key with a fixed prefix (LiteLLM keys start with ``sk-``), generated in Secrets Manager.

    Secrets Manager generates only the random part; a second secret holds ``prefix + random``,
    assembled by CloudFormation from a dynamic reference, so the value never appears in a template.
    ``json_field`` stores it as ``{"<field>": value}`` instead of a plain string.
    """
    seed = secretsmanager.Secret(
        scope,
        f"{construct_id}Seed",
        secret_name=f"{name}-seed",
        description=f"Random part of {name} (only read by CloudFormation to assemble it)",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            exclude_punctuation=True, include_space=False, password_length=48
        ),
    )
    value = prefix + seed.secret_value.unsafe_unwrap()
    if json_field is not None:
        value = cdk.Fn.join("", ['{"', json_field, '":"', value, '"}'])
    key = secretsmanager.Secret(
        scope,
        construct_id,
        secret_name=name,
        description=description,
        secret_string_value=cdk.SecretValue.unsafe_plain_text(value),
    )
    acknowledge(
        seed,
        "SMG4",
        "Only CloudFormation reads this seed, once, to assemble the key beside it; rotating it would change "
        "nothing that runs.",
    )
    return key
