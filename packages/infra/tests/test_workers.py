"""Workers per task (NUM_WORKERS), what more than one asks of the config and the task, and the migration.

The worker count and the memory rule are properties over every CPU size, override and memory size
(hypothesis, through ``derive_deployment``: the function ``build_app`` calls). The Redis rule, the
migration's derivation and its synthesized task, runner and custom resource are asserted on the
production config (agents-gateway.yaml, which uses a database and Redis) and on variants of it.
"""

from __future__ import annotations

import importlib
import json
from typing import Any, Final

import pytest
from aws_cdk.assertions import Template
from bedrockgate.gateway_config import GatewayConfig
from bedrockgate.infra.app import build_app
from bedrockgate.infra.derivation import Derivation, derive_deployment, load_gateway_config
from bedrockgate.infra.environment import Plain
from bedrockgate.infra.exceptions import ConfigMismatchError, SettingsError
from bedrockgate.infra.image_contract import CONFIG_DIGEST_VARIABLE
from bedrockgate.infra.migration import database_migration
from bedrockgate.infra.migration_runner import handler
from bedrockgate.infra.report import Synthesized
from bedrockgate.infra.settings import DeploymentSettings, Sizes
from bedrockgate.infra.workers import MEMORY_HEADROOM_MIB, RSS_PER_WORKER_MIB, gateway_workers, required_memory_mib
from botocore.stub import Stubber  # type: ignore[import-untyped]  # botocore ships no type information
from hypothesis import given, settings
from hypothesis import strategies as st

CPU_SIZES: Final = (256, 512, 1024, 2048, 4096)


def sized(base: DeploymentSettings, **sizes: Any) -> DeploymentSettings:
    """The settings with some sizes changed, validated again."""
    return base.model_copy(update={"sizes": Sizes.model_validate({**base.sizes.model_dump(), **sizes})})


def fixed_value(derivation: Derivation, name: str) -> str:
    source = derivation.fixed_environment[name]
    assert isinstance(source, Plain)
    return source.value


@pytest.fixture(scope="module")
def production(dev_settings: DeploymentSettings) -> GatewayConfig:
    return load_gateway_config(dev_settings)


def without_redis(config: GatewayConfig) -> GatewayConfig:
    router = config.router_settings
    assert router is not None
    return config.model_copy(
        update={
            "router_settings": router.model_copy(
                update={"redis_host": None, "redis_port": None, "redis_password": None}
            )
        }
    )


def without_database(config: GatewayConfig) -> GatewayConfig:
    general = config.general_settings
    assert general is not None
    return config.model_copy(update={"general_settings": general.model_copy(update={"database_url": None})})


def with_schema_switch(config: GatewayConfig, value: object) -> GatewayConfig:
    general = config.general_settings
    assert general is not None
    passthrough = {**general.passthrough, "disable_prisma_schema_update": value}
    return config.model_copy(update={"general_settings": general.model_copy(update={"passthrough": passthrough})})


# --- the worker count and the memory it needs: properties -------------------------------------------------


@settings(max_examples=200)
@given(cpu=st.sampled_from(CPU_SIZES), override=st.none() | st.integers(min_value=1, max_value=16))
def test_workers_are_one_per_vcpu_unless_set(
    dev_settings: DeploymentSettings, production: GatewayConfig, cpu: int, override: int | None
) -> None:
    expected = override if override is not None else {256: 1, 512: 1, 1024: 1, 2048: 2, 4096: 4}[cpu]
    deployment = sized(dev_settings, gateway_cpu=cpu, gateway_workers=override, gateway_memory_mib=30720)
    derivation = derive_deployment(deployment, production)  # the production config keeps its state in Redis
    assert derivation.workers.count == expected
    assert derivation.workers.origin == ("derived" if override is None else "set")
    assert fixed_value(derivation, "NUM_WORKERS") == str(expected)


