"""The environments the app deploys to, and whether each is bootstrapped for it.

``cdk deploy`` into an environment (``aws://ACCOUNT/REGION``) that was never bootstrapped, or was
bootstrapped by an older CDK, fails after synth with an error far from its cause. So the deploy's
preflight reads each environment's bootstrap version (the SSM parameter
``/cdk-bootstrap/<qualifier>/version`` that ``cdk bootstrap`` writes) and reports every problem with
the command that fixes it.

The environments are those of the app's stacks: the main one (account and Region of the settings)
for every stack, and ``us-east-1`` of the same account when the app has a domain (CloudFront's
web ACL, and its certificate unless ``cloudfront_certificate_arn`` is given, live there). A test
checks this list against the stacks of the built app.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bedrockgate.infra.settings import DeploymentSettings
from bedrockgate.infra.target import aws_client

__all__ = [
    "CERTIFICATE_REGION",
    "DEFAULT_QUALIFIER",
    "MINIMUM_BOOTSTRAP_VERSION",
    "AwsEnvironment",
    "BootstrapProblem",
    "app_environments",
    "bootstrap_command",
    "bootstrap_problems",
    "required_bootstrap_version",
    "version_parameter",
]

DEFAULT_QUALIFIER: Final = "hnb659fds"
"""CDK's default bootstrap qualifier (context ``@aws-cdk/core:bootstrapQualifier`` changes it)."""
MINIMUM_BOOTSTRAP_VERSION: Final = 6
"""The bootstrap version aws-cdk-lib 2.275's DefaultStackSynthesizer requires: every template's
``CheckBootstrapVersion`` rule refuses 1-5, and the cloud assembly says
``requiresBootstrapStackVersion: 6`` (a test reads it from a real synth, so a CDK bump that raises it
fails there)."""
CERTIFICATE_REGION: Final = "us-east-1"
"""CloudFront takes certificates and CLOUDFRONT-scoped web ACLs from us-east-1 only."""

SsmClient = Callable[[str], Any]
"""An SSM client for a Region (boto3's clients carry no type information)."""


@dataclass(frozen=True, slots=True, order=True)
class AwsEnvironment:
    """An account and Region, as the CDK CLI writes them: ``aws://ACCOUNT/REGION``."""

    account: str
    region: str

    def __str__(self) -> str:
        return f"aws://{self.account}/{self.region}"


@dataclass(frozen=True, slots=True)
class BootstrapProblem:
    """One environment that cannot take the app's stacks yet, and the command that fixes it."""

    environment: AwsEnvironment
    problem: str
    command: str

    def __str__(self) -> str:
        return f"{self.environment}: {self.problem}: run `{self.command}`"


def app_environments(settings: DeploymentSettings) -> tuple[AwsEnvironment, ...]:
    """Every environment the app's stacks go to, the main one first, each once."""
    main = AwsEnvironment(settings.account, settings.region)
    found = [main]
    if settings.cloudfront_stack:
        found.append(AwsEnvironment(settings.account, CERTIFICATE_REGION))
    return tuple(dict.fromkeys(found))


def version_parameter(qualifier: str = DEFAULT_QUALIFIER) -> str:
    """The SSM parameter ``cdk bootstrap`` writes its version to."""
    return f"/cdk-bootstrap/{qualifier}/version"


def bootstrap_command(environment: AwsEnvironment, qualifier: str = DEFAULT_QUALIFIER) -> str:
    """The command that bootstraps (or upgrades the bootstrap of) one environment."""
    extra = f" --qualifier {qualifier}" if qualifier != DEFAULT_QUALIFIER else ""
    return f"bedrockgate-infra cdk bootstrap {environment}{extra}"


def required_bootstrap_version(assembly: Path | None = None) -> int:
    """The highest bootstrap version a synthesized cloud assembly requires, else the synthesizer's minimum."""
    if assembly is None or not (assembly / "manifest.json").is_file():
        return MINIMUM_BOOTSTRAP_VERSION
    manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
    versions = [
        int(properties["requiresBootstrapStackVersion"])
        for artifact in manifest.get("artifacts", {}).values()
        if "requiresBootstrapStackVersion" in (properties := artifact.get("properties", {}))
    ]
    return max(versions, default=MINIMUM_BOOTSTRAP_VERSION)


def _ssm_client(region: str) -> Any:
    return aws_client("ssm", region)


def bootstrap_problems(
    environments: Iterable[AwsEnvironment],
    *,
    qualifier: str = DEFAULT_QUALIFIER,
    minimum: int = MINIMUM_BOOTSTRAP_VERSION,
    caller_account: str | None = None,
    client: SsmClient = _ssm_client,
) -> list[BootstrapProblem]:
    """Read each environment's bootstrap version through SSM and report every one that is missing or too old.

    ``caller_account`` is the credentials' account: an environment in another account cannot be read
    with them (the CDK CLI would assume its bootstrap roles; this check does not), which is reported.
    """
    errors = importlib.import_module("botocore.exceptions")  # boto3 only when AWS is asked
    parameter = version_parameter(qualifier)
    problems: list[BootstrapProblem] = []
    for environment in environments:
        command = bootstrap_command(environment, qualifier)

        def problem(text: str, environment: AwsEnvironment = environment, command: str = command) -> None:
            problems.append(BootstrapProblem(environment, text, command))

        if caller_account is not None and environment.account != caller_account:
            problem(f"the credentials are for account {caller_account}, so its bootstrap cannot be read")
            continue
        try:
            value = str(client(environment.region).get_parameter(Name=parameter)["Parameter"]["Value"])
        except errors.ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code == "ParameterNotFound":
                problem(f"not bootstrapped for this app (no SSM parameter {parameter})")
            else:
                problem(f"cannot read the SSM parameter {parameter} ({code or error}); if it is not bootstrapped")
            continue
        except errors.BotoCoreError as error:
            problem(
                f"cannot reach SSM in {environment.region} to read {parameter} ({error}); if it is not bootstrapped"
            )
            continue
        if not value.isdigit():
            problem(f"the SSM parameter {parameter} holds {value!r}, not a bootstrap version")
        elif int(value) < minimum:
            problem(f"bootstrap version {value}, but the app needs at least {minimum}; upgrade it in place")
    return problems
