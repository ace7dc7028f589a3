"""What each stack must hold, asserted on the synthesized templates (never on hashed logical ids)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from bedrockgate.gateway_config import render, required_env
from bedrockgate.infra.app import fixed_environment
from bedrockgate.infra.image_contract import CONFIG_DIGEST_VARIABLE
from bedrockgate.infra.report import Synthesized
from bedrockgate.infra.stacks.guardrail import CONTENT_FILTERS, PII_ENTITIES
from bedrockgate.infra.timeouts import LEX_CODE_HOOK_BUDGET, LEX_HANDLER_TOTAL, LEX_LAMBDA_TIMEOUT


def template(synth: Synthesized, name: str) -> Template:
    return Template.from_json(synth.templates[f"{synth.deployment.settings.prefix}-{name}"])


def only(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.values()))


def task_definition(synth: Synthesized, stack: str) -> dict[str, Any]:
    """The stack's service task definition (family <prefix>-<stack>; the gateway stack also has the migration's)."""
    family = f"{synth.deployment.settings.prefix}-{stack}"
    tasks = synth.resources(getattr(synth.deployment, stack), "AWS::ECS::TaskDefinition")
    return only({name: task for name, task in tasks.items() if task["Properties"]["Family"] == family})


def container(synth: Synthesized, stack: str) -> dict[str, Any]:
    task = task_definition(synth, stack)
    definitions: list[dict[str, Any]] = task["Properties"]["ContainerDefinitions"]
    assert len(definitions) == 1
    return definitions[0]


def statements(synth: Synthesized, stack: str, role_fragment: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in synth.resources(getattr(synth.deployment, stack), "AWS::IAM::Policy").values():
        roles = json.dumps(policy["Properties"]["Roles"])
        if role_fragment in roles:
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


# --- network -------------------------------------------------------------------------------------


def test_network_is_two_azs_of_public_and_private_subnets_with_endpoints_and_flow_logs(dev: Synthesized) -> None:
    network = template(dev, "network")
    network.resource_count_is("AWS::EC2::VPC", 1)
    network.resource_properties_count_is("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": True}, 2)
    network.resource_properties_count_is("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": False}, 2)
    network.resource_count_is("AWS::EC2::NatGateway", 1)
    network.resource_properties_count_is("AWS::EC2::FlowLog", {"TrafficType": "ALL"}, 1)
    services = json.dumps(dev.resources(dev.deployment.network, "AWS::EC2::VPCEndpoint"))
    for service in ("bedrock-runtime", "secretsmanager", "ecr.api", "ecr.dkr", "logs", ".s3"):
        assert service in services, service
    network.has_resource_properties(
        "AWS::ECS::Cluster", {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]}
    )


def _rules(synth: Synthesized) -> set[tuple[str, str, int]]:
    """(source group, target group, port) of every rule between security groups."""
    groups = {
        name: resource["Properties"]["GroupName"]
        for name, resource in synth.resources(synth.deployment.network, "AWS::EC2::SecurityGroup").items()
    }
    found: set[tuple[str, str, int]] = set()
    for rule in synth.resources(synth.deployment.network, "AWS::EC2::SecurityGroupIngress").values():
        props = rule["Properties"]
        if "SourceSecurityGroupId" not in props:
            continue
        source = groups[props["SourceSecurityGroupId"]["Fn::GetAtt"][0]]
        target = groups[props["GroupId"]["Fn::GetAtt"][0]]
        assert props["FromPort"] == props["ToPort"]
        found.add((source.removeprefix("bedrockgate-dev-"), target.removeprefix("bedrockgate-dev-"), props["FromPort"]))
    return found


def test_security_groups_admit_exactly_the_designed_paths(dev: Synthesized) -> None:
    assert _rules(dev) == {
        ("alb", "gateway", 4000),
        ("alb", "phoenix", 6006),
        ("gateway", "database", 5432),
        ("gateway", "cache", 6379),
        ("gateway", "phoenix", 6006),
        ("phoenix", "phoenixdatabase", 5432),
        ("chatbot", "gateway", 4000),
        ("chatbot", "endpoints", 443),
    }
    # No stack but the network stack adds rules (CloudFormation refuses a duplicate permission).
    for stack in dev.deployment.stacks:
        if stack is not dev.deployment.network:
            assert not dev.resources(stack, "AWS::EC2::SecurityGroupIngress"), stack.stack_name


def test_data_stores_only_ever_open_to_their_client(dev: Synthesized) -> None:
    network = template(dev, "network")
    for group in ("database", "cache", "phoenixdatabase"):
        network.has_resource_properties(
            "AWS::EC2::SecurityGroup",
            {
                "GroupName": f"bedrockgate-dev-{group}",
                "SecurityGroupEgress": [Match.object_like({"CidrIp": "255.255.255.255/32"})],
            },
        )


def test_alb_is_open_to_clients_on_port_80_without_a_domain(dev: Synthesized) -> None:
    template(dev, "network").has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupName": "bedrockgate-dev-alb",
            "SecurityGroupIngress": [Match.object_like({"CidrIp": "0.0.0.0/0", "FromPort": 80})],
        },
    )


def _alb_ingress(synth: Synthesized) -> set[tuple[str, int]]:
    """(source, port) of every ingress rule of the ALB's security group, inline or standalone."""
    groups = synth.resources(synth.deployment.network, "AWS::EC2::SecurityGroup")
    [(name, group)] = [(n, g) for n, g in groups.items() if g["Properties"]["GroupName"].endswith("-alb")]
    rules = list(group["Properties"].get("SecurityGroupIngress", []))
    rules += [
        rule["Properties"]
        for rule in synth.resources(synth.deployment.network, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [name, "GroupId"]}
    ]
    return {
        (rule.get("CidrIp") or rule.get("CidrIpv6") or rule["SourcePrefixListId"], rule["FromPort"]) for rule in rules
    }


