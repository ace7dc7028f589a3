"""Every error this package raises for a problem a user can fix, in one place.

Each is an :class:`InfraError` (a ``ValueError``, as they always were), so the CLI and the CDK app
entry print any of them as one message without a traceback. A message names what is wrong, where
it comes from (the settings file, a ``-c`` context value, the credentials) and how to fix it.
The modules that raise them re-export them under their old import paths.
"""

from __future__ import annotations

__all__ = [
    "AccountRegionError",
    "BedrockModelError",
    "ConfigMismatchError",
    "EnvironmentSourceError",
    "GatewayImageError",
    "InconsistentTimeoutError",
    "InfraError",
    "LambdaAssetError",
    "NagAcknowledgmentError",
    "PlaceholderError",
    "ReplacementRefusedError",
    "SettingsError",
    "SettingsFieldError",
    "TemplateDiffError",
    "TemplateSourceError",
]


class InfraError(ValueError):
    """A problem with this package's inputs that the user can fix; the message says how."""


class SettingsError(InfraError):
    """The deployment settings cannot be used; the message lists every problem."""


class SettingsFieldError(SettingsError):
    """One settings value is invalid; the message says what its form must be.

    Raised inside the settings model's validators (pydantic gathers every one of them, with the field
    it belongs to, into one :class:`SettingsError` per file) and by
    :func:`~bedrockgate.infra.settings.parse_gateway_image`.
    """


class AccountRegionError(InfraError):
    """The deploy's account or Region is unknown, or the explicit one and the AWS credentials' disagree."""


class PlaceholderError(InfraError):
    """A deploy would use a placeholder (an all-zero digest, the docs' example account); lists each."""


class LambdaAssetError(InfraError):
    """The chatbot's Lambda zip is missing or is not the zip the ``lambda_zip`` nox session builds."""


class GatewayImageError(InfraError):
    """The gateway config needs something the gateway image says it cannot do."""


class BedrockModelError(InfraError):
    """A model or guardrail whose IAM resources infra cannot derive exactly."""


class ConfigMismatchError(InfraError):
    """The deployment settings and the gateway config disagree; the message names both files and the fix.

    Infra would provision something the config does not use (a guardrail, Phoenix), or the config
    needs something the settings neither provision nor give (a guardrail, a Phoenix collector,
    another provider).
    """


class EnvironmentSourceError(InfraError):
    """The config reads variables that have no source, or a secret that would travel in plain text."""


class InconsistentTimeoutError(InfraError):
    """Timeouts along the request path cannot be made consistent."""


class TemplateSourceError(InfraError):
    """A template the replacement guard compares is missing or unreadable (the assembly, the deployed ones)."""


class TemplateDiffError(InfraError):
    """CDK's template diff could not run: its install (npm), its Node.js process, or its answer."""


class NagAcknowledgmentError(InfraError):
    """A cdk-nag acknowledgment names an unknown rule pack or gives no reason worth reading."""


class ReplacementRefusedError(InfraError):
    """A deploy would replace or delete a stateful resource that no ``--allow-replace`` names; lists each."""