@settings(max_examples=300)
@given(
    cpu=st.sampled_from(CPU_SIZES),
    override=st.none() | st.integers(min_value=1, max_value=16),
    memory=st.integers(min_value=512, max_value=30720),
)
def test_synth_refuses_a_task_memory_that_cannot_hold_its_workers(
    dev_settings: DeploymentSettings, production: GatewayConfig, cpu: int, override: int | None, memory: int
) -> None:
    deployment = sized(dev_settings, gateway_cpu=cpu, gateway_workers=override, gateway_memory_mib=memory)
    workers = gateway_workers(deployment).count
    needed = workers * RSS_PER_WORKER_MIB + MEMORY_HEADROOM_MIB
    assert required_memory_mib(workers) == needed
    if memory >= needed:
        assert derive_deployment(deployment, production).workers.count == workers
        return
    with pytest.raises(SettingsError) as refused:
        derive_deployment(deployment, production)
    message = str(refused.value)
    assert f"sizes.gateway_memory_mib {memory}" in message
    assert f"{workers} x {RSS_PER_WORKER_MIB} MiB" in message
    assert f"= {needed} MiB" in message
    assert f"sizes.gateway_memory_mib: {needed} or more" in message
    fits = (memory - MEMORY_HEADROOM_MIB) // RSS_PER_WORKER_MIB
    assert ("run fewer workers" in message) == (1 <= fits < workers)
    if 1 <= fits < workers:
        assert f"sizes.gateway_workers: {fits} or fewer" in message
        assert required_memory_mib(fits) <= memory


@pytest.mark.parametrize("value", [0, 17])
def test_the_worker_override_is_bounded(value: int) -> None:
    with pytest.raises(ValueError, match="gateway_workers"):
        Sizes.model_validate({"gateway_workers": value})


# --- more than one worker needs Redis for routing state and limits --------------------------------------


@pytest.mark.parametrize(
    ("sizes", "origin"),
    [
        ({"gateway_cpu": 2048}, "derived from sizes.gateway_cpu 2048"),
        ({"gateway_cpu": 4096, "gateway_memory_mib": 8192}, "derived from sizes.gateway_cpu 4096"),
        ({"gateway_cpu": 1024, "gateway_workers": 2}, "set by sizes.gateway_workers"),
    ],
)
def test_more_than_one_worker_without_redis_is_refused_naming_both_files_and_both_fixes(
    dev_settings: DeploymentSettings, production: GatewayConfig, sizes: dict[str, int], origin: str
) -> None:
    deployment = sized(dev_settings, **sizes)
    with pytest.raises(ConfigMismatchError) as refused:
        derive_deployment(deployment, without_redis(production))
    message = str(refused.value)
    count = gateway_workers(deployment).count
    assert f"{count} worker(s), {origin}" in message
    assert str(deployment.settings_file) in message
    assert str(deployment.gateway_config) in message
    assert "redis_host: os.environ/REDIS_HOST" in message
    assert "sizes.gateway_workers: 1" in message


@pytest.mark.parametrize(
    "sizes",
    [{"gateway_cpu": 4096, "gateway_memory_mib": 8192, "gateway_workers": 1}, {"gateway_cpu": 512}, {}],
)
def test_one_worker_may_keep_routing_state_in_memory(
    dev_settings: DeploymentSettings, production: GatewayConfig, sizes: dict[str, int]
) -> None:
    derivation = derive_deployment(sized(dev_settings, **sizes), without_redis(production))
    assert derivation.workers.count == 1


def test_several_workers_with_redis_in_router_settings_are_accepted(
    dev_settings: DeploymentSettings, production: GatewayConfig
) -> None:
    derivation = derive_deployment(sized(dev_settings, gateway_cpu=4096, gateway_memory_mib=8192), production)
    assert (derivation.workers.count, derivation.workers.origin) == (4, "derived")
    router = production.router_settings
    assert router is not None
    url_only = production.model_copy(
        update={
            "router_settings": router.model_copy(
                update={"redis_host": None, "redis_port": None, "redis_url": router.redis_host}
            )
        }
    )
    assert derive_deployment(sized(dev_settings, gateway_workers=2), url_only).workers.count == 2


