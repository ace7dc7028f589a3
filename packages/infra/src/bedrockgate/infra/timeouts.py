"""Timeouts along the request path, kept consistent with the gateway's own.

A request goes client → CloudFront → WAF → ALB → LiteLLM → Bedrock. Each hop has its own clock:
CloudFront waits 30 s for the origin by default (up to 60 s, 180 s with a quota increase), the ALB
closes a connection idle for 60 s by default, and LiteLLM gives up after its configured request
timeout. If an outer hop gives up first, a slow but healthy non-streaming answer becomes a 504 at
the edge while LiteLLM still pays for it. So the outer hops wait a little longer than LiteLLM
(``MARGIN``), and a gap that cannot be closed is a synth error, not a surprise in production.

The Lex chatbot has its own, shorter chain: Lex waits about 30 s for its code hook, so the Lambda's
timeout and the handler's total budget sit inside that (see ``LEX_*`` below).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from bedrockgate.gateway_config import GatewayConfig
from bedrockgate.infra.exceptions import InconsistentTimeoutError

__all__ = [
    "ALB_DEFAULT_IDLE",
    "ALB_MAX_IDLE",
    "CLOUDFRONT_MAX_READ",
    "CLOUDFRONT_QUOTA_FREE_READ",
    "LEX_CODE_HOOK_BUDGET",
    "LEX_HANDLER_TOTAL",
    "LEX_LAMBDA_TIMEOUT",
    "MARGIN",
    "EdgeTimeouts",
    "InconsistentTimeoutError",
    "edge_timeouts",
    "gateway_request_timeout",
]

MARGIN: Final = 5
ALB_DEFAULT_IDLE: Final = 60
ALB_MAX_IDLE: Final = 4000
CLOUDFRONT_QUOTA_FREE_READ: Final = 60
CLOUDFRONT_MAX_READ: Final = 180

LEX_CODE_HOOK_BUDGET: Final = 30
"""Lex V2 waits about 30 s for a fulfillment code hook, then answers with its own timeout message."""
LEX_LAMBDA_TIMEOUT: Final = 29
"""The Lambda stops just before Lex gives up, so its logs say what happened."""
LEX_HANDLER_TOTAL: Final = 25
"""The handler's whole budget for the gateway call, retries included (``LEX_TOTAL_TIMEOUT_SECONDS``)."""


@dataclass(frozen=True, slots=True)
class EdgeTimeouts:
    """The outer hops' timeouts, in seconds, and the gateway timeout they were derived from."""

    gateway: float | None
    alb_idle: int
    cloudfront_read: int
    warnings: tuple[str, ...] = ()


def gateway_request_timeout(config: GatewayConfig) -> float | None:
    """The longest time LiteLLM may spend on one request, as the config sets it (None: not set).

    The largest of ``litellm_settings.request_timeout``, ``router_settings.timeout`` and each
    deployment's ``timeout`` and ``stream_timeout`` that is a number (a value read from the
    environment is unknown at synth and not counted).
    """
    values: list[float] = []
    if config.litellm_settings is not None and config.litellm_settings.request_timeout is not None:
        values.append(float(config.litellm_settings.request_timeout))
    if config.router_settings is not None:
        values.extend(
            float(value)
            for value in (config.router_settings.timeout, config.router_settings.stream_timeout)
            if value is not None
        )
    for deployment in config.model_list:
        for value in (deployment.litellm_params.timeout, deployment.litellm_params.stream_timeout):
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.append(float(value))
    return max(values) if values else None


def edge_timeouts(config: GatewayConfig, *, cloudfront_read: int | None = None, has_cloudfront: bool) -> EdgeTimeouts:
    """ALB idle timeout and CloudFront read timeout that outlast the gateway's request timeout."""
    gateway = gateway_request_timeout(config)
    warnings: list[str] = []
    if gateway is None:
        warnings.append(
            "the gateway config sets no request timeout (litellm_settings.request_timeout): LiteLLM then waits up to "
            f"6000 s, but the edge closes a silent connection after {ALB_DEFAULT_IDLE} s; set one"
        )
        needed = ALB_DEFAULT_IDLE
    else:
        needed = math.ceil(gateway) + MARGIN
    if needed > ALB_MAX_IDLE:
        raise InconsistentTimeoutError(
            f"the gateway's request timeout ({gateway:g} s) is longer than an ALB can keep a connection open "
            f"({ALB_MAX_IDLE} s): lower the config's timeouts"
        )
    alb_idle = max(needed, ALB_DEFAULT_IDLE)
    if not has_cloudfront:
        return EdgeTimeouts(gateway, alb_idle, 0, tuple(warnings))
    if cloudfront_read is None:
        if needed > CLOUDFRONT_MAX_READ:
            raise InconsistentTimeoutError(
                f"the gateway's request timeout ({gateway:g} s) is longer than CloudFront can wait for an origin "
                f"({CLOUDFRONT_MAX_READ} s, with a quota increase): lower the config's timeouts, or set "
                "edge_read_timeout_seconds in the deployment settings to accept that CloudFront answers 504 to "
                "non-streaming requests that take longer (streaming responses keep the connection alive)"
            )
        cloudfront_read = max(needed, 30)
    elif gateway is not None and cloudfront_read < gateway:
        warnings.append(
            f"edge_read_timeout_seconds={cloudfront_read} is shorter than the gateway's request timeout "
            f"({gateway:g} s): CloudFront answers 504 to non-streaming requests that take longer"
        )
    if cloudfront_read > CLOUDFRONT_QUOTA_FREE_READ:
        warnings.append(
            f"CloudFront's origin response timeout is {cloudfront_read} s: above {CLOUDFRONT_QUOTA_FREE_READ} s "
            "the account needs a quota increase ('Response timeout per origin') before the deploy succeeds"
        )
    return EdgeTimeouts(gateway, alb_idle, cloudfront_read, tuple(warnings))
