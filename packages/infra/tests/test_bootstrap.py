"""The environments the app deploys to, and the preflight that reads each one's CDK bootstrap version.

Properties (>= 100 examples each): the environments are the main one, plus us-east-1 exactly when
the app has a domain (CloudFront's web ACL, and its certificate unless given, live there), each
once; and the preflight reports exactly the environments whose bootstrap is missing, unreadable or
older than the app needs, each with the command that fixes it. SSM and STS are botocore clients
answered by Stubbers. The environments are also compared with the stacks of the real apps, and the
minimum version with a real synth's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import boto3  # type: ignore[import-untyped]  # boto3 ships no type information
import pytest
from bedrockgate.infra import bootstrap as bootstrap_module
from bedrockgate.infra import target as target_module
from bedrockgate.infra.bootstrap import (
    DEFAULT_QUALIFIER,
    MINIMUM_BOOTSTRAP_VERSION,
    AwsEnvironment,
    app_environments,
    bootstrap_command,
    bootstrap_problems,
    required_bootstrap_version,
    version_parameter,
)
from bedrockgate.infra.cli import main
from bedrockgate.infra.report import Synthesized
from bedrockgate.infra.settings import DeploymentSettings
from botocore.stub import Stubber  # type: ignore[import-untyped]  # botocore ships no type information
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO: Final = Path(__file__).resolve().parents[3]
DEV_SETTINGS: Final = REPO / "packages" / "infra" / "settings" / "dev.yaml"
ACCOUNT: Final = "123456789012"
REGIONS: Final = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
DIGEST: Final = "ab" * 32
PUSHED: Final = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/bedrockgate-gateway@sha256:{DIGEST}"
PHOENIX: Final = f"docker.io/arizephoenix/phoenix@sha256:{'cd' * 32}"
_SESSION = boto3.Session(
    aws_access_key_id="AKIDEXAMPLE",
    aws_secret_access_key="stub",  # noqa: S106  # not a secret: a Stubber answers, nothing is sent
)


def stubbed(service: str, region: str = "us-east-1") -> tuple[Any, Stubber]:
    client = _SESSION.client(service, region_name=region)
    return client, Stubber(client)


# --- environments --------------------------------------------------------------------------------


def domain(certificate: str | None) -> dict[str, str]:
    """A domain; with a certificate id, CloudFront's certificate is given rather than made in us-east-1."""
    fields = {
        "name": "gateway.example.com",
        "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
        "hosted_zone_name": "example.com",
    }
    if certificate is not None:
        fields["cloudfront_certificate_arn"] = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/{certificate}"
    return fields


domains = st.none() | st.builds(domain, st.none() | st.uuids().map(str))


@settings(max_examples=150)
@given(region=st.sampled_from(REGIONS), account=st.from_regex(r"[0-9]{12}", fullmatch=True), given_domain=domains)
def test_the_environments_are_the_main_one_and_us_east_1_for_cloudfronts_stack(
    dev_settings: DeploymentSettings, region: str, account: str, given_domain: dict[str, str] | None
) -> None:
    data = dev_settings.model_dump()
    # dev.yaml's insecure_http applies without a domain only (a domain is always HTTPS through CloudFront).
    data.update(
        region=region, account=account, domain=given_domain, availability_zones=None, insecure_http=given_domain is None
    )
    built = DeploymentSettings.model_validate(data)
    environments = app_environments(built)
    expected = [AwsEnvironment(account, region)]
    if given_domain is not None and region != "us-east-1":
        expected.append(AwsEnvironment(account, "us-east-1"))
    assert list(environments) == expected
    assert [str(environment) for environment in environments] == [f"aws://{e.account}/{e.region}" for e in expected]


@pytest.mark.parametrize("shape", ["dev", "with_domain"])
def test_the_environments_are_those_of_the_apps_stacks(shape: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(shape)
    stacks = {AwsEnvironment(stack.account, stack.region) for stack in synth.deployment.stacks}
    assert set(app_environments(synth.deployment.settings)) == stacks
    assert len(stacks) == (2 if shape == "with_domain" else 1)  # the domain app is in us-west-2


def test_the_minimum_bootstrap_version_is_what_the_synthesized_app_requires(dev: Synthesized) -> None:
    assert required_bootstrap_version(dev.outdir) == MINIMUM_BOOTSTRAP_VERSION
    manifest = json.loads((dev.outdir / "manifest.json").read_text(encoding="utf-8"))
    parameters = {
        artifact["properties"]["bootstrapStackVersionSsmParameter"]
        for artifact in manifest["artifacts"].values()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert parameters == {version_parameter(DEFAULT_QUALIFIER)}
    for name, template in dev.templates.items():
        [assertion] = template["Rules"]["CheckBootstrapVersion"]["Assertions"]
        refused = assertion["Assert"]["Fn::Not"][0]["Fn::Contains"][0]
        assert refused == [str(version) for version in range(1, MINIMUM_BOOTSTRAP_VERSION)], name


def test_without_an_assembly_the_minimum_is_the_synthesizers(tmp_path: Path) -> None:
    assert required_bootstrap_version(None) == MINIMUM_BOOTSTRAP_VERSION
    assert required_bootstrap_version(tmp_path) == MINIMUM_BOOTSTRAP_VERSION
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "s": {"type": "aws:cloudformation:stack", "properties": {"requiresBootstrapStackVersion": 21}}
                }
            }
        )
    )
    assert required_bootstrap_version(tmp_path) == 21


