"""The WAF web ACL in front of the gateway, the same rules for either place it is attached.

Where it is attached depends on the exposure (see :mod:`bedrockgate.infra.exposure`), and always
where the client's own address is the connection's source, so the allow-list and the per-client
rate limit count clients, never proxies:

- ``cloudfront``: a CLOUDFRONT-scoped ACL (created in us-east-1, as WAF requires) on the
  distribution. A REGIONAL ACL on the ALB would see CloudFront's edge addresses; reading the client
  from ``X-Forwarded-For`` instead (``ForwardedIPConfig``) is not safe for the rate limit: a
  rate-based statement aggregates on the header's FIRST address, and CloudFront appends the viewer's
  address to whatever ``X-Forwarded-For`` the client sent, so a client could rotate a forged first
  address and never reach the limit. CloudFront's own WAF sees the viewer's real address. The ALB
  behind it admits only CloudFront (prefix list and origin header), so it needs no ACL of its own.
- ``public_alb`` and ``internal``: a REGIONAL ACL on the ALB, whose connections come from the clients.

Rules, in order:

1. optional allow-list: requests from outside ``allowed_cidrs`` are blocked;
2. AWS IP reputation list;
3. AWS common rule set, with ``SizeRestrictions_BODY`` switched to Count (see BODY_SIZE_REASON);
4. AWS known bad inputs;
5. a rate-based rule per client IP (``waf_rate_limit`` per 5 minutes).

WAF logs go to CloudWatch Logs (in the ACL's Region) with the ``Authorization`` and ``x-api-key``
headers redacted (they carry API keys).
"""

from __future__ import annotations

import ipaddress
from typing import Final, Literal

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from bedrockgate.infra.settings import DeploymentSettings
from constructs import Construct

__all__ = ["BODY_SIZE_REASON", "WEB_ACL_DESCRIPTION", "WafScope", "web_acl"]

WafScope = Literal["REGIONAL", "CLOUDFRONT"]

WEB_ACL_DESCRIPTION: Final = (
    "bedrockgate gateway. The common rule set body size rule only counts: real prompts exceed 8 KB. "
    "See the bedrockgate-infra README"
)

BODY_SIZE_REASON: Final = (
    "AWSManagedRulesCommonRuleSet's SizeRestrictions_BODY blocks request bodies over 8 KB, and most real prompts "
    "(conversation history, documents, tool schemas) are tens of KB: it is set to Count so they reach the gateway. "
    "A web ACL inspects only the first 8 KB (ALB) or 16 KB (CloudFront, by default) of a body anyway, so no WAF rule "
    "can enforce a larger limit here; LiteLLM's general_settings.max_request_size_mb bounds body size, and Bedrock "
    "Guardrails inspect the content."
)


def web_acl(scope: Construct, settings: DeploymentSettings, *, waf_scope: WafScope) -> wafv2.CfnWebACL:
    """The web ACL, its IP sets and its logging, created in ``scope``'s stack (us-east-1 for CLOUDFRONT)."""
    acl = wafv2.CfnWebACL(
        scope,
        "WebAcl",
        name=settings.prefix,
        scope=waf_scope,
        description=WEB_ACL_DESCRIPTION,
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=_visibility(settings.prefix),
        rules=_rules(scope, settings, waf_scope),
    )
    _log_requests(scope, settings, acl)
    return acl


def _rules(scope: Construct, settings: DeploymentSettings, waf_scope: WafScope) -> list[wafv2.CfnWebACL.RuleProperty]:
    """In priority order: the allow-list (when given), AWS's managed rule groups, the per-IP rate limit."""
    rules: list[wafv2.CfnWebACL.RuleProperty] = []
    allow_list = _allow_list(scope, settings, waf_scope)
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
    return rules


def _log_requests(scope: Construct, settings: DeploymentSettings, acl: wafv2.CfnWebACL) -> None:
    """The web ACL's request log (``aws-waf-logs-<prefix>``), with the clients' keys redacted."""
    log_group_name = f"aws-waf-logs-{settings.prefix}"
    log_group = logs.LogGroup(
        scope,
        "WafLogs",
        log_group_name=log_group_name,
        retention=logs.RetentionDays[settings.log_retention],
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    logging = wafv2.CfnLoggingConfiguration(
        scope,
        "WafLogging",
        resource_arn=acl.attr_arn,
        log_destination_configs=[
            cdk.Stack.of(scope).format_arn(
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


def _allow_list(
    scope: Construct, settings: DeploymentSettings, waf_scope: WafScope
) -> wafv2.CfnWebACL.StatementProperty | None:
    cidrs = settings.allowed_cidrs
    if not cidrs:
        return None
    statements: list[wafv2.CfnWebACL.StatementProperty] = []
    for version in ("IPV4", "IPV6"):
        addresses = [cidr for cidr in cidrs if ipaddress.ip_network(cidr).version == (4 if version == "IPV4" else 6)]
        if not addresses:
            continue
        ip_set = wafv2.CfnIPSet(
            scope,
            f"AllowList{version.title()}",
            name=f"{settings.prefix}-allow-{version.lower()}",
            scope=waf_scope,
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
    return wafv2.CfnWebACL.StatementProperty(or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=statements))


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
