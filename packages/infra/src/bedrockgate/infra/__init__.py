"""The AWS CDK app that deploys the gateway, derived from its config.

The gateway config (LiteLLM's ``config.yaml``, validated by ``bedrockgate.gateway_config``) says
what the gateway does; the deployment settings (:class:`DeploymentSettings`) say where and at what
size. :func:`build_app` turns both into one CDK app whose stacks hold the network, the data
stores, the guardrail, the gateway, Phoenix, the edge, the chatbot and the dashboards::

    from bedrockgate.infra import resolve_settings, use_bundled_node

    use_bundled_node()  # before aws_cdk is imported: jsii starts Node.js then
    from bedrockgate.infra.app import build_app

    target = resolve_settings("settings/dev.yaml", synth_only=True)  # no AWS asked; placeholders allowed
    deployment = build_app(target.settings)
    deployment.app.synth()

A deploy resolves its account and Region from explicit values or the AWS credentials, which must
agree, and refuses placeholders (:mod:`bedrockgate.infra.target`); the registry stack comes first,
before any image exists; :mod:`bedrockgate.infra.bootstrap` lists the environments and checks that
each is bootstrapped. Every user-facing error is in :mod:`bedrockgate.infra.exceptions`. What the
settings and the config decide together (the guardrail, Phoenix, other providers) is derived, and a
disagreement refused naming both files, by :mod:`bedrockgate.infra.wiring`.

Nothing is written twice: the Bedrock ARNs the gateway may invoke, the variables its task gets and
the dashboard's model groups all come from the config (:mod:`bedrockgate.infra.bedrock`,
:mod:`bedrockgate.infra.environment`). How ECS runs the gateway image (its user, read-only root
filesystem, writable paths, port and health route) is one public contract that the image build's
smoke test imports too: :mod:`bedrockgate.infra.image_contract`.

Importing this package changes nothing in the environment. jsii starts its Node.js when
``aws_cdk`` is first imported, so an entry point calls :func:`use_bundled_node` before that: the
CLI and ``python -m bedrockgate.infra`` do, and so must a script that imports
:mod:`bedrockgate.infra.app` (unless a ``node`` on PATH will do).
"""

from importlib.metadata import version

from bedrockgate.infra._node import use_bundled_node
from bedrockgate.infra.bedrock import BedrockAccess, bedrock_access, parse_model
from bedrockgate.infra.environment import EnvironmentPlan, plan_environment
from bedrockgate.infra.exceptions import (
    AccountRegionError,
    BedrockModelError,
    ConfigMismatchError,
    EnvironmentSourceError,
    GatewayImageError,
    InconsistentTimeoutError,
    InfraError,
    LambdaAssetError,
    PlaceholderError,
    SettingsError,
)
from bedrockgate.infra.settings import DeploymentSettings, load_settings
from bedrockgate.infra.target import resolve_settings
from bedrockgate.infra.timeouts import edge_timeouts, gateway_request_timeout

__version__ = version("bedrockgate-infra")
"""The installed distribution's version: one number, the one in pyproject.toml."""

__all__ = [
    "AccountRegionError",
    "BedrockAccess",
    "BedrockModelError",
    "ConfigMismatchError",
    "DeploymentSettings",
    "EnvironmentPlan",
    "EnvironmentSourceError",
    "GatewayImageError",
    "InconsistentTimeoutError",
    "InfraError",
    "LambdaAssetError",
    "PlaceholderError",
    "SettingsError",
    "__version__",
    "bedrock_access",
    "edge_timeouts",
    "gateway_request_timeout",
    "load_settings",
    "parse_model",
    "plan_environment",
    "resolve_settings",
    "use_bundled_node",
]