# --- the bootstrap check -------------------------------------------------------------------------

states = st.one_of(
    st.tuples(st.just("version"), st.integers(1, 40)),
    st.tuples(st.sampled_from(["missing", "denied", "garbage", "other account"]), st.just(0)),
)
environments = st.lists(
    st.tuples(st.sampled_from(REGIONS), states), min_size=1, max_size=3, unique_by=lambda item: item[0]
)


def answer(stubber: Stubber, parameter: str, state: str, version: int) -> None:
    """Make SSM answer GetParameter as an environment in ``state`` would (nothing for another account)."""
    expected = {"Name": parameter}
    if state in ("version", "garbage"):
        value = str(version) if state == "version" else "v?"
        stubber.add_response(
            "get_parameter", {"Parameter": {"Name": parameter, "Type": "String", "Value": value}}, expected
        )
    elif state == "missing":
        stubber.add_client_error("get_parameter", "ParameterNotFound", "", expected_params=expected)
    elif state == "denied":
        stubber.add_client_error("get_parameter", "AccessDeniedException", "not authorized", expected_params=expected)
    stubber.activate()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(found=environments, qualifier=st.sampled_from([DEFAULT_QUALIFIER, "bg0dev123"]), minimum=st.integers(1, 30))
def test_the_preflight_reports_exactly_the_environments_that_cannot_take_the_app(
    found: list[tuple[str, tuple[str, int]]], qualifier: str, minimum: int
) -> None:
    parameter = f"/cdk-bootstrap/{qualifier}/version"
    clients: dict[str, tuple[Any, Stubber]] = {}
    targets = []
    for region, (state, version) in found:
        targets.append(AwsEnvironment("210987654321" if state == "other account" else ACCOUNT, region))
        clients[region] = stubbed("ssm", region)
        answer(clients[region][1], parameter, state, version)

    problems = bootstrap_problems(
        targets, qualifier=qualifier, minimum=minimum, caller_account=ACCOUNT, client=lambda region: clients[region][0]
    )

    for _, stubber in clients.values():
        stubber.assert_no_pending_responses()
    bad = {
        AwsEnvironment("210987654321" if state == "other account" else ACCOUNT, region): state
        for region, (state, version) in found
        if state != "version" or version < minimum
    }
    assert {problem.environment for problem in problems} == set(bad)
    assert len(problems) == len(bad)
    for problem in problems:
        text = str(problem)
        command = f"bedrockgate-infra cdk bootstrap {problem.environment}"
        if qualifier != DEFAULT_QUALIFIER:
            command += f" --qualifier {qualifier}"
        assert problem.command == command
        assert text.startswith(f"{problem.environment}: ")
        assert text.endswith(f": run `{command}`")
        state = bad[problem.environment]
        if state == "version":
            assert f"the app needs at least {minimum}" in text
        elif state == "missing":
            assert f"not bootstrapped for this app (no SSM parameter {parameter})" in text
        elif state == "denied":
            assert "AccessDeniedException" in text
        elif state == "garbage":
            assert "not a bootstrap version" in text
        else:
            assert f"the credentials are for account {ACCOUNT}" in text


