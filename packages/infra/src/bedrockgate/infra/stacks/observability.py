"""Observability: a dashboard, alarms and Logs Insights queries derived from the config's model groups.

Per model group, from the metrics callback's EMF records (namespace and dimension names from the
settings' ``metrics`` section, which the gateway task also hands to the callback): request rate,
error rate, latency p50/p95/p99, input and output tokens, cost, and per request the average tokens
(``TotalTokens / RequestCount``) and cost (``ResponseCostUSD / RequestCount``). With key dimensions
on, the busiest key aliases and teams. Then the platform: the ALB's request count, the gateway
service's CPU and memory, the ALB's 5xx counts and target response time.

``ApplicationErrors``: a metric filter on the gateway's log group counts the proxy's JSON log lines
at level ERROR (the config's ``json_logs: true`` makes LiteLLM write ``{"message": ..., "level":
"ERROR", ...}``), in the settings' namespace. A metric filter's dimensions can only be fields of the
log line, and LiteLLM's lines carry no service name, so the metric has none: environments that share
an account, a Region and a namespace share it (give them distinct ``metrics.namespace``).

Logs Insights query definitions on the gateway's log group: the top error messages, and the slowest
requests per model group from the callback's EMF lines (``litellm_metric``, ``ModelGroup``,
``ResponseTimeMs``); the dashboard shows both.

Alarms, to an encrypted SNS topic (and an e-mail address when the settings give one): error rate,
p95 and p99 latency per model group, ApplicationErrors, and the whole gateway's cost over the last hour.

A new model group in the config appears on the dashboard and gets its alarms at the next deploy,
with no change here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from bedrockgate.infra.settings import DeploymentSettings
from constructs import Construct

__all__ = ["APPLICATION_ERRORS", "SLOWEST_REQUESTS_QUERY", "TOP_ERRORS_QUERY", "ObservabilityStack"]

PERIOD: Final = cdk.Duration.minutes(5)
WIDTH: Final = 12
APPLICATION_ERRORS: Final = "ApplicationErrors"
ERROR_LEVEL: Final = "ERROR"
TOP_ERRORS_QUERY: Final = logs.QueryString(
    fields=["@timestamp", "level", "message"],
    filter_statements=[f'level = "{ERROR_LEVEL}"'],
    stats_statements=["count(*) as errors, latest(@timestamp) as last_seen by message"],
    sort="errors desc",
    limit=25,
)
"""The most frequent ERROR messages of the proxy's JSON logs."""
SLOWEST_REQUESTS_QUERY: Final = logs.QueryString(
    fields=["@timestamp", "ModelGroup", "ResponseTimeMs", "status", "litellm_call_id"],
    filter_statements=["ispresent(litellm_metric) and ispresent(ResponseTimeMs)"],
    stats_statements=[
        "max(ResponseTimeMs) as slowest_ms, pct(ResponseTimeMs, 95) as p95_ms, avg(ResponseTimeMs) as avg_ms, "
        "count(*) as requests by ModelGroup"
    ],
    sort="slowest_ms desc",
    limit=50,
)
"""Per model group, the slowest request, p95 and average (ms), from the metrics callback's EMF lines."""