def test_with_an_allow_list_only_those_cidrs_reach_the_alb(public_https: Synthesized) -> None:
    assert _alb_ingress(public_https) == {("198.51.100.0/24", 443)}


def test_with_a_domain_only_cloudfronts_origin_facing_prefix_list_reaches_the_alb(with_domain: Synthesized) -> None:
    # us-west-2's com.amazonaws.global.cloudfront.origin-facing; the allow-list is CloudFront's WAF's job.
    assert with_domain.deployment.settings.allowed_cidrs
    assert _alb_ingress(with_domain) == {("pl-82a045eb", 443)}


def test_an_internal_alb_admits_the_vpc(internal: Synthesized) -> None:
    assert _alb_ingress(internal) == {("10.40.0.0/16", 80)}


# --- data ----------------------------------------------------------------------------------------


def test_aurora_is_serverless_v2_encrypted_with_generated_credentials(dev: Synthesized) -> None:
    data = template(dev, "data")
    data.has_resource_properties(
        "AWS::RDS::DBCluster",
        {
            "Engine": "aurora-postgresql",
            "StorageEncrypted": True,
            "EnableIAMDatabaseAuthentication": True,
            "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 4},
            "DatabaseName": "litellm",
            "MasterUsername": "litellm",
        },
    )
    data.has_resource_properties("AWS::RDS::DBInstance", {"DBInstanceClass": "db.serverless"})
    data.has_resource_properties("AWS::RDS::DBClusterParameterGroup", {"Parameters": {"rds.force_ssl": "1"}})


def test_database_url_secret_is_assembled_from_the_generated_password(dev: Synthesized) -> None:
    secret = next(
        resource
        for resource in dev.resources(dev.deployment.data, "AWS::SecretsManager::Secret").values()
        if resource["Properties"]["Name"].endswith("/database-url")
    )
    text = json.dumps(secret["Properties"]["SecretString"])
    assert "postgresql://litellm:" in text
    assert "resolve:secretsmanager:" in text
    assert "SecretString:password" in text
    assert "sslmode=require" in text


def test_master_and_salt_keys_are_generated_with_the_sk_prefix(dev: Synthesized) -> None:
    secrets = {
        resource["Properties"]["Name"]: resource["Properties"]
        for resource in dev.resources(dev.deployment.data, "AWS::SecretsManager::Secret").values()
    }
    for key in ("master-key", "salt-key"):
        assembled = json.dumps(secrets[f"bedrockgate-dev/litellm/{key}"]["SecretString"])
        assert '"sk-{{resolve:secretsmanager:"' in assembled, key
        assert "GenerateSecretString" in secrets[f"bedrockgate-dev/litellm/{key}-seed"]


def test_valkey_is_encrypted_in_transit_and_at_rest_with_auth(dev: Synthesized) -> None:
    template(dev, "data").has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {
            "Engine": "valkey",
            "TransitEncryptionEnabled": True,
            "TransitEncryptionMode": "required",
            "AtRestEncryptionEnabled": True,
            "AuthToken": Match.any_value(),
            "NumCacheClusters": 2,
            "MultiAZEnabled": True,
            "AutomaticFailoverEnabled": True,
        },
    )


def test_stateful_resources_are_kept_when_deletion_protection_is_on(with_domain: Synthesized) -> None:
    data = with_domain.resources(with_domain.deployment.data, "AWS::RDS::DBCluster")
    assert only(data)["DeletionPolicy"] == "Snapshot"
    assert only(data)["Properties"]["DeletionProtection"] is True


# --- guardrail -----------------------------------------------------------------------------------


