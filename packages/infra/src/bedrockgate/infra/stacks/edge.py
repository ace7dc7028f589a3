"""Edge: the ALB in front of the services, how clients reach it, and its WAF web ACL.

The exposure (``exposure`` in the settings; see :mod:`bedrockgate.infra.exposure`) decides the rest:

- ``cloudfront`` (a domain): CloudFront serves the domain with a us-east-1 certificate and the
  CLOUDFRONT-scoped web ACL (:mod:`bedrockgate.infra.stacks.cloudfront`; why there and not on the
  ALB: :mod:`bedrockgate.infra.stacks.waf`), and calls the ALB over HTTPS (TLS 1.2) at
  ``origin.<domain>``, which has a regional certificate. The ALB accepts only CloudFront, always: its
  security group admits only CloudFront's origin-facing managed prefix list (the network stack), and
  every request must carry the origin header ``X-Origin-Verify`` whose value CloudFront adds from a
  Secrets Manager secret created here. The listener answers 403 by default; each route
  (:meth:`EdgeStack.guard_route`) forwards only when the header matches. The value reaches
  CloudFront and the listener rules as a CloudFormation dynamic reference
  (``{{resolve:secretsmanager:...}}``), resolved at deploy time: it is never in a template, but anyone
  who may read the distribution's config or the listener's rules can see it. Rotating it is a new
  secret value and a redeploy of the edge, gateway and Phoenix stacks.
- ``public_alb``: an internet-facing ALB, HTTPS on 443 with ``alb_certificate_arn``; plain HTTP on 80
  only with ``insecure_http: true`` (synth warns; the Bedrockgate-HTTP1 finding is acknowledged).
- ``internal``: an internal ALB in the private subnets, for agents inside the VPC (no CloudFront, no
  public address), HTTPS or explicit ``insecure_http`` as above.

Without CloudFront the REGIONAL web ACL is on the ALB, whose connections come from the clients
themselves. Without a domain the listener answers 404 to a path no route takes; the gateway and
Phoenix stacks add the routes (``/phoenix/*`` → Phoenix, every other path → LiteLLM).
"""

from __future__ import annotations

from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from bedrockgate.infra.exceptions import SettingsError
from bedrockgate.infra.nag import BEDROCKGATE_PACK, acknowledge
from bedrockgate.infra.settings import DeploymentSettings
from bedrockgate.infra.stacks.cloudfront import CloudFrontStack
from bedrockgate.infra.stacks.network import NetworkStack
from bedrockgate.infra.stacks.waf import BODY_SIZE_REASON, web_acl
from bedrockgate.infra.timeouts import EdgeTimeouts
from constructs import Construct

__all__ = ["BODY_SIZE_REASON", "INSECURE_HTTP_WARNING", "ORIGIN_HEADER", "EdgeStack"]

ORIGIN_HEADER: Final = "X-Origin-Verify"
"""The header CloudFront adds to every origin request; the ALB forwards only requests that carry its secret."""

INSECURE_HTTP_WARNING: Final = (
    "insecure_http: true: the ALB listens on plain HTTP, so API keys and prompts cross the network in clear text; "
    "for a throwaway environment only: set alb_certificate_arn (HTTPS) for anything else"
)