class ObservabilityStack(cdk.Stack):
    """The gateway's dashboard, its alarms and the topic they notify."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        model_groups: Sequence[str],
        service: ecs.FargateService,
        load_balancer: elbv2.IApplicationLoadBalancer,
        target_group: elbv2.IApplicationTargetGroup,
        log_group: logs.ILogGroup,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.model_groups = list(model_groups)
        self.log_group = log_group
        self.application_errors = self._application_errors(log_group)
        self.queries = self._queries(log_group)
        self.topic = self._alarm_topic()
        notify = actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []
        for group in self.model_groups:
            self._model_group_alarms(group, notify)
        self._gateway_alarms(notify)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=settings.prefix,
            default_interval=cdk.Duration.hours(6),
            widgets=self._widgets(service, load_balancer, target_group),
        )
        cdk.CfnOutput(self, "AlarmTopic", value=self.topic.topic_arn)

    def _queries(self, log_group: logs.ILogGroup) -> dict[str, logs.QueryDefinition]:
        """The saved Logs Insights queries over the gateway's log group, by name."""
        return {
            name: logs.QueryDefinition(
                self,
                construct_id,
                query_definition_name=f"{self.settings.prefix}/{name}",
                query_string=query,
                log_groups=[log_group],
            )
            for construct_id, name, query in (
                ("TopErrorsQuery", "top-errors", TOP_ERRORS_QUERY),
                ("SlowestRequestsQuery", "slowest-requests-per-model-group", SLOWEST_REQUESTS_QUERY),
            )
        }

    def _alarm_topic(self) -> sns.Topic:
        """The KMS-encrypted topic every alarm notifies, with the settings' e-mail subscribed."""
        settings = self.settings
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"Encrypts {settings.prefix}'s alarm notifications",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # CloudWatch publishes alarms to an encrypted topic only if the key lets it.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": settings.account}},
            )
        )
        topic = sns.Topic(self, "Alarms", topic_name=f"{settings.prefix}-alarms", master_key=key, enforce_ssl=True)
        if settings.alarms.email:
            topic.add_subscription(subscriptions.EmailSubscription(settings.alarms.email))
        return topic

    def _model_group_alarms(self, group: str, notify: cloudwatch.IAlarmAction) -> None:
        """One model group's error rate, p95 and p99 latency alarms."""
        alarms = self.settings.alarms
        self._alarm(
            f"ErrorRate{_id(group)}",
            self._error_rate(group),
            alarms.error_rate_percent,
            f"{group}: more than {alarms.error_rate_percent:g}% of requests failed for 15 minutes",
            notify,
        )
        self._alarm(
            f"LatencyP95{_id(group)}",
            self._metric("ResponseTimeMs", group, "p95"),
            alarms.p95_latency_ms,
            f"{group}: p95 latency above {alarms.p95_latency_ms:g} ms for 15 minutes",
            notify,
        )
        self._alarm(
            f"LatencyP99{_id(group)}",
            self._metric("ResponseTimeMs", group, "p99"),
            alarms.p99_latency_ms,
            f"{group}: p99 latency above {alarms.p99_latency_ms:g} ms for 15 minutes",
            notify,
        )

    def _gateway_alarms(self, notify: cloudwatch.IAlarmAction) -> None:
        """The whole gateway's alarms: ERROR lines in its logs and the hourly model cost."""
        settings = self.settings
        self._alarm(
            "ApplicationErrors",
            self.application_errors,
            settings.alarms.application_errors,
            f"The gateway logged more than {settings.alarms.application_errors} ERROR lines per 5 minutes "
            "for 15 minutes",
            notify,
        )
        hourly_cost = cloudwatch.Metric(
            namespace=settings.metrics.namespace,
            metric_name="ResponseCostUSD",
            dimensions_map={settings.metrics.service_dimension: settings.metrics_service},
            statistic="Sum",
            period=cdk.Duration.hours(1),
            label="Cost over the last hour (USD)",
        )
        self._alarm(
            "HourlyCost",
            hourly_cost,
            settings.alarms.hourly_cost_usd,
            f"The gateway spent more than {settings.alarms.hourly_cost_usd:g} USD on models in an hour",
            notify,
            periods=1,
        )

    def _application_errors(self, log_group: logs.ILogGroup) -> cloudwatch.Metric:
        """The metric filter counting the proxy's ERROR lines, and its metric (0 in a period without one)."""
        namespace = self.settings.metrics.namespace
        logs.MetricFilter(
            self,
            "ApplicationErrorsFilter",
            log_group=log_group,
            filter_name=f"{self.settings.prefix}-application-errors",
            filter_pattern=logs.FilterPattern.string_value("$.level", "=", ERROR_LEVEL),
            metric_namespace=namespace,
            metric_name=APPLICATION_ERRORS,
            metric_value="1",
            default_value=0,
            unit=cloudwatch.Unit.COUNT,
        )
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=APPLICATION_ERRORS,
            statistic="Sum",
            period=PERIOD,
            label="ERROR log lines",
        )

    def _metric(self, name: str, group: str, statistic: str, label: str | None = None) -> cloudwatch.Metric:
        metrics = self.settings.metrics
        return cloudwatch.Metric(
            namespace=metrics.namespace,
            metric_name=name,
            dimensions_map={
                metrics.service_dimension: self.settings.metrics_service,
                metrics.model_group_dimension: group,
            },
            statistic=statistic,
            period=PERIOD,
            label=label or group,
        )

    def _error_rate(self, group: str) -> cloudwatch.MathExpression:
        return self._per_request(group, "RequestErrors", f"{group} error %", scale=100)

    def _per_request(self, group: str, metric: str, label: str, *, scale: int = 1) -> cloudwatch.MathExpression:
        """``scale * metric / RequestCount`` of one model group over each period (0 without requests)."""
        # Metric ids are unique per graph: one pair per model group and metric.
        index = self.model_groups.index(group)
        requests, value = f"requests{index}", f"{metric.lower()}{index}"
        scaled = f"{scale} * {value}" if scale != 1 else value
        return cloudwatch.MathExpression(
            expression=f"IF({requests} > 0, {scaled} / {requests}, 0)",
            using_metrics={
                requests: self._metric("RequestCount", group, "Sum"),
                value: self._metric(metric, group, "Sum"),
            },
            label=label,
            period=PERIOD,
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        action: cloudwatch.IAlarmAction,
        *,
        periods: int = 3,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms.append(alarm)

    def _widgets(
        self,
        service: ecs.FargateService,
        load_balancer: elbv2.IApplicationLoadBalancer,
        target_group: elbv2.IApplicationTargetGroup,
    ) -> list[list[cloudwatch.IWidget]]:
        """The dashboard, top to bottom: the model groups' traffic, latency, tokens and cost, then the gateway's."""
        rows = [*self._model_group_rows(), *self._usage_rows()]
        if self.settings.metrics.key_dimensions:
            metrics = self.settings.metrics
            rows.append(
                [self._top(metrics.key_alias_dimension, "key alias"), self._top(metrics.team_dimension, "team")]
            )
        rows.extend(self._gateway_rows(service, load_balancer, target_group))
        return rows

    def _model_group_rows(self) -> list[list[cloudwatch.IWidget]]:
        """The heading, requests and error rate per model group, and one latency graph per model group."""
        groups = self.model_groups
        metrics = self.settings.metrics
        rows: list[list[cloudwatch.IWidget]] = [
            [
                cloudwatch.TextWidget(
                    markdown=(
                        f"# {self.settings.prefix}\nModel groups from the gateway config: "
                        + ", ".join(f"`{group}`" for group in groups)
                        + f". Metrics: namespace `{metrics.namespace}`, {metrics.service_dimension}="
                        f"`{self.settings.metrics_service}`."
                    ),
                    width=24,
                    height=2,
                )
            ],
            [
                _graph("Requests per 5 minutes", [self._metric("RequestCount", group, "Sum") for group in groups]),
                _graph("Error rate (%)", [self._error_rate(group) for group in groups]),
            ],
        ]
        latency: list[cloudwatch.IWidget] = [
            _graph(
                f"{group}: latency (ms)",
                [self._metric("ResponseTimeMs", group, stat, f"{stat}") for stat in ("p50", "p95", "p99")],
            )
            for group in groups
        ]
        rows.extend(latency[index : index + 2] for index in range(0, len(latency), 2))
        return rows

    def _usage_rows(self) -> list[list[cloudwatch.IWidget]]:
        """Tokens and cost per model group: per 5 minutes, then per request."""
        groups = self.model_groups
        return [
            [
                _graph(
                    "Tokens per 5 minutes (input | output)",
                    [self._metric("InputTokens", group, "Sum", f"{group} in") for group in groups]
                    + [self._metric("OutputTokens", group, "Sum", f"{group} out") for group in groups],
                ),
                _graph("Cost per 5 minutes (USD)", [self._metric("ResponseCostUSD", group, "Sum") for group in groups]),
            ],
            [
                _graph(
                    "Tokens per request (input + output)",
                    [self._per_request(group, "TotalTokens", group) for group in groups],
                ),
                _graph(
                    "Cost per request (USD)", [self._per_request(group, "ResponseCostUSD", group) for group in groups]
                ),
            ],
        ]

    def _gateway_rows(
        self,
        service: ecs.FargateService,
        load_balancer: elbv2.IApplicationLoadBalancer,
        target_group: elbv2.IApplicationTargetGroup,
    ) -> list[list[cloudwatch.IWidget]]:
        """The gateway as a whole: ALB requests, ERROR lines, the saved queries, CPU and memory, 5xx and latency."""
        return [
            [
                _graph(
                    "ALB: requests per 5 minutes",
                    [load_balancer.metrics.request_count(period=PERIOD, statistic="Sum", label="requests")],
                ),
                _graph(f"{APPLICATION_ERRORS}: ERROR lines in the gateway's logs", [self.application_errors]),
            ],
            [
                self._table("Top errors (gateway logs)", TOP_ERRORS_QUERY),
                self._table("Slowest requests per model group (ms)", SLOWEST_REQUESTS_QUERY),
            ],
            [
                _graph(
                    "Gateway service: CPU and memory (%)",
                    [
                        service.metric_cpu_utilization(period=PERIOD, label="CPU"),
                        service.metric_memory_utilization(period=PERIOD, label="memory"),
                    ],
                ),
                _graph(
                    "ALB: 5xx and target response time",
                    [
                        load_balancer.metrics.http_code_target(
                            elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=PERIOD, statistic="Sum", label="target 5xx"
                        ),
                        load_balancer.metrics.http_code_elb(
                            elbv2.HttpCodeElb.ELB_5XX_COUNT, period=PERIOD, statistic="Sum", label="ALB 5xx"
                        ),
                    ],
                    right=[
                        target_group.metrics.target_response_time(period=PERIOD, statistic="p50", label="p50 (s)"),
                        target_group.metrics.target_response_time(period=PERIOD, statistic="p99", label="p99 (s)"),
                    ],
                ),
            ],
        ]

    def _table(self, title: str, query: logs.QueryString) -> cloudwatch.LogQueryWidget:
        """A Logs Insights query over the gateway's log group, shown as a table."""
        return cloudwatch.LogQueryWidget(
            title=title,
            log_group_names=[self.log_group.log_group_name],
            query_string=query.to_string(),
            view=cloudwatch.LogQueryVisualizationType.TABLE,
            width=WIDTH,
            height=6,
        )

    def _top(self, dimension: str, what: str) -> cloudwatch.GraphWidget:
        metrics = self.settings.metrics
        search = (
            f"SORT(SEARCH('{{{metrics.namespace},{metrics.service_dimension},{dimension}}} "
            f'MetricName="RequestCount" {metrics.service_dimension}="{self.settings.metrics_service}"\', '
            "'Sum', 300), "
            "SUM, DESC, 10)"
        )
        return _graph(
            f"Requests by {what} (top 10)",
            [cloudwatch.MathExpression(expression=search, label="", period=PERIOD, using_metrics={})],
        )


def _graph(
    title: str, left: Sequence[cloudwatch.IMetric], *, right: Sequence[cloudwatch.IMetric] = ()
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=list(left), right=list(right), width=WIDTH, height=6)


def _id(group: str) -> str:
    """A construct id fragment for a model group: readable, and unique even when names differ only in punctuation."""
    readable = "".join(char for char in group.title() if char.isalnum())
    return f"{readable[:40]}{hashlib.sha256(group.encode()).hexdigest()[:6]}"
