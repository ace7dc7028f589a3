"""The other wiring modes, synthesized in full with cdk-nag and checked with cfn-lint.

One app covers them together: Phoenix Cloud (no Phoenix stack; the endpoint and the API-key secret
from the settings), an existing guardrail (no guardrail stack; its id and version from the settings,
ApplyGuardrail on its ARN) and multi_provider with an OpenAI model group (its key from a secret infra
creates). The default deployment's wiring is asserted in test_stacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import pytest
import yaml
from bedrockgate.infra.report import Synthesized, lint_templates, nag_findings, synthesize
from bedrockgate.infra.settings import DeploymentSettings

REPO: Final = Path(__file__).resolve().parents[3]
CLOUD_ENDPOINT: Final = "https://app.phoenix.arize.com/s/acme/v1/traces"
CLOUD_KEY_ARN: Final = "arn:aws:secretsmanager:us-east-1:111111111111:secret:phoenix/cloud-api-key-AbCdEf"
EXISTING_GUARDRAIL: Final = "a1b2c3d4e5f6"


@pytest.fixture(scope="module")
def other_modes(dev_settings: DeploymentSettings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    folder = tmp_path_factory.mktemp("other-modes")
    config = yaml.safe_load((REPO / "examples" / "agents-gateway.yaml").read_text(encoding="utf-8"))
    config["model_list"].append(
        {
            "model_name": "gpt-mini",
            "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "os.environ/OPENAI_API_KEY", "timeout": 60},
            "model_info": {"id": "gpt-mini-1", "mode": "chat"},
        }
    )
    (folder / "gateway.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    data = dev_settings.model_dump()
    data.update(
        gateway_config=folder / "gateway.yaml",
        guardrail={"mode": "existing", "id": EXISTING_GUARDRAIL, "version": "4"},
        phoenix={"mode": "cloud", "collector_endpoint": CLOUD_ENDPOINT, "api_key_secret_arn": CLOUD_KEY_ARN},
        multi_provider=True,
        phoenix_image=None,  # no Phoenix runs here: no image needed
    )
    return synthesize(DeploymentSettings.model_validate(data), folder / "cdk.out")


def _gateway_container(synth: Synthesized) -> dict[str, Any]:
    family = f"{synth.deployment.settings.prefix}-gateway"  # not the migration's
    tasks = synth.resources(synth.deployment.gateway, "AWS::ECS::TaskDefinition").values()
    (task,) = [task for task in tasks if task["Properties"]["Family"] == family]
    (container,) = task["Properties"]["ContainerDefinitions"]
    return dict(container)


def _task_statements(synth: Synthesized, role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synth.resources(synth.deployment.gateway, "AWS::IAM::Policy").values()
        if role in json.dumps(policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_phoenix_cloud_creates_no_phoenix_and_wires_the_endpoint_and_key_secret(other_modes: Synthesized) -> None:
    assert other_modes.deployment.phoenix is None
    assert "bedrockgate-dev-phoenix" not in other_modes.templates
    container = _gateway_container(other_modes)
    environment = {item["Name"]: item["Value"] for item in container["Environment"]}
    secrets = {item["Name"]: item["ValueFrom"] for item in container["Secrets"]}
    assert environment["PHOENIX_COLLECTOR_HTTP_ENDPOINT"] == CLOUD_ENDPOINT
    assert "PHOENIX_API_KEY" not in environment
    assert secrets["PHOENIX_API_KEY"] == CLOUD_KEY_ARN
    reads = [
        s for s in _task_statements(other_modes, "ExecutionRole") if "secretsmanager:GetSecretValue" in s["Action"]
    ]
    assert CLOUD_KEY_ARN in [s["Resource"] for s in reads]
    # Nothing runs Phoenix or routes /phoenix/* (the network stack still holds its unused security groups).
    for stack in other_modes.deployment.stacks:
        for kind in ("AWS::ECS::Service", "AWS::ElasticLoadBalancingV2::ListenerRule", "AWS::RDS::DBCluster"):
            assert "phoenix" not in json.dumps(other_modes.resources(stack, kind)).lower(), (stack.stack_name, kind)


def test_an_existing_guardrail_is_passed_and_applied_by_its_arn(other_modes: Synthesized) -> None:
    assert other_modes.deployment.guardrail is None
    assert "bedrockgate-dev-guardrail" not in other_modes.templates
    environment = {item["Name"]: item["Value"] for item in _gateway_container(other_modes)["Environment"]}
    assert environment["BEDROCK_GUARDRAIL_ID"] == EXISTING_GUARDRAIL
    assert environment["BEDROCK_GUARDRAIL_VERSION"] == "4"
    apply = [s for s in _task_statements(other_modes, "TaskRole") if s["Action"] == "bedrock:ApplyGuardrail"]
    assert [s["Resource"] for s in apply] == [f"arn:aws:bedrock:us-east-1:111111111111:guardrail/{EXISTING_GUARDRAIL}"]


def test_multi_provider_key_comes_from_a_secret_infra_creates(other_modes: Synthesized) -> None:
    data = other_modes.deployment.data
    provider_secrets = {
        logical_id: resource
        for logical_id, resource in other_modes.resources(data, "AWS::SecretsManager::Secret").items()
        if "/providers/" in resource["Properties"]["Name"]
    }
    assert [resource["Properties"]["Name"] for resource in provider_secrets.values()] == [
        "bedrockgate-dev/providers/openai/api-key"
    ]
    (logical_id,) = provider_secrets
    secrets = {item["Name"]: item["ValueFrom"] for item in _gateway_container(other_modes)["Secrets"]}
    assert "OPENAI_API_KEY" in secrets
    assert logical_id in json.dumps(secrets["OPENAI_API_KEY"])
    environment = {item["Name"] for item in _gateway_container(other_modes)["Environment"]}
    assert "OPENAI_API_KEY" not in environment
    # IAM grants Bedrock only: the OpenAI model needs no AWS permission.
    invoke = [s for s in _task_statements(other_modes, "TaskRole") if "bedrock:InvokeModel" in s["Action"]]
    assert all(":bedrock:" in arn for statement in invoke for arn in statement["Resource"])
    # The dashboard and alarms follow every model group, the OpenAI one too.
    alarms = json.dumps(other_modes.resources(other_modes.deployment.observability, "AWS::CloudWatch::Alarm"))
    assert "gpt-mini: p95 latency" in alarms


def test_other_modes_have_no_nag_finding_and_no_cfn_lint_error(other_modes: Synthesized) -> None:
    assert nag_findings(other_modes.outdir) == []
    templates = sorted(other_modes.outdir.glob("*.template.json"))
    assert len(templates) == len(other_modes.deployment.stacks)
    errors = [match for match in lint_templates(templates, region="us-east-1") if match.is_error]
    assert errors == []