# --- migrations: once per deployment ------------------------------------------------------------------------


def test_a_config_with_a_database_migrates_once_per_deployment_not_per_task(
    dev_settings: DeploymentSettings, production: GatewayConfig
) -> None:
    derivation = derive_deployment(dev_settings, production)
    assert derivation.migration is not None
    assert derivation.migration.command == ("--config", "/app/config.yaml", "--skip_server_startup")
    assert "general_settings.database_url" in derivation.migration.uses
    assert fixed_value(derivation, "DISABLE_SCHEMA_UPDATE") == "true"


def test_a_config_without_a_database_has_no_migration(
    dev_settings: DeploymentSettings, production: GatewayConfig
) -> None:
    derivation = derive_deployment(dev_settings, without_database(production))
    assert derivation.migration is None
    assert "DISABLE_SCHEMA_UPDATE" not in derivation.fixed_environment


@pytest.mark.parametrize("value", [True, "true", "TRUE"])
def test_a_config_that_disables_schema_updates_migrates_nothing_here(
    dev_settings: DeploymentSettings, production: GatewayConfig, value: object
) -> None:
    assert database_migration(dev_settings, with_schema_switch(production, value)) is None


@pytest.mark.parametrize("value", [False, "false", "no"])
def test_a_config_that_forces_schema_updates_in_every_task_is_refused(
    dev_settings: DeploymentSettings, production: GatewayConfig, value: object
) -> None:
    with pytest.raises(ConfigMismatchError) as refused:
        derive_deployment(dev_settings, with_schema_switch(production, value))
    message = str(refused.value)
    assert "disable_prisma_schema_update" in message
    assert str(dev_settings.gateway_config) in message
    assert "remove general_settings.disable_prisma_schema_update" in message


def _gateway_resources(synth: Synthesized, kind: str) -> dict[str, dict[str, Any]]:
    return synth.resources(synth.deployment.gateway, kind)


def _task(synth: Synthesized, family: str) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = [
        resource["Properties"]
        for resource in _gateway_resources(synth, "AWS::ECS::TaskDefinition").values()
        if resource["Properties"]["Family"] == family
    ]
    assert len(tasks) == 1, family
    return tasks[0]


def test_the_migration_task_runs_once_per_image_and_config_before_the_service(dev: Synthesized) -> None:
    prefix = dev.deployment.settings.prefix
    task = _task(dev, f"{prefix}-gateway-migration")
    (migrate,) = task["ContainerDefinitions"]
    (serve,) = _task(dev, f"{prefix}-gateway")["ContainerDefinitions"]
    assert migrate["Command"] == ["--config", "/app/config.yaml", "--skip_server_startup"]
    assert migrate["Image"] == serve["Image"]
    assert migrate["User"] == serve["User"]
    assert migrate["ReadonlyRootFilesystem"] is True
    assert "HealthCheck" not in migrate
    migrate_env = {item["Name"]: item["Value"] for item in migrate["Environment"]}
    serve_env = {item["Name"]: item["Value"] for item in serve["Environment"]}
    assert serve_env["DISABLE_SCHEMA_UPDATE"] == "true"
    assert migrate_env == {**serve_env, "DISABLE_SCHEMA_UPDATE": "false"}
    assert migrate["Secrets"] == serve["Secrets"]
    assert serve_env["NUM_WORKERS"] == "1"
    # The custom resource: its properties are what makes it run again (the image and the config digest).
    (run_name, run) = only_item(_gateway_resources(dev, "Custom::DatabaseMigration"))
    properties = run["Properties"]
    assert properties["Image"] == dev.deployment.settings.gateway_image
    assert properties["ConfigDigest"] == serve_env[CONFIG_DIGEST_VARIABLE]
    assert properties["TaskDefinitionFamily"] == f"{prefix}-gateway-migration"
    assert properties["Container"] == "litellm"
    # New tasks start after the schema is current.
    (service,) = _gateway_resources(dev, "AWS::ECS::Service").values()
    assert run_name in service["DependsOn"]


