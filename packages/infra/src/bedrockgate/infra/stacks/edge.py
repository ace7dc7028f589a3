"""Edge: the ALB and its WAF web ACL; with a domain, CloudFront, ACM certificates and Route53 records.

The ALB's one listener answers 404 by default; the gateway and Phoenix stacks add the routing rules
(``/phoenix/*`` → Phoenix, every other path → LiteLLM). Without a domain the listener is plain HTTP
on port 80, for a first look only (keys travel unencrypted; use allowed_cidrs). With a domain the
listener is HTTPS on 443 with a regional certificate for the origin name, CloudFront serves the
domain with a us-east-1 certificate and calls the origin over HTTPS (TLS 1.2), and Route53 points
both names at them.

The WAF web ACL (REGIONAL, on the ALB, so it sees every request, through CloudFront or not):

1. optional allow-list: requests from outside ``allowed_cidrs`` are blocked;
2. AWS IP reputation list;
3. AWS common rule set, with ``SizeRestrictions_BODY`` switched to Count — see BODY_SIZE_REASON;
4. AWS known bad inputs;
5. a rate-based rule per client IP.

WAF logs go to CloudWatch Logs with the ``Authorization`` header redacted (it carries API keys).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from bedrockgate.infra.nag import acknowledge
from bedrockgate.infra.settings import DeploymentSettings
from bedrockgate.infra.stacks.network import NetworkStack
from bedrockgate.infra.timeouts import EdgeTimeouts
from constructs import Construct

__all__ = ["BODY_SIZE_REASON", "EdgeStack"]

WEB_ACL_DESCRIPTION: Final = (
    "bedrockgate gateway ALB. The common rule set body size rule only counts: real prompts exceed 8 KB. "
    "See the bedrockgate-infra README"
)

BODY_SIZE_REASON: Final = (
    "AWSManagedRulesCommonRuleSet's SizeRestrictions_BODY blocks request bodies over 8 KB, and most real prompts "
    "(conversation history, documents, tool schemas) are tens of KB: it is set to Count so they reach the gateway. "
    "An ALB's WAF inspects only the first 8 KB of a body anyway, so no WAF rule can enforce a larger limit here; "
    "LiteLLM's general_settings.max_request_size_mb bounds body size, and Bedrock Guardrails inspect the content."
)


class EdgeStack(cdk.Stack):
    """The load balancer, its WAF, access logs, and (with a domain) CloudFront and DNS."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        network: NetworkStack,
        timeouts: EdgeTimeouts,
        cloudfront_certificate: acm.ICertificate | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        domain = settings.domain
        retention = logs.RetentionDays[settings.log_retention]

        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # CloudFront's standard logs are written with ACLs; the ALB's work either way.
            object_ownership=(
                s3.ObjectOwnership.BUCKET_OWNER_PREFERRED if domain else s3.ObjectOwnership.BUCKET_OWNER_ENFORCED
            ),
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.access_logs,
            "S1",
            "This bucket receives the ALB's and CloudFront's access logs; logging its own access would need a second "
            "bucket that logs nowhere, and nothing but the log-delivery services writes here.",
        )

        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            load_balancer_name=settings.prefix,
            vpc=network.vpc,
            vpc_subnets=network.public_subnets,
            internet_facing=True,
            security_group=network.alb_sg,
            idle_timeout=cdk.Duration.seconds(timeouts.alb_idle),
            drop_invalid_header_fields=True,
            http2_enabled=True,
        )
        self.alb.log_access_logs(self.access_logs, prefix="alb")

        zone: route53.IHostedZone | None = None
        if domain is None:
            self.listener = self.alb.add_listener(
                "Http",
                port=80,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=False,
                default_action=_not_found(),
            )
            self.endpoint = f"http://{self.alb.load_balancer_dns_name}"
        else:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.hosted_zone_name.rstrip(".")
            )
            origin_certificate = acm.Certificate(
                self,
                "OriginCertificate",
                domain_name=domain.origin,
                validation=acm.CertificateValidation.from_dns(zone),
            )
            self.listener = self.alb.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_certificate_manager(origin_certificate)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                open=False,
                default_action=_not_found(),
            )
            route53.ARecord(
                self,
                "OriginRecord",
                zone=zone,
                record_name=domain.origin,
                target=route53.RecordTarget.from_alias(targets.LoadBalancerTarget(self.alb)),
            )
            self.endpoint = f"https://{domain.name}"

        self.web_acl = self._web_acl(retention)

        self.distribution: cloudfront.Distribution | None = None
        if domain is not None and zone is not None:
            if cloudfront_certificate is None and domain.cloudfront_certificate_arn is not None:
                cloudfront_certificate = acm.Certificate.from_certificate_arn(
                    self, "CloudFrontCertificate", domain.cloudfront_certificate_arn
                )
            if cloudfront_certificate is None:
                raise ValueError("a domain needs a CloudFront certificate (from settings or the certificate stack)")
            self.distribution = self._distribution(domain.name, domain.origin, cloudfront_certificate, timeouts)
            for kind, record in (("A", route53.ARecord), ("AAAA", route53.AaaaRecord)):
                record(
                    self,
                    f"Domain{kind}",
                    zone=zone,
                    record_name=domain.name,
                    target=route53.RecordTarget.from_alias(targets.CloudFrontTarget(self.distribution)),
                )

        cdk.CfnOutput(self, "Endpoint", value=self.endpoint, description="The gateway's base URL (OpenAI-compatible)")
        cdk.CfnOutput(self, "PhoenixUrl", value=f"{self.endpoint}/phoenix/", description="Phoenix traces (log in)")

    def _web_acl(self, retention: logs.RetentionDays) -> wafv2.CfnWebACL:
        settings = self.settings
        rules: list[wafv2.CfnWebACL.RuleProperty] = []
        allow_list = self._allow_list()
        if allow_list is not None:
            rules.append(
                _rule(
                    "AllowListOnly",
                    len(rules),
                    wafv2.CfnWebACL.StatementProperty(
                        not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=allow_list)
                    ),
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                )
            )
        rules.append(_managed("AWSManagedRulesAmazonIpReputationList", len(rules)))
        rules.append(
            _managed(
                "AWSManagedRulesCommonRuleSet",
                len(rules),
                overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name="SizeRestrictions_BODY", action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                ],
            )
        )
        rules.append(_managed("AWSManagedRulesKnownBadInputsRuleSet", len(rules)))
        rules.append(
            _rule(
                "RateLimitPerIp",
                len(rules),
                wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP", limit=settings.waf_rate_limit, evaluation_window_sec=300
                    )
                ),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            )
        )
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=settings.prefix,
            scope="REGIONAL",
            description=WEB_ACL_DESCRIPTION,
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(settings.prefix),
            rules=rules,
        )
        wafv2.CfnWebACLAssociation(
            self, "WebAclAssociation", resource_arn=self.alb.load_balancer_arn, web_acl_arn=acl.attr_arn
        )
        log_group_name = f"aws-waf-logs-{settings.prefix}"
        log_group = logs.LogGroup(
            self,
            "WafLogs",
            log_group_name=log_group_name,
            retention=retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=acl.attr_arn,
            log_destination_configs=[
                self.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group_name,
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "authorization"}),
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "x-api-key"}),
            ],
        )
        logging.node.add_dependency(log_group)
        return acl

    def _allow_list(self) -> wafv2.CfnWebACL.StatementProperty | None:
        cidrs = self.settings.allowed_cidrs
        if not cidrs:
            return None
        statements: list[wafv2.CfnWebACL.StatementProperty] = []
        for version in ("IPV4", "IPV6"):
            addresses = [
                cidr for cidr in cidrs if ipaddress.ip_network(cidr).version == (4 if version == "IPV4" else 6)
            ]
            if not addresses:
                continue
            ip_set = wafv2.CfnIPSet(
                self,
                f"AllowList{version.title()}",
                name=f"{self.settings.prefix}-allow-{version.lower()}",
                scope="REGIONAL",
                ip_address_version=version,
                addresses=addresses,
            )
            statements.append(
                wafv2.CfnWebACL.StatementProperty(
                    ip_set_reference_statement=wafv2.CfnWebACL.IPSetReferenceStatementProperty(arn=ip_set.attr_arn)
                )
            )
        if len(statements) == 1:
            return statements[0]
        return wafv2.CfnWebACL.StatementProperty(
            or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=statements)
        )

    def _distribution(
        self, name: str, origin_name: str, certificate: acm.ICertificate, timeouts: EdgeTimeouts
    ) -> cloudfront.Distribution:
        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{self.settings.prefix} gateway",
            domain_names=[name],
            certificate=certificate,
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
        acknowledge(
            distribution,
            "CFR2",
            "The WAF web ACL is attached to the ALB origin (REGIONAL scope), which sees every request whether it came "
            "through CloudFront or not; a second CLOUDFRONT-scope ACL would need a us-east-1 stack and double "
            "the cost.",
        )
        return distribution


def _not_found() -> elbv2.ListenerAction:
    return elbv2.ListenerAction.fixed_response(
        404, content_type="application/json", message_body='{"error": "no route for this path"}'
    )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _rule(
    name: str,
    priority: int,
    statement: wafv2.CfnWebACL.StatementProperty,
    *,
    action: wafv2.CfnWebACL.RuleActionProperty | None = None,
    override: wafv2.CfnWebACL.OverrideActionProperty | None = None,
) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        statement=statement,
        action=action,
        override_action=override,
        visibility_config=_visibility(name),
    )


def _managed(
    name: str, priority: int, *, overrides: list[wafv2.CfnWebACL.RuleActionOverrideProperty] | None = None
) -> wafv2.CfnWebACL.RuleProperty:
    return _rule(
        name,
        priority,
        wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name, rule_action_overrides=overrides
            )
        ),
        override=wafv2.CfnWebACL.OverrideActionProperty(none={}),
    )
