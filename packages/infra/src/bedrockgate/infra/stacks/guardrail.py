"""Guardrail: the Bedrock guardrail the gateway applies, and a published version of it.

Content filters HATE, VIOLENCE, SEXUAL, INSULTS and MISCONDUCT at HIGH on input and output,
PROMPT_ATTACK at HIGH on input (Bedrock accepts it on input only), and common PII (contact details,
payment data, credentials) anonymised rather than blocked, so a prompt that mentions an e-mail
address still gets an answer. The gateway receives the guardrail's id and published version
through the variables its config's ``guardrails:`` section references (``guardrailIdentifier:
os.environ/...``); LiteLLM calls ``ApplyGuardrail`` with them.

A version is immutable: the version resource's description carries a digest of the policy, so a
policy change publishes a new version and the gateway moves to it in the same deploy.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from bedrockgate.infra.settings import DeploymentSettings
from constructs import Construct

__all__ = ["CONTENT_FILTERS", "PII_ENTITIES", "GuardrailStack"]

CONTENT_FILTERS: Final = ("HATE", "VIOLENCE", "SEXUAL", "INSULTS", "MISCONDUCT")
PII_ENTITIES: Final = (
    "EMAIL",
    "PHONE",
    "ADDRESS",
    "IP_ADDRESS",
    "US_SOCIAL_SECURITY_NUMBER",
    "CREDIT_DEBIT_CARD_NUMBER",
    "CREDIT_DEBIT_CARD_CVV",
    "CREDIT_DEBIT_CARD_EXPIRY",
    "PIN",
    "US_BANK_ACCOUNT_NUMBER",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "PASSWORD",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
)
BLOCKED_INPUT: Final = "Sorry, this request can't be processed: it was blocked by the gateway's content policy."
BLOCKED_OUTPUT: Final = "Sorry, the answer was withheld: it was blocked by the gateway's content policy."


class GuardrailStack(cdk.Stack):
    """The Bedrock guardrail and its published version."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploymentSettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        filters = [
            bedrock.CfnGuardrail.ContentFilterConfigProperty(type=kind, input_strength="HIGH", output_strength="HIGH")
            for kind in CONTENT_FILTERS
        ]
        filters.append(
            bedrock.CfnGuardrail.ContentFilterConfigProperty(
                type="PROMPT_ATTACK", input_strength="HIGH", output_strength="NONE"
            )
        )
        pii = [bedrock.CfnGuardrail.PiiEntityConfigProperty(type=kind, action="ANONYMIZE") for kind in PII_ENTITIES]
        self.guardrail = bedrock.CfnGuardrail(
            self,
            "Guardrail",
            name=f"{settings.prefix}-guardrail",
            description="Content, prompt-attack and PII policy applied by the gateway to every request",
            blocked_input_messaging=BLOCKED_INPUT,
            blocked_outputs_messaging=BLOCKED_OUTPUT,
            content_policy_config=bedrock.CfnGuardrail.ContentPolicyConfigProperty(filters_config=filters),
            sensitive_information_policy_config=bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty(
                pii_entities_config=pii
            ),
        )
        policy = {
            "filters": [[kind, "HIGH", "HIGH"] for kind in CONTENT_FILTERS] + [["PROMPT_ATTACK", "HIGH", "NONE"]],
            "pii": [[kind, "ANONYMIZE"] for kind in PII_ENTITIES],
            "messages": [BLOCKED_INPUT, BLOCKED_OUTPUT],
        }
        digest = hashlib.sha256(json.dumps(policy, sort_keys=True).encode()).hexdigest()[:12]
        self.version = bedrock.CfnGuardrailVersion(
            self,
            "GuardrailVersion",
            guardrail_identifier=self.guardrail.attr_guardrail_id,
            description=f"Published by {settings.prefix}; policy {digest}",
        )
        cdk.CfnOutput(self, "GuardrailId", value=self.guardrail.attr_guardrail_id)
        cdk.CfnOutput(self, "GuardrailVersionNumber", value=self.version.attr_version)

    @property
    def guardrail_id(self) -> str:
        """The guardrail's id (a token until deploy)."""
        return self.guardrail.attr_guardrail_id

    @property
    def guardrail_arn(self) -> str:
        """The guardrail's ARN (a token until deploy)."""
        return self.guardrail.attr_guardrail_arn

    @property
    def version_number(self) -> str:
        """The published version's number (a token until deploy)."""
        return self.version.attr_version