def only_item(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.items()))


def _statements(synth: Synthesized, role_fragment: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in _gateway_resources(synth, "AWS::IAM::Policy").values()
        if role_fragment in json.dumps(policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_migration_runner_may_start_and_watch_only_the_migration_task(dev: Synthesized) -> None:
    prefix = dev.deployment.settings.prefix
    start = {statement.get("Sid"): statement for statement in _statements(dev, "MigrationStartTaskRole")}
    run = start["RunTheMigrationTask"]
    assert run["Action"] == "ecs:RunTask"
    assert json.dumps(run["Resource"]).endswith(f':task-definition/{prefix}-gateway-migration:*"]]}}')
    assert "ecs:cluster" in run["Condition"]["ArnEquals"]
    passed = start["PassTheMigrationRoles"]
    assert passed["Action"] == "iam:PassRole"
    assert len(passed["Resource"]) == 2
    assert all("MigrationTaskDefinition" in json.dumps(role) for role in passed["Resource"])
    assert passed["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    wait = {statement.get("Sid"): statement for statement in _statements(dev, "MigrationWaitForTaskRole")}
    describe = wait["DescribeTheMigrationTask"]
    assert describe["Action"] == "ecs:DescribeTasks"
    assert json.dumps(describe["Resource"]).endswith(f':task/{prefix}/*"]]}}')
    # The runner's functions carry no AWS managed policy; every finding cdk-nag made is acknowledged (synth passed).
    roles = _gateway_resources(dev, "AWS::IAM::Role")
    assert not [
        name
        for name, role in roles.items()
        if name.startswith("Migration") and role["Properties"].get("ManagedPolicyArns")
    ]


def test_without_a_database_no_migration_is_synthesised(
    dev_settings: DeploymentSettings, production: GatewayConfig
) -> None:
    deployment = build_app(dev_settings, config=without_database(production), checks=False)
    gateway = Template.from_stack(deployment.gateway).to_json()
    kinds = [resource["Type"] for resource in gateway["Resources"].values()]
    assert "Custom::DatabaseMigration" not in kinds
    assert "AWS::StepFunctions::StateMachine" not in kinds
    assert kinds.count("AWS::ECS::TaskDefinition") == 1
    assert "DISABLE_SCHEMA_UPDATE" not in json.dumps(gateway)
    assert deployment.gateway_summary[1].startswith("gateway database migration: none synthesised")


# --- the runner's handlers, against botocore's Stubber (AWS is never reached) -----------------------------

PROPERTIES: Final = {
    "Cluster": "arn:aws:ecs:us-east-1:111111111111:cluster/bedrockgate-dev",
    "TaskDefinitionFamily": "bedrockgate-dev-gateway-migration",
    "Container": "litellm",
    "Subnets": ["subnet-1", "subnet-2"],
    "SecurityGroups": ["sg-1"],
    "Image": "111111111111.dkr.ecr.us-east-1.amazonaws.com/bedrockgate-gateway@sha256:" + "0" * 64,
    "ConfigDigest": "1" * 64,
    "LogGroup": "/bedrockgate-dev/gateway",
    "LogStreamPrefix": "migration/litellm",
}
TASK_ARN: Final = "arn:aws:ecs:us-east-1:111111111111:task/bedrockgate-dev/0123456789abcdef"


@pytest.fixture
def ecs(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = importlib.import_module("boto3").client(
        "ecs",
        region_name="us-east-1",
        aws_access_key_id="stub",
        aws_secret_access_key="stub",  # noqa: S106  # not a secret: a Stubber answers, nothing is sent
    )
    stubber = Stubber(client)
    monkeypatch.setattr(handler, "_ecs", lambda: client)
    return stubber


def test_on_event_starts_one_task_of_the_family_in_the_private_subnets(ecs: Stubber) -> None:
    ecs.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK_ARN}], "failures": []},
        {
            "cluster": PROPERTIES["Cluster"],
            "taskDefinition": PROPERTIES["TaskDefinitionFamily"],
            "launchType": "FARGATE",
            "count": 1,
            "startedBy": handler.STARTED_BY,
            "propagateTags": "TASK_DEFINITION",
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": ["subnet-1", "subnet-2"],
                    "securityGroups": ["sg-1"],
                    "assignPublicIp": "DISABLED",
                }
            },
        },
    )
    with ecs:
        answer = handler.on_event({"RequestType": "Update", "ResourceProperties": PROPERTIES})
    ecs.assert_no_pending_responses()
    assert answer == {
        "PhysicalResourceId": "bedrockgate-dev-gateway-migration-migration",
        "Data": {"TaskArn": TASK_ARN},
    }


