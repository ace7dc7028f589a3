"""The typed model of a LiteLLM proxy config, and the strict gate in front of LiteLLM.

LiteLLM accepts most mistakes silently: an unknown key is ignored, an unset ``os.environ/VAR``
becomes ``None``, an invalid guardrail is skipped, a badly typed deployment is dropped. This
package rejects each of them before a deploy, with the file, line and path of every problem::

    >>> from bedrockgate.gateway_config import loads
    >>> config = loads('''
    ... model_list:
    ...   - model_name: claude-fast
    ...     litellm_params:
    ...       model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
    ...       aws_region_name: os.environ/AWS_REGION
    ... ''')
    >>> config.model_groups()
    ['claude-fast']
    >>> [variable.name for variable in required_env(config)]
    ['AWS_REGION']
"""

from bedrockgate.gateway_config.bundled import example_names, example_path
from bedrockgate.gateway_config.config import GatewayConfig
from bedrockgate.gateway_config.deployments import Deployment, LiteLLMParams, ModelInfo
from bedrockgate.gateway_config.env_ref import EnvRef
from bedrockgate.gateway_config.exceptions import ConfigValidationError, GatewayConfigError, Problem
from bedrockgate.gateway_config.general_settings import GeneralSettings
from bedrockgate.gateway_config.guardrails import Guardrail, GuardrailParams
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
from bedrockgate.gateway_config.policies import ALL_POLICIES, Policy
from bedrockgate.gateway_config.required_env import RequiredVariable, required_env
from bedrockgate.gateway_config.router_settings import RouterSettings
from bedrockgate.gateway_config.schema import json_schema

__all__ = [
    "ALL_POLICIES",
    "CacheParams",
    "CheckReport",
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
    "ModelInfo",
    "Policy",
    "Problem",
    "RequiredVariable",
    "RouterSettings",
    "check_path",
    "check_text",
    "example_names",
    "example_path",
    "json_schema",
    "load",
    "loads",
    "render",
    "required_env",
    "validate",
]
