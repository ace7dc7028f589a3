"""Shared fixtures: the deployment settings and the synthesized apps, built once per test session.

jsii runs every construct in a Node.js process, so a full synth costs seconds: each app below is
synthesized once and shared by every test that reads it.

The settings are resolved as a synth-only run resolves them (no AWS call: the example account and
placeholder digests), with the chatbot's Lambda zip built into a temporary directory by
lex-fulfillment's own bundle code, exactly as ``./dev nox -s lambda_zip`` builds it (reproducible:
the same sources give the same bytes, so the snapshot does not change per run).

AWS is never reached: boto3 reads no credentials or config files of the machine and never asks an
instance-metadata endpoint; a test that needs AWS answers stubs it (botocore's Stubber).
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from typing import Any, Final

import pytest
from bedrockgate.infra import resolve_settings, use_bundled_node
from bedrockgate.infra.settings import DeploymentSettings
from hypothesis import settings

# Timing is the benchmarks' job, never a test's: on a loaded 2-core CI machine hypothesis's default 200 ms
# deadline per example fails correct code (it did, in pipelines/tests/test_publish.py).
settings.register_profile("bedrockgate", deadline=None)
settings.load_profile("bedrockgate")

# jsii starts its Node.js when aws_cdk is first imported (report, below): the wheel's, as the CLI does.
use_bundled_node()
from bedrockgate.infra.report import Synthesized, synthesize  # noqa: E402

PACKAGE = Path(__file__).resolve().parents[1]
REPO = PACKAGE.parents[1]
DEV_SETTINGS = PACKAGE / "settings" / "dev.yaml"
SOURCE_COMMIT: Final = "0123456789abcdef0123456789abcdef01234567"
BUNDLE: Final = REPO / "packages" / "lex-fulfillment" / "src" / "bedrockgate" / "lex_fulfillment" / "bundle.py"

# Before anything imports boto3: no credentials, config or metadata endpoint of this machine.
for _variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
                  "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):  # fmt: skip
    os.environ.pop(_variable, None)
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


def build_lambda_zip(out_dir: Path) -> Path:
    """lex-fulfillment's deployment zip, built by its own bundle code (standard library only)."""
    bundle: dict[str, Any] = runpy.run_path(str(BUNDLE), run_name="lex_bundle")
    built: Path = bundle["build_zip"](out_dir)
    return built


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        default=False,
        help="rewrite tests/snapshots from the current synth instead of comparing with it",
    )


@pytest.fixture(scope="session")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lambda_zip(tmp_path_factory.mktemp("lambda"))


@pytest.fixture(scope="session")
def dev_settings(lambda_zip: Path) -> DeploymentSettings:
    return resolve_settings(DEV_SETTINGS, {"chatbot": {"lambda_asset": str(lambda_zip)}}, synth_only=True).settings


@pytest.fixture(scope="session")
def domain_settings(dev_settings: DeploymentSettings) -> DeploymentSettings:
    """A second shape: the guardrail example in us-west-2 with a domain (CloudFront, a us-east-1 certificate
    through cross-Region references, DNS), an IP allow-list, deletion protection, one cache node, and the
    source commit a pipeline passes (the dev app has none: nothing is recorded there)."""
    data = dev_settings.model_dump()
    data.update(
        region="us-west-2",
        gateway_config=REPO / "examples" / "nova-guardrail.yaml",
        gateway_image=str(dev_settings.gateway_image).replace("us-east-1", "us-west-2"),
        domain={
            "name": "gateway.example.com",
            "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
            "hosted_zone_name": "example.com",
        },
        allowed_cidrs=["203.0.113.0/24", "2001:db8::/32"],
        insecure_http=False,  # dev.yaml's; a domain is always HTTPS (through CloudFront)
        deletion_protection=True,
        source_commit=SOURCE_COMMIT,
    )
    data["sizes"]["cache_nodes"] = 1
    return DeploymentSettings.model_validate(data)


CERTIFICATE_ARN: Final = "arn:aws:acm:us-east-1:111111111111:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
"""An ALB certificate in the dev settings' Region (a synth never looks it up)."""


def _variant(settings: DeploymentSettings, **fields: Any) -> DeploymentSettings:
    """The settings with some fields changed, validated again (the edge rules included)."""
    return DeploymentSettings.model_validate({**settings.model_dump(), **fields})


@pytest.fixture(scope="session")
def public_https_settings(dev_settings: DeploymentSettings) -> DeploymentSettings:
    """The third shape: no domain, a public ALB over HTTPS with a given certificate, and an allow-list."""
    return _variant(
        dev_settings, insecure_http=False, alb_certificate_arn=CERTIFICATE_ARN, allowed_cidrs=["198.51.100.0/24"]
    )


@pytest.fixture(scope="session")
def internal_settings(dev_settings: DeploymentSettings) -> DeploymentSettings:
    """The fourth shape: exposure internal (an internal ALB for agents inside the VPC), explicitly plain HTTP."""
    return _variant(dev_settings, exposure="internal", insecure_http=True)


@pytest.fixture(scope="session")
def dev(dev_settings: DeploymentSettings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The dev app (examples/agents-gateway.yaml), synthesized with cdk-nag's checks."""
    return synthesize(dev_settings, tmp_path_factory.mktemp("dev") / "cdk.out")


@pytest.fixture(scope="session")
def with_domain(domain_settings: DeploymentSettings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The domain app, synthesized with cdk-nag's checks."""
    return synthesize(domain_settings, tmp_path_factory.mktemp("domain") / "cdk.out")


@pytest.fixture(scope="session")
def public_https(public_https_settings: DeploymentSettings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The public-ALB-over-HTTPS app, synthesized with cdk-nag's checks."""
    return synthesize(public_https_settings, tmp_path_factory.mktemp("https") / "cdk.out")


@pytest.fixture(scope="session")
def internal(internal_settings: DeploymentSettings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The internal app, synthesized with cdk-nag's checks."""
    return synthesize(internal_settings, tmp_path_factory.mktemp("internal") / "cdk.out")