def test_on_event_fails_when_no_task_starts_and_does_nothing_on_delete(ecs: Stubber) -> None:
    ecs.add_response("run_task", {"tasks": [], "failures": [{"arn": "x", "reason": "RESOURCE:ENI"}]})
    with ecs, pytest.raises(RuntimeError, match="RESOURCE:ENI"):
        handler.on_event({"RequestType": "Create", "ResourceProperties": PROPERTIES})
    with ecs:
        deleted = handler.on_event(
            {"RequestType": "Delete", "PhysicalResourceId": "old", "ResourceProperties": PROPERTIES}
        )
    assert deleted == {"PhysicalResourceId": "old"}
    assert handler.is_complete({"RequestType": "Delete", "ResourceProperties": PROPERTIES}) == {"IsComplete": True}


def _described(status: str, exit_code: int | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "litellm"}
    if exit_code is not None:
        container["exitCode"] = exit_code
    return {
        "tasks": [
            {
                "taskArn": TASK_ARN,
                "lastStatus": status,
                "stoppedReason": "Essential container exited",
                "containers": [container],
            }
        ]
    }


def test_is_complete_waits_for_the_task_and_fails_the_deployment_on_a_non_zero_exit(ecs: Stubber) -> None:
    event = {"RequestType": "Create", "ResourceProperties": PROPERTIES, "Data": {"TaskArn": TASK_ARN}}
    expected = {"cluster": PROPERTIES["Cluster"], "tasks": [TASK_ARN]}
    ecs.add_response("describe_tasks", _described("RUNNING"), expected)
    ecs.add_response("describe_tasks", _described("STOPPED", 0), expected)
    ecs.add_response("describe_tasks", _described("STOPPED", 2), expected)
    ecs.add_response("describe_tasks", {"tasks": [], "failures": [{"arn": TASK_ARN, "reason": "MISSING"}]}, expected)
    with ecs:
        assert handler.is_complete(event) == {"IsComplete": False}
        assert handler.is_complete(event)["IsComplete"] is True
        with pytest.raises(RuntimeError, match="exit code 2") as failed:
            handler.is_complete(event)
        assert "/bedrockgate-dev/gateway" in str(failed.value)
        with pytest.raises(RuntimeError, match="MISSING"):
            handler.is_complete(event)


def test_the_synth_report_says_how_many_workers_what_memory_and_how_the_database_migrates(dev: Synthesized) -> None:
    workers, migration = dev.deployment.gateway_summary
    assert workers.startswith("gateway workers: 1 worker(s), derived from sizes.gateway_cpu 1024")
    assert "task memory 2048 MiB >= 932 MiB needed (1 x 420 MiB per worker + 512 MiB headroom)" in workers
    assert "once per deployment, by the task bedrockgate-dev-gateway-migration" in migration
    assert "--skip_server_startup" in migration
    assert "DISABLE_SCHEMA_UPDATE=true" in migration