def test_guardrail_filters_content_prompt_attacks_and_anonymises_pii(dev: Synthesized) -> None:
    guardrail = template(dev, "guardrail")
    filters = [{"Type": kind, "InputStrength": "HIGH", "OutputStrength": "HIGH"} for kind in CONTENT_FILTERS]
    filters.append({"Type": "PROMPT_ATTACK", "InputStrength": "HIGH", "OutputStrength": "NONE"})
    guardrail.has_resource_properties(
        "AWS::Bedrock::Guardrail",
        {
            "ContentPolicyConfig": {"FiltersConfig": filters},
            "SensitiveInformationPolicyConfig": {
                "PiiEntitiesConfig": [{"Type": kind, "Action": "ANONYMIZE"} for kind in PII_ENTITIES]
            },
        },
    )
    assert {"EMAIL", "PHONE"} <= set(PII_ENTITIES)
    guardrail.resource_count_is("AWS::Bedrock::GuardrailVersion", 1)


def test_guardrail_id_and_version_reach_the_variables_the_config_names(with_domain: Synthesized) -> None:
    environment = {item["Name"]: item["Value"] for item in container(with_domain, "gateway")["Environment"]}
    assert "Fn::ImportValue" in environment["BEDROCK_GUARDRAIL_ID"]
    assert "GuardrailId" in environment["BEDROCK_GUARDRAIL_ID"]["Fn::ImportValue"]
    assert "GuardrailVersion" in environment["BEDROCK_GUARDRAIL_VERSION"]["Fn::ImportValue"]
    apply = [s for s in statements(with_domain, "gateway", "TaskRole") if s["Action"] == "bedrock:ApplyGuardrail"]
    assert len(apply) == 1
    assert "GuardrailArn" in json.dumps(apply[0]["Resource"])


# --- gateway -------------------------------------------------------------------------------------


def test_gateway_runs_litellm_on_arm64_pinned_by_digest(dev: Synthesized) -> None:
    litellm = container(dev, "gateway")
    assert "@sha256:" in json.dumps(litellm["Image"])
    assert litellm["Command"] == ["--config", "/app/config.yaml", "--port", "4000"]
    template(dev, "gateway").has_resource_properties(
        "AWS::ECS::TaskDefinition", {"RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}}
    )


def test_gateway_health_checks_hit_the_proxys_own_route_with_room_for_migrations(dev: Synthesized) -> None:
    litellm = container(dev, "gateway")
    environment = {item["Name"]: item["Value"] for item in litellm["Environment"]}
    # The litellm wheel has no separate health app: nothing asks for one, nothing listens on 4001.
    assert not [name for name in environment if name.startswith("SEPARATE_HEALTH")]
    assert litellm["PortMappings"] == [{"ContainerPort": 4000, "Name": "proxy", "Protocol": "tcp"}]
    command = litellm["HealthCheck"]["Command"]
    assert command[:3] == ["CMD", "python3", "-c"]
    assert "urlopen('http://127.0.0.1:4000/health/liveliness', timeout=4)" in command[3]
    assert litellm["HealthCheck"]["StartPeriod"] == 300
    gateway = template(dev, "gateway")
    gateway.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"Port": 4000, "HealthCheckPort": "traffic-port", "HealthCheckPath": "/health/liveliness", "TargetType": "ip"},
    )
    gateway.has_resource_properties(
        "AWS::ECS::Service",
        {
            "HealthCheckGracePeriodSeconds": 600,
            "DeploymentConfiguration": Match.object_like(
                {"DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}}
            ),
            "LoadBalancers": [Match.object_like({"ContainerName": "litellm", "ContainerPort": 4000})],
        },
    )


def test_gateway_runs_as_the_images_non_root_user_with_only_tmp_writable(dev: Synthesized) -> None:
    litellm = container(dev, "gateway")
    assert litellm["User"] == "10001:10001"
    assert litellm["ReadonlyRootFilesystem"] is True
    mount = {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "writable-tmp"}  # noqa: S108  # in the container
    assert litellm["MountPoints"] == [mount]
    task = task_definition(dev, "gateway")["Properties"]
    # A bare volume: no host path, no EFS, no Docker volume: Fargate's ephemeral storage.
    assert task["Volumes"] == [{"Name": "writable-tmp"}]


def test_gateway_gets_the_digest_of_the_config_its_entrypoint_checks(dev: Synthesized) -> None:
    environment = {item["Name"]: item["Value"] for item in container(dev, "gateway")["Environment"]}
    expected = hashlib.sha256(render(dev.deployment.config).encode()).hexdigest()
    assert environment[CONFIG_DIGEST_VARIABLE] == expected


def test_gateway_scales_on_cpu_from_one_to_four_tasks(dev: Synthesized) -> None:
    gateway = template(dev, "gateway")
    gateway.has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 1, "MaxCapacity": 4})
    gateway.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
                    "TargetValue": 60,
                }
            )
        },
    )


