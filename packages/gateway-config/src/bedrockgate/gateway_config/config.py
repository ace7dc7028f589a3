"""The whole ``config.yaml``: the sections this gateway models, in LiteLLM's own format."""

from __future__ import annotations

from bedrockgate.gateway_config._litellm_keys import TOP_LEVEL_KEYS
from bedrockgate.gateway_config._section import Section
from bedrockgate.gateway_config._types import EnvOrText
from bedrockgate.gateway_config.deployments import Deployment
from bedrockgate.gateway_config.general_settings import GeneralSettings
from bedrockgate.gateway_config.guardrails import Guardrail
from bedrockgate.gateway_config.litellm_settings import LitellmSettings
from bedrockgate.gateway_config.router_settings import RouterSettings
from pydantic import Field

__all__ = ["GatewayConfig"]

EnvironmentValue = EnvOrText | bool | int | float


class GatewayConfig(Section):
    """A LiteLLM proxy config that this gateway will deploy.

    Build one with :func:`bedrockgate.gateway_config.load` rather than ``model_validate``: the
    loader also checks the rules between sections and the policies, and reports YAML lines.
    """

    litellm_keys = TOP_LEVEL_KEYS

    model_list: list[Deployment] = Field(min_length=1, description="The deployments; at least one.")
    router_settings: RouterSettings | None = None
    litellm_settings: LitellmSettings | None = None
    general_settings: GeneralSettings | None = None
    guardrails: list[Guardrail] | None = None
    environment_variables: dict[str, EnvironmentValue] | None = Field(
        default=None, description="Set in the proxy's environment before anything else is read."
    )

    def model_groups(self) -> list[str]:
        """The public model names, each once, in the order the config declares them."""
        return list(dict.fromkeys(deployment.model_name for deployment in self.model_list))
