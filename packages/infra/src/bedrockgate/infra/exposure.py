"""How clients reach the gateway: the three exposures, their settings rules, CloudFront's prefix lists.

``exposure`` in the deployment settings picks one:

- ``cloudfront`` (implied by a ``domain``): CloudFront serves the domain; the ALB is internet-facing
  but admits only CloudFront (its origin-facing managed prefix list in the security group, and a
  secret origin header that the listener checks);
- ``public_alb`` (the default without a domain): the ALB is the public endpoint, over HTTPS with
  ``alb_certificate_arn``, or plain HTTP only with an explicit ``insecure_http: true``;
- ``internal``: an internal ALB in the private subnets, reachable from inside the VPC only (agents
  that run there), HTTPS with ``alb_certificate_arn`` or explicit ``insecure_http``.

:func:`edge_problem` is the one place these rules live; the settings model raises its answer, so a
bad combination fails as the settings file is read, naming the fields and the fix.

The CloudFront origin-facing prefix list (``com.amazonaws.global.cloudfront.origin-facing``) has a
different id in each Region. It is a static table here, not a lookup: a synth never calls AWS (no
credentials in CI, no ``cdk.context.json`` to keep fresh), and these ids are AWS-managed and stable.
The table is the one AWS's blog post "Limit access to your origins using the AWS-managed prefix list
for Amazon CloudFront" (Networking & Content Delivery, 2022-02) lists, as copied into AWS's own samples
and several public templates that agree id for id. A Region not in it needs
``domain.cloudfront_prefix_list_id`` (``aws ec2 describe-managed-prefix-lists --filters
Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing --region <region>``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, Literal, get_args

if TYPE_CHECKING:
    from bedrockgate.infra.settings import DeploymentSettings

__all__ = [
    "CLOUDFRONT_ORIGIN_FACING",
    "EXPOSURES",
    "Exposure",
    "certificate_region",
    "edge_problem",
    "exposure_of",
    "origin_facing_prefix_list",
]

Exposure = Literal["cloudfront", "public_alb", "internal"]
EXPOSURES: Final[tuple[Exposure, ...]] = get_args(Exposure)

CLOUDFRONT_ORIGIN_FACING: Final[dict[str, str]] = {
    "ap-northeast-1": "pl-58a04531",
    "ap-northeast-2": "pl-22a6434b",
    "ap-south-1": "pl-9aa247f3",
    "ap-southeast-1": "pl-31a34658",
    "ap-southeast-2": "pl-b8a742d1",
    "ca-central-1": "pl-38a64351",
    "eu-central-1": "pl-a3a144ca",
    "eu-north-1": "pl-fab65393",
    "eu-west-1": "pl-4fa04526",
    "eu-west-2": "pl-93a247fa",
    "eu-west-3": "pl-75b1541c",
    "sa-east-1": "pl-5da64334",
    "us-east-1": "pl-3b927c52",
    "us-east-2": "pl-b6a144df",
    "us-west-1": "pl-4ea04527",
    "us-west-2": "pl-82a045eb",
}
"""``com.amazonaws.global.cloudfront.origin-facing`` per Region (source: the module docstring)."""

_ACM_ARN: Final = re.compile(r"arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/[0-9a-f-]+")
_FIX_TLS: Final = (
    "set alb_certificate_arn to an ACM certificate in {region} for the name clients use "
    "(-c alb_certificate_arn=arn:aws:acm:{region}:<account>:certificate/<id>), or, for a throwaway "
    "environment only, set insecure_http: true (API keys then cross the network in clear text)"
)


def exposure_of(settings: DeploymentSettings) -> Exposure:
    """The exposure the settings choose: ``exposure``, else cloudfront with a domain, else public_alb."""
    if settings.exposure is not None:
        return settings.exposure
    return "cloudfront" if settings.domain is not None else "public_alb"


def certificate_region(arn: str) -> str | None:
    """The Region of an ACM certificate ARN, None when the value is not one."""
    match = _ACM_ARN.fullmatch(arn)
    return match["region"] if match else None


def origin_facing_prefix_list(settings: DeploymentSettings) -> str | None:
    """CloudFront's origin-facing prefix list for the settings' Region: the override, else the table."""
    if settings.domain is not None and settings.domain.cloudfront_prefix_list_id is not None:
        return settings.domain.cloudfront_prefix_list_id
    return CLOUDFRONT_ORIGIN_FACING.get(settings.region)


def edge_problem(settings: DeploymentSettings) -> str | None:
    """What is wrong with the settings' edge fields and how to fix it; None when they choose one exposure."""
    exposure = exposure_of(settings)
    checks = _cloudfront_checks(settings) if exposure == "cloudfront" else _direct_checks(settings, exposure)
    return next((message for wrong, message in checks if wrong), None)


def _cloudfront_checks(settings: DeploymentSettings) -> list[tuple[bool, str]]:
    region = settings.region
    return [
        (
            settings.domain is None,
            "exposure: cloudfront needs a domain (domain.name, domain.hosted_zone_id, domain.hosted_zone_name): "
            "add one, or choose exposure: public_alb or exposure: internal",
        ),
        (
            settings.insecure_http,
            "insecure_http: true does not apply with a domain: CloudFront always calls the ALB over HTTPS with "
            "a certificate made for the origin name; remove insecure_http",
        ),
        (
            settings.alb_certificate_arn is not None,
            "alb_certificate_arn does not apply with a domain: the ALB's certificate for the origin name is "
            "made and validated in the hosted zone; remove alb_certificate_arn",
        ),
        (
            origin_facing_prefix_list(settings) is None,
            f"CloudFront's origin-facing prefix list of {region} is not in bedrockgate's table: set "
            "domain.cloudfront_prefix_list_id to the id `aws ec2 describe-managed-prefix-lists --filters "
            f"Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing --region {region}` prints",
        ),
    ]


def _direct_checks(settings: DeploymentSettings, exposure: Exposure) -> list[tuple[bool, str]]:
    region = settings.region
    certificate = settings.alb_certificate_arn
    found = certificate_region(certificate) if certificate is not None else region
    return [
        (
            settings.domain is not None,
            f"a domain is always served through CloudFront, so exposure: {exposure} cannot have one: remove the "
            "domain, or remove exposure (a domain implies exposure: cloudfront)",
        ),
        (
            settings.edge_read_timeout_seconds is not None,
            f"edge_read_timeout_seconds applies to CloudFront, which exposure: {exposure} has none of; remove it",
        ),
        (
            certificate is not None and settings.insecure_http,
            "alb_certificate_arn and insecure_http: true contradict each other: keep the certificate (HTTPS) "
            "and remove insecure_http",
        ),
        (
            certificate is None and not settings.insecure_http,
            f"exposure: {exposure} needs TLS on the ALB: " + _FIX_TLS.format(region=region),
        ),
        (
            found is None,
            f"alb_certificate_arn {certificate!r} is not an ACM certificate ARN: " + _FIX_TLS.format(region=region),
        ),
        (
            found is not None and found != region,
            f"alb_certificate_arn is a certificate in {found}, but an ALB takes certificates from its own "
            f"Region ({region}): import or request the certificate in {region}",
        ),
    ]