def test_gateway_logs_go_to_cloudwatch_with_retention(dev: Synthesized) -> None:
    template(dev, "gateway").has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": "/bedrockgate-dev/gateway", "RetentionInDays": 30}
    )
    logging = container(dev, "gateway")["LogConfiguration"]
    assert logging["LogDriver"] == "awslogs"
    # A blocking driver stalls the proxy once stdout's pipe is full (`nox -s faults`): never block.
    assert logging["Options"]["mode"] == "non-blocking"
    assert logging["Options"]["max-buffer-size"] == "26214400b"


def test_gateway_task_gets_exactly_the_config_variables_and_secrets_from_secrets_manager(dev: Synthesized) -> None:
    litellm = container(dev, "gateway")
    plain = {item["Name"] for item in litellm["Environment"]}
    secret = {item["Name"] for item in litellm["Secrets"]}
    config = dev.deployment.config
    required = required_env(config)
    fixed = set(fixed_environment(dev.deployment.settings, config, dev.deployment.wiring))
    assert plain | secret == {variable.name for variable in required} | fixed
    assert not plain & secret
    assert {variable.name for variable in required if variable.secret} <= secret
    assert {"LITELLM_MASTER_KEY", "DATABASE_URL", "REDIS_PASSWORD", "LITELLM_SALT_KEY"} <= secret


def test_gateway_may_invoke_exactly_the_configured_models(dev: Synthesized) -> None:
    invoke = [s for s in statements(dev, "gateway", "TaskRole") if "bedrock:InvokeModel" in s["Action"]]
    assert len(invoke) == 1
    assert sorted(invoke[0]["Action"]) == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    sonnet, haiku = "anthropic.claude-sonnet-4-6", "anthropic.claude-haiku-4-5-20251001-v1:0"
    us = ("us-east-1", "us-east-2", "us-west-2")
    assert set(invoke[0]["Resource"]) == {
        # claude-primary: the US profile and the model in each Region it routes to
        f"arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.{sonnet}",
        *(f"arn:aws:bedrock:{region}::foundation-model/{sonnet}" for region in us),
        # claude-fallback: the global profile, the model here and the Region-less model ARN
        f"arn:aws:bedrock:us-east-1:111111111111:inference-profile/global.{sonnet}",
        f"arn:aws:bedrock:::foundation-model/{sonnet}",
        # claude-fast
        f"arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.{haiku}",
        *(f"arn:aws:bedrock:{region}::foundation-model/{haiku}" for region in us),
        # embeddings
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
    }


def _exported(synth: Synthesized, imported: dict[str, Any]) -> Any:
    """The value of the output another stack imports (its export name, from Fn::ImportValue)."""
    name = imported["Fn::ImportValue"]
    for template in synth.templates.values():
        for output in template.get("Outputs", {}).values():
            if output.get("Export", {}).get("Name") == name:
                return output["Value"]
    raise AssertionError(f"no stack exports {name}")


def _gateway_log_group(synth: Synthesized) -> str:
    """The gateway's log group (the stack also holds the migration runner's)."""
    name = f"/{synth.deployment.settings.prefix}/gateway"
    groups = synth.resources(synth.deployment.gateway, "AWS::Logs::LogGroup")
    (logical_id,) = [key for key, group in groups.items() if group["Properties"].get("LogGroupName") == name]
    return logical_id


def _logical_id(synth: Synthesized, stack: str, kind: str) -> str:
    (logical_id,) = synth.resources(getattr(synth.deployment, stack), kind)
    return logical_id


def test_default_deployment_wires_the_created_guardrail_into_the_gateway(dev: Synthesized) -> None:
    """The production config's two guardrail entries read the guardrail stack's id and numeric version."""
    environment = {item["Name"]: item["Value"] for item in container(dev, "gateway")["Environment"]}
    guardrail = _logical_id(dev, "guardrail", "AWS::Bedrock::Guardrail")
    version = _logical_id(dev, "guardrail", "AWS::Bedrock::GuardrailVersion")
    assert _exported(dev, environment["BEDROCK_GUARDRAIL_ID"]) == {"Fn::GetAtt": [guardrail, "GuardrailId"]}
    # The published version's number (CfnGuardrailVersion), never the guardrail's DRAFT.
    assert _exported(dev, environment["BEDROCK_GUARDRAIL_VERSION"]) == {"Fn::GetAtt": [version, "Version"]}
    apply = [s for s in statements(dev, "gateway", "TaskRole") if "bedrock:ApplyGuardrail" in json.dumps(s["Action"])]
    assert len(apply) == 1
    assert apply[0]["Action"] == "bedrock:ApplyGuardrail"
    assert apply[0]["Effect"] == "Allow"
    # Exactly that guardrail's ARN: one resource, no wildcard.
    assert _exported(dev, apply[0]["Resource"]) == {"Fn::GetAtt": [guardrail, "GuardrailArn"]}


