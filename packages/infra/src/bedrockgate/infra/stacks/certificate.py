"""CloudFront certificate: an ACM certificate for the gateway's domain, in us-east-1.

CloudFront only takes certificates from us-east-1. This small stack is created in us-east-1 when
the settings give a domain but no ``cloudfront_certificate_arn``; the edge stack reads the
certificate through CDK's cross-Region references when it is deployed elsewhere.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from bedrockgate.infra.settings import Domain
from constructs import Construct

__all__ = ["CertificateStack"]


class CertificateStack(cdk.Stack):
    """The DNS-validated certificate CloudFront serves the domain with."""

    def __init__(self, scope: Construct, construct_id: str, *, domain: Domain, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.hosted_zone_name.rstrip(".")
        )
        self.certificate = acm.Certificate(
            self, "Certificate", domain_name=domain.name, validation=acm.CertificateValidation.from_dns(zone)
        )