class EdgeStack(cdk.Stack):
    """The load balancer and its listener, access logs, the web ACL, and (with a domain) CloudFront and DNS."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        network: NetworkStack,
        timeouts: EdgeTimeouts,
        cloudfront_stack: CloudFrontStack | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.exposure = settings.edge_exposure
        domain = settings.domain
        internal = self.exposure == "internal"

        self.access_logs = self._access_logs(settings)
        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            load_balancer_name=settings.prefix,
            vpc=network.vpc,
            vpc_subnets=network.private_subnets if internal else network.public_subnets,
            internet_facing=not internal,
            security_group=network.alb_sg,
            idle_timeout=cdk.Duration.seconds(timeouts.alb_idle),
            drop_invalid_header_fields=True,
            http2_enabled=True,
        )
        self.alb.log_access_logs(self.access_logs, prefix="alb")

        self.origin_secret: secretsmanager.Secret | None = None
        self.warnings: tuple[str, ...] = ()
        self.distribution: cloudfront.Distribution | None = None
        self.web_acl: wafv2.CfnWebACL
        if domain is None:
            self.listener = self._direct_listener()
            self.web_acl = web_acl(self, settings, waf_scope="REGIONAL")
            wafv2.CfnWebACLAssociation(
                self, "WebAclAssociation", resource_arn=self.alb.load_balancer_arn, web_acl_arn=self.web_acl.attr_arn
            )
        else:
            if cloudfront_stack is None:  # pragma: no cover - build_app always passes it with a domain
                raise SettingsError(
                    "a domain needs the CloudFront stack (its web ACL, and its certificate unless given)"
                )
            self.web_acl = cloudfront_stack.web_acl
            self.listener = self._cloudfront(cloudfront_stack, timeouts)

        cdk.CfnOutput(self, "Endpoint", value=self.endpoint, description="The gateway's base URL (OpenAI-compatible)")
        cdk.CfnOutput(self, "PhoenixUrl", value=f"{self.endpoint}/phoenix/", description="Phoenix traces (log in)")
        cdk.CfnOutput(
            self, "Exposure", value=self.exposure, description="How clients reach the gateway (settings: exposure)"
        )

    def _access_logs(self, settings: DeploymentSettings) -> s3.Bucket:
        """The bucket the ALB's (and CloudFront's) access logs go to, kept 90 days."""
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # CloudFront's standard logs are written with ACLs; the ALB's work either way.
            object_ownership=(
                s3.ObjectOwnership.BUCKET_OWNER_PREFERRED
                if settings.domain
                else s3.ObjectOwnership.BUCKET_OWNER_ENFORCED
            ),
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(
            bucket,
            "S1",
            "This bucket receives the ALB's and CloudFront's access logs; logging its own access would need a second "
            "bucket that logs nowhere, and nothing but the log-delivery services writes here.",
        )
        return bucket

    def guard_route(self, rule: elbv2.ApplicationListenerRule) -> None:
        """Make a route of this listener forward only requests that came through CloudFront.

        With CloudFront every route (the gateway's, Phoenix's) must also match the secret origin
        header, else a caller that reached the ALB directly would be routed; the listener's default
        action is a 403. Without CloudFront there is no header, and this does nothing.
        """
        if self.origin_secret is not None:
            rule.add_condition(elbv2.ListenerCondition.http_header(ORIGIN_HEADER, [self._origin_value]))

    @property
    def _origin_value(self) -> str:
        if self.origin_secret is None:  # pragma: no cover - only called with CloudFront
            raise SettingsError("no origin secret without CloudFront")
        # A {{resolve:secretsmanager:...}} dynamic reference: CloudFormation resolves it at deploy time.
        return self.origin_secret.secret_value.unsafe_unwrap()

    def _direct_listener(self) -> elbv2.ApplicationListener:
        """public_alb and internal: HTTPS with the settings' certificate, or plain HTTP when explicitly insecure."""
        settings = self.settings
        name = self.alb.load_balancer_dns_name
        if settings.alb_certificate_arn is not None:
            certificate = acm.Certificate.from_certificate_arn(self, "Certificate", settings.alb_certificate_arn)
            self.endpoint = f"https://{name}"
            return self._https_listener(certificate, _not_found())
        listener = self.alb.add_listener(
            "Http",
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_action=_not_found(),
        )
        acknowledge(
            listener,
            "HTTP1",
            "insecure_http: true in the deployment settings: a throwaway environment chose plain HTTP without a "
            "certificate, accepting that API keys cross the network in clear text; synth prints a warning.",
            pack=BEDROCKGATE_PACK,
        )
        cdk.Annotations.of(listener).add_warning_v2("bedrockgate:insecure-http", INSECURE_HTTP_WARNING)
        self.warnings = (INSECURE_HTTP_WARNING,)
        self.endpoint = f"http://{name}"
        return listener

    def _https_listener(
        self, certificate: acm.ICertificate, default_action: elbv2.ListenerAction
    ) -> elbv2.ApplicationListener:
        return self.alb.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            open=False,
            default_action=default_action,
        )

    def _cloudfront(self, stack: CloudFrontStack, timeouts: EdgeTimeouts) -> elbv2.ApplicationListener:
        """CloudFront in front of an ALB that answers only CloudFront; DNS for the domain and the origin."""
        settings = self.settings
        domain = settings.domain
        if domain is None:  # pragma: no cover - only called with a domain
            raise SettingsError("CloudFront needs a domain")
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.hosted_zone_name.rstrip(".")
        )
        origin_certificate = acm.Certificate(
            self,
            "OriginCertificate",
            domain_name=domain.origin,
            validation=acm.CertificateValidation.from_dns(zone),
        )
        listener = self._https_listener(
            origin_certificate,
            elbv2.ListenerAction.fixed_response(
                403, content_type="application/json", message_body='{"error": "only CloudFront may call this origin"}'
            ),
        )
        route53.ARecord(
            self,
            "OriginRecord",
            zone=zone,
            record_name=domain.origin,
            target=route53.RecordTarget.from_alias(targets.LoadBalancerTarget(self.alb)),
        )
        self.origin_secret = self._origin_secret(settings.prefix)
        certificate = stack.certificate
        if certificate is None:
            arn = domain.cloudfront_certificate_arn
            if arn is None:  # pragma: no cover - the CloudFront stack makes one when none is given
                raise SettingsError("a domain needs a CloudFront certificate (from settings or the CloudFront stack)")
            certificate = acm.Certificate.from_certificate_arn(self, "CloudFrontCertificate", arn)
        self.distribution = self._distribution(domain.name, domain.origin, certificate, timeouts, stack)
        for kind, record in (("A", route53.ARecord), ("AAAA", route53.AaaaRecord)):
            record(
                self,
                f"Domain{kind}",
                zone=zone,
                record_name=domain.name,
                target=route53.RecordTarget.from_alias(targets.CloudFrontTarget(self.distribution)),
            )
        self.endpoint = f"https://{domain.name}"
        return listener

    def _origin_secret(self, prefix: str) -> secretsmanager.Secret:
        """The value of the header CloudFront adds and the ALB's routes require."""
        secret = secretsmanager.Secret(
            self,
            "OriginVerify",
            secret_name=f"{prefix}/edge/origin-verify",
            description=f"The {ORIGIN_HEADER} header CloudFront adds and the ALB's routes require",
            # Letters and digits only: an ALB header condition treats * and ? as wildcards (128 chars at most).
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, include_space=False, password_length=64
            ),
        )
        acknowledge(
            secret,
            "SMG4",
            "CloudFront's origin header and the ALB's listener rules take this value at deploy time (a dynamic "
            "reference), so no rotation Lambda can change it in place: it is rotated by putting a new value and "
            "redeploying the edge, gateway and Phoenix stacks.",
        )
        return secret

    def _distribution(
        self,
        name: str,
        origin_name: str,
        certificate: acm.ICertificate,
        timeouts: EdgeTimeouts,
        stack: CloudFrontStack,
    ) -> cloudfront.Distribution:
        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{self.settings.prefix} gateway",
            domain_names=[name],
            certificate=certificate,
            web_acl_id=stack.web_acl.attr_arn,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=self.access_logs,
            log_file_prefix="cloudfront/",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(
                    origin_name,
                    protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                    origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
                    read_timeout=cdk.Duration.seconds(timeouts.cloudfront_read),
                    keepalive_timeout=cdk.Duration.seconds(60),
                    # CloudFront overwrites a viewer's header of the same name, so a client cannot forge it.
                    custom_headers={ORIGIN_HEADER: self._origin_value},
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                # Every viewer header (Authorization carries the API key) except Host: CloudFront checks
                # the origin's certificate against the origin name, not the viewer's domain.
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                compress=False,
            ),
        )
        acknowledge(
            distribution,
            "CFR1",
            "The gateway serves the organisation's own clients and agents wherever they run; access is controlled by "
            "API keys and the optional WAF allow-list, not by country.",
        )
        return distribution


def _not_found() -> elbv2.ListenerAction:
    return elbv2.ListenerAction.fixed_response(
        404, content_type="application/json", message_body='{"error": "no route for this path"}'
    )