def test_default_deployment_sends_traces_to_the_self_hosted_phoenix(dev: Synthesized) -> None:
    litellm = container(dev, "gateway")
    environment = {item["Name"]: item["Value"] for item in litellm["Environment"]}
    phoenix = dev.deployment.phoenix
    assert phoenix is not None
    assert environment["PHOENIX_COLLECTOR_HTTP_ENDPOINT"] == "http://phoenix.bedrockgate-dev.internal:6006/v1/traces"
    assert environment["PHOENIX_COLLECTOR_HTTP_ENDPOINT"] == phoenix.collector_endpoint
    secrets = {item["Name"]: item["ValueFrom"] for item in litellm["Secrets"]}
    (admin_secret,) = (
        logical_id
        for logical_id, resource in dev.resources(phoenix, "AWS::SecretsManager::Secret").items()
        if resource["Properties"]["Name"] == "bedrockgate-dev/phoenix/admin-secret"
    )
    # Phoenix's system token, which it accepts as the OTLP bearer token.
    assert _exported(dev, secrets["PHOENIX_API_KEY"]) == {"Ref": admin_secret}
    assert set(secrets) == {
        "DATABASE_URL",
        "LITELLM_MASTER_KEY",
        "LITELLM_SALT_KEY",
        "PHOENIX_API_KEY",
        "REDIS_PASSWORD",
    }


def test_cross_region_profile_grants_the_profile_and_its_destination_models(with_domain: Synthesized) -> None:
    invoke = next(s for s in statements(with_domain, "gateway", "TaskRole") if "bedrock:InvokeModel" in s["Action"])
    assert set(invoke["Resource"]) == {
        "arn:aws:bedrock:us-west-2:111111111111:inference-profile/us.amazon.nova-pro-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
        "arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-pro-v1:0",
        "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0",
        "arn:aws:bedrock:us-west-2::foundation-model/amazon.titan-embed-text-v2:0",
    }


def test_execution_role_reads_exactly_the_injected_secrets(dev: Synthesized) -> None:
    reads = [s for s in statements(dev, "gateway", "ExecutionRole") if "secretsmanager:GetSecretValue" in s["Action"]]
    injected = {json.dumps(item["ValueFrom"], sort_keys=True) for item in container(dev, "gateway")["Secrets"]}
    assert {json.dumps(s["Resource"], sort_keys=True) for s in reads} == injected
    assert all("*" not in json.dumps(s["Resource"]) for s in reads)


# --- phoenix -------------------------------------------------------------------------------------


def test_phoenix_has_auth_its_own_database_and_the_phoenix_path(dev: Synthesized) -> None:
    phoenix = container(dev, "phoenix")
    environment = {item["Name"]: item["Value"] for item in phoenix["Environment"]}
    assert environment["PHOENIX_ENABLE_AUTH"] == "true"
    assert environment["PHOENIX_HOST_ROOT_PATH"] == "/phoenix"
    assert {item["Name"] for item in phoenix["Secrets"]} == {
        "PHOENIX_POSTGRES_PASSWORD",
        "PHOENIX_SECRET",
        "PHOENIX_ADMIN_SECRET",
        "PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD",
    }
    stack = template(dev, "phoenix")
    stack.has_resource_properties("AWS::RDS::DBCluster", {"DatabaseName": "phoenix", "StorageEncrypted": True})
    stack.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        {"Priority": 10, "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/phoenix/*"]}}]},
    )


def test_litellm_traces_go_to_phoenix_inside_the_vpc(with_domain: Synthesized) -> None:
    environment = {item["Name"]: item["Value"] for item in container(with_domain, "gateway")["Environment"]}
    assert environment["PHOENIX_COLLECTOR_HTTP_ENDPOINT"] == "http://phoenix.bedrockgate-dev.internal:6006/v1/traces"
    assert "PHOENIX_API_KEY" in {item["Name"] for item in container(with_domain, "gateway")["Secrets"]}


# --- edge ----------------------------------------------------------------------------------------


def _web_acl(synth: Synthesized) -> dict[str, Any]:
    """The one web ACL: in CloudFront's us-east-1 stack with a domain, else in the edge stack."""
    stack = synth.deployment.cloudfront or synth.deployment.edge
    properties: dict[str, Any] = only(synth.resources(stack, "AWS::WAFv2::WebACL"))["Properties"]
    return properties


