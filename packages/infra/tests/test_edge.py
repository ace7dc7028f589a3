"""The edge by exposure: who reaches the ALB, over what, and where the web ACL sees the client.

Four app shapes (conftest): dev (public ALB, explicit plain HTTP), with_domain (CloudFront in
us-west-2, an allow-list), public_https (public ALB with a certificate, an allow-list) and internal
(internal ALB, explicit plain HTTP). cdk-nag and cfn-lint run over all four in test_checks. The
settings rules are checked one bad combination at a time and as a property over all of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import pytest
from bedrockgate.infra.exposure import CLOUDFRONT_ORIGIN_FACING, EXPOSURES, Exposure
from bedrockgate.infra.nag import acknowledged
from bedrockgate.infra.report import Synthesized
from bedrockgate.infra.settings import DeploymentSettings, SettingsError, load_settings
from bedrockgate.infra.stacks.edge import INSECURE_HTTP_WARNING, ORIGIN_HEADER
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

DEV_SETTINGS: Final = Path(__file__).resolve().parents[1] / "settings" / "dev.yaml"
DOMAIN: Final = {
    "name": "gateway.example.com",
    "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
    "hosted_zone_name": "example.com",
}


def certificate(region: str) -> str:
    return f"arn:aws:acm:{region}:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


def all_resources(synth: Synthesized, resource_type: str) -> dict[str, dict[str, Any]]:
    """Every resource of a type in every stack of the app, by stack/logical id."""
    return {
        f"{stack.stack_name}/{name}": resource
        for stack in synth.deployment.stacks
        for name, resource in synth.resources(stack, resource_type).items()
    }


def only(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.values()))


def output(synth: Synthesized, name: str) -> Any:
    return synth.template(synth.deployment.edge)["Outputs"][name]["Value"]


# --- settings: one exposure or an error naming the file and the fix ------------------------------


@pytest.mark.parametrize(
    ("override", "messages"),
    [
        (
            {"insecure_http": False},
            ["exposure: public_alb needs TLS on the ALB", "set alb_certificate_arn", "set insecure_http: true"],
        ),
        (
            {"insecure_http": False, "exposure": "internal"},
            ["exposure: internal needs TLS on the ALB", "-c alb_certificate_arn=arn:aws:acm:us-east-1:"],
        ),
        ({"exposure": "cloudfront"}, ["exposure: cloudfront needs a domain", "choose exposure: public_alb"]),
        ({"domain": DOMAIN}, ["insecure_http: true does not apply with a domain", "remove insecure_http"]),
        (
            {"domain": DOMAIN, "insecure_http": False, "alb_certificate_arn": certificate("us-east-1")},
            ["alb_certificate_arn does not apply with a domain", "remove alb_certificate_arn"],
        ),
        (
            {"domain": DOMAIN, "insecure_http": False, "exposure": "internal"},
            ["exposure: internal cannot have one", "remove the domain, or remove exposure"],
        ),
        ({"alb_certificate_arn": certificate("us-east-1")}, ["contradict each other", "remove insecure_http"]),
        (
            {"insecure_http": False, "alb_certificate_arn": certificate("eu-west-1")},
            ["a certificate in eu-west-1", "request the certificate in us-east-1"],
        ),
        ({"insecure_http": False, "alb_certificate_arn": "my-certificate"}, ["not an ACM certificate ARN"]),
        (
            {"domain": DOMAIN, "insecure_http": False, "region": "ap-east-1"},
            ["origin-facing prefix list of ap-east-1", "set domain.cloudfront_prefix_list_id"],
        ),
        ({"exposure": "public"}, ["exposure", "cloudfront", "public_alb", "internal"]),
    ],
)
def test_a_bad_edge_combination_names_the_settings_file_and_the_fix(
    override: dict[str, object], messages: list[str]
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(DEV_SETTINGS, {"account": "123456789012", **override})
    text = str(raised.value)
    assert text.startswith(f"{DEV_SETTINGS}: deployment settings are invalid")
    for message in messages:
        assert message in text


def test_a_region_outside_the_table_takes_the_prefix_list_from_the_settings() -> None:
    domain = {**DOMAIN, "cloudfront_prefix_list_id": "pl-0123456789abcdef0"}
    loaded = load_settings(
        DEV_SETTINGS, {"account": "123456789012", "region": "ap-east-1", "domain": domain, "insecure_http": False}
    )
    assert loaded.edge_exposure == "cloudfront"


def test_dev_yaml_is_explicitly_plain_http_on_a_public_alb(dev_settings: DeploymentSettings) -> None:
    assert (dev_settings.edge_exposure, dev_settings.insecure_http, dev_settings.alb_certificate_arn) == (
        "public_alb",
        True,
        None,
    )


REGIONS: Final = ("us-east-1", "us-west-2", "eu-central-1", "ap-east-1")  # ap-east-1: not in the table


def expected_exposure(
    *,
    domain: bool,
    exposure: Exposure | None,
    certificate_region: str | None,
    insecure_http: bool,
    region: str,
    prefix_list_known: bool,
) -> Exposure | None:
    """The rules as the README states them, written independently of bedrockgate.infra.exposure."""
    chosen: Exposure = exposure or ("cloudfront" if domain else "public_alb")
    if chosen == "cloudfront":
        ok = domain and not insecure_http and certificate_region is None and prefix_list_known
    else:
        tls = certificate_region is not None
        ok = not domain and tls != insecure_http and (certificate_region in (None, region))
    return chosen if ok else None


@settings(max_examples=300, deadline=None)
@given(
    region=st.sampled_from(REGIONS),
    domain=st.booleans(),
    prefix_list=st.booleans(),
    exposure=st.none() | st.sampled_from(EXPOSURES),
    tls=st.tuples(st.none() | st.sampled_from(REGIONS), st.booleans()),
)
def test_settings_choose_exactly_one_exposure_or_fail_with_a_fix(  # noqa: PLR0917 -- hypothesis passes each by name
    dev_settings: DeploymentSettings,
    region: str,
    domain: bool,
    prefix_list: bool,
    exposure: Exposure | None,
    tls: tuple[str | None, bool],
) -> None:
    certificate_region, insecure_http = tls
    data = dev_settings.model_dump()
    given_domain = {**DOMAIN, "cloudfront_prefix_list_id": "pl-0123456789abcdef0" if prefix_list else None}
    data.update(
        region=region,
        availability_zones=None,
        domain=given_domain if domain else None,
        exposure=exposure,
        alb_certificate_arn=certificate(certificate_region) if certificate_region else None,
        insecure_http=insecure_http,
    )
    wanted = expected_exposure(
        domain=domain,
        exposure=exposure,
        certificate_region=certificate_region,
        insecure_http=insecure_http,
        region=region,
        prefix_list_known=prefix_list or region in CLOUDFRONT_ORIGIN_FACING,
    )
    if wanted is None:
        with pytest.raises(ValidationError) as raised:
            DeploymentSettings.model_validate(data)
        text = str(raised.value)
        assert any(fix in text for fix in ("set ", "remove ", "choose ", "request the certificate")), text
    else:
        assert DeploymentSettings.model_validate(data).edge_exposure == wanted


# --- cloudfront: the web ACL sees the client, the ALB answers only CloudFront -------------------


def test_with_a_domain_the_web_acl_is_cloudfront_scoped_on_the_distribution(with_domain: Synthesized) -> None:
    stack = with_domain.deployment.cloudfront
    assert stack is not None
    assert stack.region == "us-east-1"
    acl = only(with_domain.resources(stack, "AWS::WAFv2::WebACL"))["Properties"]
    assert acl["Scope"] == "CLOUDFRONT"
    rate = next(rule for rule in acl["Rules"] if rule["Name"] == "RateLimitPerIp")
    assert rate["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"  # the viewer's own address
    assert with_domain.resources(stack, "AWS::WAFv2::LoggingConfiguration")
    edge = with_domain.deployment.edge
    for kind in ("AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation", "AWS::WAFv2::IPSet"):
        assert not with_domain.resources(edge, kind), kind
    distribution = only(with_domain.resources(edge, "AWS::CloudFront::Distribution"))
    web_acl = json.dumps(distribution["Properties"]["DistributionConfig"]["WebACLId"])
    assert "WebAcl" in web_acl  # the us-east-1 ACL's ARN, through CDK's cross-Region reference
    assert output(with_domain, "Exposure") == "cloudfront"


def test_with_a_domain_the_listener_forbids_and_every_route_needs_the_secret_origin_header(
    with_domain: Synthesized,
) -> None:
    edge = with_domain.deployment.edge
    listener = only(with_domain.resources(edge, "AWS::ElasticLoadBalancingV2::Listener"))["Properties"]
    assert (listener["Port"], listener["Protocol"]) == (443, "HTTPS")
    [action] = listener["DefaultActions"]
    assert action["FixedResponseConfig"]["StatusCode"] == "403"

    secrets = {
        name: resource
        for name, resource in with_domain.resources(edge, "AWS::SecretsManager::Secret").items()
        if resource["Properties"]["Name"] == "bedrockgate-dev/edge/origin-verify"
    }
    [(secret_id, secret)] = secrets.items()
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["ExcludePunctuation"] is True  # ALB header conditions treat * and ? as wildcards
    assert generated["PasswordLength"] == 64

    distribution = only(with_domain.resources(edge, "AWS::CloudFront::Distribution"))
    [origin] = distribution["Properties"]["DistributionConfig"]["Origins"]
    [header] = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == ORIGIN_HEADER
    value = json.dumps(header["HeaderValue"])
    assert "{{resolve:secretsmanager:" in value  # resolved at deploy time, never a literal
    assert secret_id in value

    rules = all_resources(with_domain, "AWS::ElasticLoadBalancingV2::ListenerRule")
    assert rules
    for name, rule in rules.items():
        headers = [c for c in rule["Properties"]["Conditions"] if c["Field"] == "http-header"]
        assert len(headers) == 1, name
        config = headers[0]["HttpHeaderConfig"]
        assert config["HttpHeaderName"] == ORIGIN_HEADER
        [required] = config["Values"]
        assert "{{resolve:secretsmanager:" in json.dumps(required), name
        assert secret_id in json.dumps(required), name


# --- public_alb over HTTPS ------------------------------------------------------------------------


def test_without_a_domain_the_alb_serves_https_with_the_given_certificate(public_https: Synthesized) -> None:
    edge = public_https.deployment.edge
    balancer = only(public_https.resources(edge, "AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    assert balancer["Scheme"] == "internet-facing"
    listener = only(public_https.resources(edge, "AWS::ElasticLoadBalancingV2::Listener"))["Properties"]
    assert (listener["Port"], listener["Protocol"]) == (443, "HTTPS")
    assert listener["Certificates"] == [{"CertificateArn": public_https.deployment.settings.alb_certificate_arn}]
    assert listener["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    acl = only(public_https.resources(edge, "AWS::WAFv2::WebACL"))["Properties"]
    assert acl["Scope"] == "REGIONAL"
    assert acl["Rules"][0]["Name"] == "AllowListOnly"  # connections come from the clients themselves
    assert public_https.resources(edge, "AWS::WAFv2::WebACLAssociation")
    assert not all_resources(public_https, "AWS::CloudFront::Distribution")
    for rule in all_resources(public_https, "AWS::ElasticLoadBalancingV2::ListenerRule").values():
        assert all(condition["Field"] != "http-header" for condition in rule["Properties"]["Conditions"])
    assert json.dumps(output(public_https, "Endpoint")).startswith('{"Fn::Join": ["", ["https://"')
    assert INSECURE_HTTP_WARNING not in public_https.deployment.warnings
    assert not [item for item in acknowledged(public_https.deployment.app) if item.rule.startswith("Bedrockgate-")]


# --- insecure_http: explicit, warned, acknowledged ----------------------------------------------


@pytest.mark.parametrize("shape", ["dev", "internal"])
def test_plain_http_is_explicit_warned_and_acknowledged(shape: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(shape)
    edge = synth.deployment.edge
    listener = only(synth.resources(edge, "AWS::ElasticLoadBalancingV2::Listener"))["Properties"]
    assert (listener["Port"], listener["Protocol"]) == (80, "HTTP")
    assert synth.deployment.warnings.count(INSECURE_HTTP_WARNING) == 1
    # The CDK CLI prints the stack's warning annotations at synth (cdk.out/<stack>.metadata.json).
    metadata = (synth.outdir / f"{edge.artifact_id}.metadata.json").read_text(encoding="utf-8")
    assert INSECURE_HTTP_WARNING in metadata  # add_warning_v2 appends its "[ack: ...]" id
    [item] = [item for item in acknowledged(synth.deployment.app) if item.rule.startswith("Bedrockgate-")]
    assert item.rule == "Bedrockgate-HTTP1"
    assert item.path == f"{edge.stack_name}/LoadBalancer/Http"
    assert "insecure_http: true" in item.reason


# --- internal: for agents inside the VPC ----------------------------------------------------------


def test_internal_is_an_internal_alb_in_the_private_subnets_without_cloudfront(internal: Synthesized) -> None:
    edge = internal.deployment.edge
    balancer = only(internal.resources(edge, "AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    assert balancer["Scheme"] == "internal"
    subnets = json.dumps(balancer["Subnets"])
    assert "privateSubnet" in subnets
    assert "publicSubnet" not in subnets
    assert internal.deployment.cloudfront is None
    assert not all_resources(internal, "AWS::CloudFront::Distribution")
    assert only(internal.resources(edge, "AWS::WAFv2::WebACL"))["Properties"]["Scope"] == "REGIONAL"
    assert output(internal, "Exposure") == "internal"
