"""Shared fixtures: the deployment settings and the synthesized apps, built once per test session.

jsii runs every construct in a Node.js process, so a full synth costs seconds: each app below is
synthesized once and shared by every test that reads it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bedrockgate.infra import load_settings
from bedrockgate.infra.report import Synthesized, synthesize
from bedrockgate.infra.settings import DeploymentSettings

PACKAGE = Path(__file__).resolve().parents[1]
REPO = PACKAGE.parents[1]
DEV_SETTINGS = PACKAGE / "settings" / "dev.yaml"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        default=False,
        help="rewrite tests/snapshots from the current synth instead of comparing with it",
    )


@pytest.fixture(scope="session")
def dev_settings() -> DeploymentSettings:
    return load_settings(DEV_SETTINGS)


@pytest.fixture(scope="session")
def domain_settings(dev_settings: DeploymentSettings) -> DeploymentSettings:
    """A second shape: the guardrail example in us-west-2 with a domain (CloudFront, a us-east-1 certificate
    through cross-Region references, DNS), an IP allow-list, deletion protection and one cache node."""
    data = dev_settings.model_dump()
    data.update(
        region="us-west-2",
        gateway_config=REPO / "examples" / "nova-guardrail.yaml",
        gateway_image=dev_settings.gateway_image.replace("us-east-1", "us-west-2"),
        domain={
            "name": "gateway.example.com",
            "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
            "hosted_zone_name": "example.com",
        },
        allowed_cidrs=["203.0.113.0/24", "2001:db8::/32"],
        deletion_protection=True,
    )
    data["sizes"]["cache_nodes"] = 1
    return DeploymentSettings.model_validate(data)


@pytest.fixture(scope="session")
def dev(dev_settings: DeploymentSettings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The dev app (examples/agents-gateway.yaml), synthesized with cdk-nag's checks."""
    return synthesize(dev_settings, tmp_path_factory.mktemp("dev") / "cdk.out")


@pytest.fixture(scope="session")
def with_domain(domain_settings: DeploymentSettings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The domain app, synthesized with cdk-nag's checks."""
    return synthesize(domain_settings, tmp_path_factory.mktemp("domain") / "cdk.out")