def test_waf_has_managed_rules_a_rate_limit_and_lets_large_prompts_through(dev: Synthesized) -> None:
    acl = _web_acl(dev)
    assert acl["Scope"] == "REGIONAL"
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    assert {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesKnownBadInputsRuleSet",
    } <= set(rules)
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    rate = rules["RateLimitPerIp"]
    assert rate["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": 2000,
        "EvaluationWindowSec": 300,
    }
    assert rate["Action"] == {"Block": {}}
    assert "AllowListOnly" not in rules
    template(dev, "edge").resource_count_is("AWS::WAFv2::WebACLAssociation", 1)


def test_waf_logs_redact_the_authorization_header(dev: Synthesized) -> None:
    template(dev, "edge").has_resource_properties(
        "AWS::WAFv2::LoggingConfiguration",
        {"RedactedFields": Match.array_with([{"SingleHeader": {"Name": "authorization"}}])},
    )


def test_waf_blocks_everyone_outside_the_allow_list(with_domain: Synthesized) -> None:
    rule = _web_acl(with_domain)["Rules"][0]
    assert rule["Name"] == "AllowListOnly"
    assert rule["Action"] == {"Block": {}}
    assert len(rule["Statement"]["NotStatement"]["Statement"]["OrStatement"]["Statements"]) == 2
    assert with_domain.deployment.cloudfront is not None
    sets = with_domain.resources(with_domain.deployment.cloudfront, "AWS::WAFv2::IPSet")
    assert sorted(s["Properties"]["Addresses"][0] for s in sets.values()) == ["2001:db8::/32", "203.0.113.0/24"]
    assert {s["Properties"]["Scope"] for s in sets.values()} == {"CLOUDFRONT"}


def test_alb_idle_timeout_outlasts_the_gateway_and_logs_access(dev: Synthesized) -> None:
    attributes = {
        item["Key"]: item["Value"]
        for item in only(dev.resources(dev.deployment.edge, "AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"][
            "LoadBalancerAttributes"
        ]
    }
    assert attributes["idle_timeout.timeout_seconds"] == "125"  # the config's 120 s + 5 s
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_cloudfront_calls_the_origin_over_tls12_with_the_gateway_timeout(with_domain: Synthesized) -> None:
    distribution = only(with_domain.resources(with_domain.deployment.edge, "AWS::CloudFront::Distribution"))
    config = distribution["Properties"]["DistributionConfig"]
    origin = config["Origins"][0]
    assert origin["DomainName"] == "origin.gateway.example.com"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    assert origin["CustomOriginConfig"]["OriginReadTimeout"] == 65  # nova-guardrail's 60 s + 5 s
    assert config["Aliases"] == ["gateway.example.com"]
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["Logging"]["Bucket"]
    edge = Template.from_json(with_domain.template(with_domain.deployment.edge))
    edge.has_resource_properties("AWS::ElasticLoadBalancingV2::Listener", {"Port": 443, "Protocol": "HTTPS"})
    edge.resource_count_is("AWS::Route53::RecordSet", 3)  # the domain (A, AAAA) and the origin


def test_cloudfront_certificate_is_made_in_us_east_1(with_domain: Synthesized) -> None:
    stack = with_domain.deployment.cloudfront
    assert stack is not None
    assert stack.region == "us-east-1"
    Template.from_json(with_domain.template(stack)).has_resource_properties(
        "AWS::CertificateManager::Certificate", {"DomainName": "gateway.example.com", "ValidationMethod": "DNS"}
    )


# --- chatbot -------------------------------------------------------------------------------------


def test_chatbot_lambda_is_the_lex_fulfillment_handler_within_lexs_budget(dev: Synthesized) -> None:
    chatbot = template(dev, "chatbot")
    chatbot.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "bedrockgate.lex_fulfillment.lambda_handler",
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Timeout": LEX_LAMBDA_TIMEOUT,
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "LITELLM_ENDPOINT": "http://gateway.bedrockgate-dev.internal:4000",
                        "LITELLM_MODEL": "claude-primary",
                        "LITELLM_API_KEY_SECRET_ARN": Match.any_value(),
                        "LEX_TOTAL_TIMEOUT_SECONDS": str(LEX_HANDLER_TOTAL),
                    }
                )
            },
        },
    )
    assert LEX_HANDLER_TOTAL < LEX_LAMBDA_TIMEOUT < LEX_CODE_HOOK_BUDGET


