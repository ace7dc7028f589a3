"""The typed model of a LiteLLM proxy config, and the strict gate in front of LiteLLM.

LiteLLM accepts most mistakes silently: an unknown key is ignored, an unset ``os.environ/VAR``
becomes ``None``, an invalid guardrail is skipped, a badly typed deployment is dropped, a model id
its model map does not know is recorded at cost 0. This package rejects each of them before a
deploy (or warns, for what does not stop one), with the file, line and path of every problem::

    >>> from datetime import date
    >>> from bedrockgate.gateway_config import check_text, loads
    >>> config = loads('''
    ... model_list:
    ...   - model_name: claude-fast
    ...     litellm_params:
    ...       model: bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0
    ...       aws_region_name: os.environ/AWS_REGION
    ... ''')
    >>> config.model_groups()
    ['claude-fast']
    >>> [variable.name for variable in required_env(config)]
    ['AWS_REGION']
    >>> report = check_text('''
    ... model_list:
    ...   - model_name: claude-old
    ...     litellm_params:
    ...       model: bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0
    ... ''', clock=lambda: date(2026, 12, 1))
    >>> [(problem.line, problem.severity.value) for problem in report.problems]
    [(5, 'error')]
"""

from bedrockgate.gateway_config.bundled import example_names, example_path
from bedrockgate.gateway_config.config import GatewayConfig
from bedrockgate.gateway_config.deployments import Deployment, LiteLLMParams, ModelInfo
from bedrockgate.gateway_config.env_ref import EnvRef
from bedrockgate.gateway_config.exceptions import ConfigValidationError, GatewayConfigError, Problem, Severity
from bedrockgate.gateway_config.general_settings import GeneralSettings
from bedrockgate.gateway_config.guardrails import Guardrail, GuardrailParams
from bedrockgate.gateway_config.lifecycle import WARNING_DAYS, Clock, deprecation_severity
from bedrockgate.gateway_config.litellm_settings import CacheParams, LitellmSettings
from bedrockgate.gateway_config.loader import (
    CheckReport,
    check_path,
    check_text,
    load,
    loads,
    render,
    validate,
)
from bedrockgate.gateway_config.model_map import ModelEntry, lookup_model
from bedrockgate.gateway_config.policies import ALL_POLICIES, Policy
from bedrockgate.gateway_config.required_env import RequiredVariable, required_env
from bedrockgate.gateway_config.router_settings import RouterSettings
from bedrockgate.gateway_config.schema import json_schema

__all__ = [
    "ALL_POLICIES",
    "WARNING_DAYS",
    "CacheParams",
    "CheckReport",
    "Clock",
    "ConfigValidationError",
    "Deployment",
    "EnvRef",
    "GatewayConfig",
    "GatewayConfigError",
    "GeneralSettings",
    "Guardrail",
    "GuardrailParams",
    "LiteLLMParams",
    "LitellmSettings",
    "ModelEntry",
    "ModelInfo",
    "Policy",
    "Problem",
    "RequiredVariable",
    "RouterSettings",
    "Severity",
    "check_path",
    "check_text",
    "deprecation_severity",
    "example_names",
    "example_path",
    "json_schema",
    "load",
    "loads",
    "lookup_model",
    "render",
    "required_env",
    "validate",
]
