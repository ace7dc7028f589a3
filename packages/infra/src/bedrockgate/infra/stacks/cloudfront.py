"""CloudFront's us-east-1 resources: its WAF web ACL and, unless given, its certificate.

CloudFront takes certificates and CLOUDFRONT-scoped web ACLs from us-east-1 only. This small stack
is created in us-east-1 whenever the settings give a domain: it always holds the web ACL (see
:mod:`bedrockgate.infra.stacks.waf` for why the ACL is on the distribution and not on the ALB) and,
without ``domain.cloudfront_certificate_arn``, the DNS-validated certificate for the domain. The
edge stack reads both through CDK's cross-Region references when it is deployed elsewhere.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from bedrockgate.infra.exceptions import SettingsError
from bedrockgate.infra.settings import DeploymentSettings
from bedrockgate.infra.stacks.waf import web_acl
from constructs import Construct

__all__ = ["CLOUDFRONT_REGION", "CloudFrontStack"]

CLOUDFRONT_REGION = "us-east-1"


class CloudFrontStack(cdk.Stack):
    """The CLOUDFRONT-scoped web ACL and, when the settings give none, the certificate CloudFront serves."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploymentSettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        domain = settings.domain
        if domain is None:  # pragma: no cover - the app creates this stack only with a domain
            raise SettingsError("the CloudFront stack needs a domain")
        self.certificate: acm.ICertificate | None = None
        if domain.cloudfront_certificate_arn is None:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.hosted_zone_name.rstrip(".")
            )
            self.certificate = acm.Certificate(
                self, "Certificate", domain_name=domain.name, validation=acm.CertificateValidation.from_dns(zone)
            )
        self.web_acl = web_acl(self, settings, waf_scope="CLOUDFRONT")