def test_lex_bot_sends_fallback_to_the_code_hook_through_a_version_and_alias(dev: Synthesized) -> None:
    chatbot = template(dev, "chatbot")
    chatbot.has_resource_properties(
        "AWS::Lex::Bot",
        {
            "BotLocales": [
                Match.object_like(
                    {
                        "LocaleId": "en_US",
                        "Intents": Match.array_with(
                            [
                                Match.object_like(
                                    {
                                        "Name": "FallbackIntent",
                                        "ParentIntentSignature": "AMAZON.FallbackIntent",
                                        "FulfillmentCodeHook": {"Enabled": True},
                                    }
                                )
                            ]
                        ),
                    }
                )
            ]
        },
    )
    chatbot.resource_count_is("AWS::Lex::BotVersion", 1)
    chatbot.has_resource_properties(
        "AWS::Lex::BotAlias",
        {
            "BotAliasName": "live",
            "BotAliasLocaleSettings": [
                Match.object_like(
                    {
                        "BotAliasLocaleSetting": Match.object_like(
                            {
                                "CodeHookSpecification": {
                                    "LambdaCodeHook": Match.object_like({"CodeHookInterfaceVersion": "1.0"})
                                }
                            }
                        )
                    }
                )
            ],
        },
    )
    chatbot.resource_properties_count_is("AWS::Lambda::Permission", {"Principal": "lexv2.amazonaws.com"}, 2)


def test_lambda_code_is_the_lex_fulfillment_zip_without_bundling(dev: Synthesized) -> None:
    """The asset is the zip lambda_zip builds, byte for byte: runtime modules only, no bundle.py."""
    assets = json.loads((dev.outdir / "bedrockgate-dev-chatbot.assets.json").read_text())
    sources = [entry["source"] for entry in assets["files"].values() if entry["source"]["path"].endswith(".zip")]
    assert len(sources) == 1
    assert sources[0].get("packaging", "file") == "file"  # uploaded as it is, not re-zipped
    staged = dev.outdir / sources[0]["path"]
    asset = dev.deployment.settings.chatbot.lambda_asset
    assert asset is not None
    assert staged.read_bytes() == asset.read_bytes()
    with zipfile.ZipFile(staged) as archive:
        names = archive.namelist()
    assert "bedrockgate/lex_fulfillment/__init__.py" in names
    assert "bedrockgate/lex_fulfillment/handler.py" in names
    assert not [name for name in names if name.endswith("bundle.py") or "__pycache__" in name]


# --- observability -------------------------------------------------------------------------------


def test_alarms_per_model_group_and_on_hourly_cost_go_to_an_encrypted_topic(dev: Synthesized) -> None:
    groups = dev.deployment.config.model_groups()
    observability = template(dev, "observability")
    # error rate, p95 and p99 per model group; ApplicationErrors; hourly cost
    observability.resource_count_is("AWS::CloudWatch::Alarm", 3 * len(groups) + 2)
    observability.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    observability.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    alarms = dev.resources(dev.deployment.observability, "AWS::CloudWatch::Alarm")
    cost = [alarm["Properties"] for alarm in alarms.values() if "in an hour" in alarm["Properties"]["AlarmDescription"]]
    assert len(cost) == 1
    assert cost[0]["Threshold"] == 10
    stat = cost[0]["Metrics"][0]["MetricStat"]
    assert stat["Metric"]["MetricName"] == "ResponseCostUSD"
    assert stat["Period"] == 3600
    assert stat["Stat"] == "Sum"
    descriptions = json.dumps(alarms)
    for group in groups:
        assert f"{group}: more than" in descriptions
        assert f"{group}: p95 latency above 20000 ms" in descriptions
        assert f"{group}: p99 latency" in descriptions
    stats = {
        alarm["Properties"]["AlarmDescription"]: alarm["Properties"]["Metrics"][0]["MetricStat"]
        for alarm in alarms.values()
        if "MetricStat" in alarm["Properties"]["Metrics"][0]  # the error-rate alarms are math expressions
    }
    p95 = stats["claude-fast: p95 latency above 20000 ms for 15 minutes"]
    assert p95["Stat"] == "p95"
    assert p95["Metric"]["MetricName"] == "ResponseTimeMs"
    assert {"Name": "ModelGroup", "Value": "claude-fast"} in p95["Metric"]["Dimensions"]
    errors = stats["The gateway logged more than 10 ERROR lines per 5 minutes for 15 minutes"]
    assert errors == {
        "Metric": {"MetricName": "ApplicationErrors", "Namespace": "LiteLLMGateway"},
        "Period": 300,
        "Stat": "Sum",
    }


def test_dashboard_has_every_model_group_and_the_platform_metrics(dev: Synthesized) -> None:
    body = json.dumps(
        only(dev.resources(dev.deployment.observability, "AWS::CloudWatch::Dashboard"))["Properties"]["DashboardBody"]
    )
    for group in dev.deployment.config.model_groups():
        assert f'\\"ModelGroup\\",\\"{group}\\"' in body, group
    for metric in ("RequestCount", "RequestErrors", "ResponseTimeMs", "InputTokens", "OutputTokens", "ResponseCostUSD"):
        assert metric in body, metric
    for stat in ("p50", "p95", "p99"):
        assert f'\\"stat\\":\\"{stat}\\"' in body
    for metric in (
        "CPUUtilization",
        "MemoryUtilization",
        "HTTPCode_Target_5XX_Count",
        "HTTPCode_ELB_5XX_Count",
        "TargetResponseTime",
    ):
        assert metric in body, metric
    assert "LiteLLMGateway" in body
    assert "KeyAlias" in body
    assert "Team" in body