# --- the CLI: environments and preflight ---------------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, lambda_zip: Path) -> Iterator[Callable[[str], Stubber]]:
    """Credentials for ACCOUNT (STS stubbed) and an SSM Stubber per Region, all checked at the end."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stub")
    sts, sts_stubber = stubbed("sts")
    identity = {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/deployer"}
    sts_stubber.add_response("get_caller_identity", identity, {})
    sts_stubber.activate()
    ssm: dict[str, tuple[Any, Stubber]] = {}

    def ssm_stubber(region: str) -> Stubber:
        if region not in ssm:
            ssm[region] = stubbed("ssm", region)
            ssm[region][1].activate()
        return ssm[region][1]

    monkeypatch.setattr(target_module, "aws_client", lambda service, region=None: sts)
    monkeypatch.setattr(bootstrap_module, "aws_client", lambda service, region=None: ssm[str(region)][0])
    yield ssm_stubber
    for _, stubber in ssm.values():
        stubber.assert_no_pending_responses()


def bootstrapped(stubber: Stubber, version: int) -> None:
    parameter = version_parameter()
    stubber.add_response(
        "get_parameter",
        {"Parameter": {"Name": parameter, "Type": "String", "Value": str(version)}},
        {"Name": parameter},
    )


def _deploy_context(lambda_zip: Path) -> list[str]:
    chatbot = json.dumps({"lambda_asset": str(lambda_zip)})
    return ["-c", f"gateway_image={PUSHED}", "-c", f"phoenix_image={PHOENIX}", "-c", f"chatbot={chatbot}"]


def test_environments_prints_one_aws_uri_per_line_from_the_credentials_account(
    aws: Callable[[str], Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    domain = json.dumps(
        {"name": "gw.example.com", "hosted_zone_id": "Z0123456789ABC", "hosted_zone_name": "example.com"}
    )
    # dev.yaml's insecure_http is refused with a domain (CloudFront is always HTTPS): the context turns it off.
    context = ["-c", "region=eu-west-1", "-c", f"domain={domain}", "-c", "insecure_http=false"]
    assert main(["environments", "--settings", str(DEV_SETTINGS), *context]) == 0
    assert capsys.readouterr().out.splitlines() == [f"aws://{ACCOUNT}/eu-west-1", f"aws://{ACCOUNT}/us-east-1"]


def test_environments_needs_no_image_before_the_first_push(capsys: pytest.CaptureFixture[str]) -> None:
    # dev.yaml holds no gateway image and a placeholder Phoenix digest: bootstrapping comes before both.
    assert main(["environments", "--settings", str(DEV_SETTINGS), "-c", f"account={ACCOUNT}"]) == 0
    assert capsys.readouterr().out == f"aws://{ACCOUNT}/us-east-1\n"


def test_preflight_passes_when_every_environment_is_bootstrapped(
    aws: Callable[[str], Stubber], lambda_zip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bootstrapped(aws("us-east-1"), 30)
    code = main(["preflight", "--settings", str(DEV_SETTINGS), *_deploy_context(lambda_zip)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert (
        captured.out
        == f"preflight: ok: every stack to aws://{ACCOUNT}/us-east-1, each bootstrapped at version 6 or later\n"
    )


def test_preflight_refuses_with_the_bootstrap_command_and_every_other_problem(
    aws: Callable[[str], Stubber], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws("us-east-1").add_client_error(
        "get_parameter", "ParameterNotFound", "", expected_params={"Name": version_parameter()}
    )
    missing_zip = json.dumps({"lambda_asset": str(tmp_path / "lex-fulfillment.zip")})
    context = ["-c", f"gateway_image={PUSHED}", "-c", f"phoenix_image={PHOENIX}", "-c", f"chatbot={missing_zip}"]
    code = main(["preflight", "--settings", str(DEV_SETTINGS), *context])
    lines = capsys.readouterr().err.splitlines()
    zip_path = tmp_path / "lex-fulfillment.zip"
    assert code == 1
    assert lines == [
        f"bedrockgate-infra preflight: the chatbot's Lambda zip {zip_path} does not exist: build "
        "it with `./dev nox -s lambda_zip` (it writes dist/lambda/lex-fulfillment.zip at the repository root), set "
        "chatbot.lambda_asset to a zip it built, or set chatbot.enabled: false",
        f"bedrockgate-infra preflight: aws://{ACCOUNT}/us-east-1: not bootstrapped for this app (no SSM parameter "
        f"/cdk-bootstrap/hnb659fds/version): run `bedrockgate-infra cdk bootstrap aws://{ACCOUNT}/us-east-1`",
    ]


def test_preflight_refuses_placeholders_before_asking_for_the_bootstrap(
    aws: Callable[[str], Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["preflight", "--settings", str(DEV_SETTINGS), "-c", f"gateway_image={PUSHED}"])
    error = capsys.readouterr().err
    assert code == 1
    assert "phoenix_image docker.io/arizephoenix/phoenix@sha256:000000000000" in error
    assert "-c phoenix_image=<registry>/<repository>@sha256:<digest>" in error


def test_preflight_without_credentials_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["preflight", "--settings", str(DEV_SETTINGS), "-c", f"account={ACCOUNT}"])
    assert code == 1
    assert "no AWS credentials were found: the preflight reads each environment's bootstrap version" in (
        capsys.readouterr().err
    )


def test_preflight_refuses_a_synth_only_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preflight", "--settings", str(DEV_SETTINGS), "-c", "synth_only=true"]) == 1
    assert "synth_only deploys nothing" in capsys.readouterr().err


def test_a_qualifier_from_cdk_context_is_the_one_read(aws: Callable[[str], Stubber], lambda_zip: Path) -> None:
    parameter = version_parameter("bg0dev123")
    aws("us-east-1").add_response(
        "get_parameter", {"Parameter": {"Name": parameter, "Type": "String", "Value": "5"}}, {"Name": parameter}
    )
    assert bootstrap_command(AwsEnvironment(ACCOUNT, "us-east-1"), "bg0dev123").endswith("--qualifier bg0dev123")
    code = main(
        ["preflight", "--settings", str(DEV_SETTINGS), *_deploy_context(lambda_zip), "-c",
         "@aws-cdk/core:bootstrapQualifier=bg0dev123"]
    )  # fmt: skip
    assert code == 1