def _dashboard(synth: Synthesized) -> str:
    body = only(synth.resources(synth.deployment.observability, "AWS::CloudWatch::Dashboard"))["Properties"]
    # The body is a Fn::Join of strings and tokens: the strings in order are the JSON around the tokens.
    parts = body["DashboardBody"]["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else "<token>" for part in parts)


def test_dashboard_has_alb_requests_and_per_request_tokens_and_cost(dev: Synthesized) -> None:
    body = _dashboard(dev)
    widgets = json.loads(body.replace("<token>", "token"))["widgets"]
    titles = {widget["properties"].get("title"): widget["properties"] for widget in widgets}
    assert titles["ALB: requests per 5 minutes"]["metrics"][0][:2] == ["AWS/ApplicationELB", "RequestCount"]
    groups = dev.deployment.config.model_groups()
    per_request = {"Tokens per request (input + output)": "TotalTokens", "Cost per request (USD)": "ResponseCostUSD"}
    for title, metric in per_request.items():
        lines = titles[title]["metrics"]
        expressions = [line[0]["expression"] for line in lines if isinstance(line[0], dict)]
        # Per model group: its metric over its RequestCount, 0 for a period without requests.
        assert expressions == [
            f"IF(requests{index} > 0, {metric.lower()}{index} / requests{index}, 0)" for index in range(len(groups))
        ]
        inputs = [line for line in lines if not isinstance(line[0], dict)]
        assert {line[1] for line in inputs} == {"RequestCount", metric}
        assert {line[line.index("ModelGroup") + 1] for line in inputs} == set(groups)
    assert titles["ApplicationErrors: ERROR lines in the gateway's logs"]["metrics"][0][:2] == [
        "LiteLLMGateway",
        "ApplicationErrors",
    ]
    for title in ("Top errors (gateway logs)", "Slowest requests per model group (ms)"):
        assert titles[title]["view"] == "table"
        assert "SOURCE" in titles[title]["query"]


def test_application_errors_come_from_the_json_logs_error_level(dev: Synthesized) -> None:
    metric_filter = only(dev.resources(dev.deployment.observability, "AWS::Logs::MetricFilter"))["Properties"]
    assert metric_filter["FilterPattern"] == '{ $.level = "ERROR" }'
    assert metric_filter["MetricTransformations"] == [
        {
            "MetricName": "ApplicationErrors",
            "MetricNamespace": "LiteLLMGateway",
            "MetricValue": "1",
            "DefaultValue": 0,
            "Unit": "Count",
        }
    ]
    # On the gateway's own log group.
    log_group = _gateway_log_group(dev)
    assert _exported(dev, metric_filter["LogGroupName"]) == {"Ref": log_group}


def test_logs_insights_queries_find_top_errors_and_the_slowest_requests_per_model_group(dev: Synthesized) -> None:
    queries = {
        resource["Properties"]["Name"]: resource["Properties"]
        for resource in dev.resources(dev.deployment.observability, "AWS::Logs::QueryDefinition").values()
    }
    assert set(queries) == {"bedrockgate-dev/top-errors", "bedrockgate-dev/slowest-requests-per-model-group"}
    top = queries["bedrockgate-dev/top-errors"]["QueryString"]
    assert 'filter level = "ERROR"' in top
    assert "by message" in top
    assert "sort errors desc" in top
    slowest = queries["bedrockgate-dev/slowest-requests-per-model-group"]["QueryString"]
    # The metrics callback's EMF lines: litellm_metric, ModelGroup and ResponseTimeMs.
    assert "ispresent(litellm_metric)" in slowest
    assert "max(ResponseTimeMs)" in slowest
    assert "pct(ResponseTimeMs, 95)" in slowest
    assert "by ModelGroup" in slowest
    assert "sort slowest_ms desc" in slowest
    for query in queries.values():
        (log_group,) = query["LogGroupNames"]
        assert _exported(dev, log_group) == {"Ref": _gateway_log_group(dev)}


@pytest.mark.parametrize(
    "stack", ["registry", "network", "data", "guardrail", "edge", "phoenix", "gateway", "chatbot", "observability"]
)
def test_every_stack_is_tagged_and_named_after_what_it_holds(dev: Synthesized, stack: str) -> None:
    built = getattr(dev.deployment, stack)
    assert built.stack_name == f"bedrockgate-dev-{stack}"
    assert built.region == "us-east-1"
    assert built.account == "111111111111"
    # Synth applied the app's tags; the dev app has no source commit, so none is recorded.
    assert built.tags.tag_values() == {"project": "bedrockgate", "environment": "dev"}
