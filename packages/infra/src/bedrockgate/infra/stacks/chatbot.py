"""Chatbot: the Lex V2 bot whose fulfillment Lambda answers through the gateway.

The bot (en_US) sends every utterance it does not otherwise understand, through the FallbackIntent,
and greetings, through a small Chat intent (Lex builds a locale only when it has an intent besides
the fallback), to its fulfillment code hook: the lex-fulfillment package's Lambda, deployed from
the zip that package's ``lambda_zip`` nox session builds (``dist/lambda/lex-fulfillment.zip``; the
setting ``chatbot.lambda_asset``), with no bundling at synth. A published bot version and the
``live`` alias are wired to the Lambda.

The Lambda runs in the VPC and calls the gateway by its private name (``gateway.<namespace>:4000``)
with its own gateway key, read from Secrets Manager. Timeouts sit inside Lex's 30 s budget: the
handler's total (25 s) < the Lambda's timeout (29 s) < Lex's wait (30 s).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lex as lex
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from bedrockgate.infra.image_contract import GATEWAY_PORT
from bedrockgate.infra.nag import acknowledge
from bedrockgate.infra.settings import DeploymentSettings, chatbot_lambda_zip
from bedrockgate.infra.stacks._parts import generated_key
from bedrockgate.infra.stacks.network import NetworkStack
from bedrockgate.infra.timeouts import LEX_HANDLER_TOTAL, LEX_LAMBDA_TIMEOUT
from constructs import Construct

__all__ = ["HANDLER", "LEX_V2_REGIONS", "LOCALE", "ChatbotStack"]

HANDLER: Final = "bedrockgate.lex_fulfillment.lambda_handler"
LOCALE: Final = "en_US"
RUNTIME: Final = lambda_.Runtime.PYTHON_3_14
LEX_V2_REGIONS: Final = frozenset(
    {
        "us-east-1",
        "us-west-2",
        "ca-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-central-1",
        "af-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-southeast-1",
        "ap-southeast-2",
    }
)
"""Commercial Regions where CloudFormation offers AWS::Lex::Bot (Amazon Lex V2's Region list; the same
set cfn-lint 1.58's Region data records). Elsewhere the chatbot stack cannot be deployed."""
CHAT_UTTERANCES: Final = ("hello", "hi", "help", "I have a question", "can you help me", "tell me something")


class ChatbotStack(cdk.Stack):
    """The Lex bot, its version and alias, the fulfillment Lambda and its gateway key."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        network: NetworkStack,
        model_group: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.gateway_key = self._gateway_key(settings.prefix)
        self.function = self._fulfillment(settings, network, model_group)
        self.bot = self._bot(settings.prefix)
        self.version = self._version()
        self.alias = self._alias()
        self._allow_lex_to_invoke()
        cdk.CfnOutput(self, "BotId", value=self.bot.attr_id)
        cdk.CfnOutput(self, "BotAliasId", value=self.alias.attr_bot_alias_id)
        cdk.CfnOutput(self, "GatewayKeySecret", value=self.gateway_key.secret_arn)

    def _gateway_key(self, prefix: str) -> secretsmanager.Secret:
        """The chatbot's own LiteLLM key, generated into Secrets Manager."""
        key = generated_key(
            self,
            "GatewayKey",
            name=f"{prefix}/chatbot/gateway-key",
            description='The chatbot\'s LiteLLM key, as {"api_key": "sk-..."}: register it with /key/generate',
            json_field="api_key",
        )
        acknowledge(
            key,
            "SMG4",
            "This key must also be registered in LiteLLM (/key/generate with key=<value>); a rotation Lambda would "
            "change it without re-registering it, so it is rotated by the documented two-step procedure.",
        )
        return key

    def _fulfillment(self, settings: DeploymentSettings, network: NetworkStack, model_group: str) -> lambda_.Function:
        """The fulfillment Lambda in the VPC, from lex-fulfillment's zip, reading its gateway key."""
        prefix = settings.prefix
        log_group = logs.LogGroup(
            self,
            "FulfillmentLogs",
            log_group_name=f"/aws/lambda/{prefix}-chatbot-fulfillment",
            retention=logs.RetentionDays[settings.log_retention],
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        role = self._fulfillment_role()
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            "Fulfillment",
            function_name=f"{prefix}-chatbot-fulfillment",
            description="Lex V2 fulfillment: answers through the gateway",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            # No bundling: the handler is standard library only, and lex-fulfillment's zip is the whole package.
            code=lambda_.Code.from_asset(str(chatbot_lambda_zip(settings))),
            timeout=cdk.Duration.seconds(LEX_LAMBDA_TIMEOUT),
            memory_size=settings.sizes.chatbot_lambda_memory_mib,
            role=role,
            log_group=log_group,
            environment=self._fulfillment_environment(settings, network, model_group),
            vpc=network.vpc,
            vpc_subnets=network.private_subnets,
            security_groups=[network.chatbot_sg],
            allow_public_subnet=False,
            reserved_concurrent_executions=settings.chatbot.reserved_concurrency,
        )
        self.gateway_key.grant_read(function)
        self._allow_vpc_interfaces(role)
        return function

    def _fulfillment_role(self) -> iam.Role:
        return iam.Role(
            self,
            "FulfillmentRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="The chatbot's fulfillment Lambda: its logs, its VPC interfaces, its gateway key",
        )

    def _fulfillment_environment(
        self, settings: DeploymentSettings, network: NetworkStack, model_group: str
    ) -> dict[str, str]:
        """What the handler reads: the gateway's private address, the model group, its key, its time budget."""
        environment = {
            "LITELLM_ENDPOINT": f"http://gateway.{network.namespace.namespace_name}:{GATEWAY_PORT}",
            "LITELLM_MODEL": model_group,
            "LITELLM_API_KEY_SECRET_ARN": self.gateway_key.secret_arn,
            "LITELLM_API_KEY_SECRET_FIELD": "api_key",
            "LEX_TOTAL_TIMEOUT_SECONDS": str(LEX_HANDLER_TOTAL),
        }
        if settings.chatbot.system_prompt:
            environment["LEX_SYSTEM_PROMPT"] = settings.chatbot.system_prompt
        return environment

    @staticmethod
    def _allow_vpc_interfaces(role: iam.Role) -> None:
        """A function in a VPC reaches it through network interfaces that Lambda creates with this role."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="LambdaVpcNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            )
        )
        acknowledge(
            role,
            "IAM5",
            "The network-interface actions Lambda needs to place a function in a VPC (the same list as AWS's "
            "AWSLambdaVPCAccessExecutionRole, without its logs:* grant); the Describe actions accept only '*'.",
            findings=("Resource::*",),
        )

    def _bot(self, prefix: str) -> lex.CfnBot:
        """The bot: one en_US locale whose Chat and fallback intents both go to the fulfillment code hook."""
        lex_role = iam.Role(
            self,
            "BotRole",
            assumed_by=iam.ServicePrincipal("lexv2.amazonaws.com"),
            description="The Lex bot's runtime role (a text bot: no Polly, no Comprehend)",
        )
        return lex.CfnBot(
            self,
            "Bot",
            name=f"{prefix}-chatbot",
            description="Answers through the bedrockgate gateway",
            role_arn=lex_role.role_arn,
            data_privacy={"ChildDirected": False},
            idle_session_ttl_in_seconds=600,
            auto_build_bot_locales=True,
            bot_locales=[
                lex.CfnBot.BotLocaleProperty(locale_id=LOCALE, nlu_confidence_threshold=0.4, intents=_intents())
            ],
            test_bot_alias_settings=lex.CfnBot.TestBotAliasSettingsProperty(
                bot_alias_locale_settings=[
                    lex.CfnBot.BotAliasLocaleSettingsItemProperty(
                        locale_id=LOCALE,
                        bot_alias_locale_setting=lex.CfnBot.BotAliasLocaleSettingsProperty(
                            enabled=True, code_hook_specification=self._code_hook()
                        ),
                    )
                ]
            ),
        )

    def _version(self) -> lex.CfnBotVersion:
        """The published version the alias runs.

        A version snapshots the draft once: its id changes with the bot's definition, so a change
        publishes a new version and the alias moves to it.
        """
        definition = json.dumps(
            {"utterances": CHAT_UTTERANCES, "locale": LOCALE, "threshold": 0.4, "intents": ["Chat", "FallbackIntent"]},
            sort_keys=True,
        )
        digest = hashlib.sha256(definition.encode()).hexdigest()[:8]
        return lex.CfnBotVersion(
            self,
            f"BotVersion{digest}",
            bot_id=self.bot.attr_id,
            description=f"bot definition {digest}",
            bot_version_locale_specification=[
                lex.CfnBotVersion.BotVersionLocaleSpecificationProperty(
                    locale_id=LOCALE,
                    bot_version_locale_details=lex.CfnBotVersion.BotVersionLocaleDetailsProperty(
                        source_bot_version="DRAFT"
                    ),
                )
            ],
        )

    def _alias(self) -> lex.CfnBotAlias:
        """The ``live`` alias on the published version, wired to the fulfillment Lambda."""
        return lex.CfnBotAlias(
            self,
            "BotAlias",
            bot_id=self.bot.attr_id,
            bot_alias_name="live",
            bot_version=self.version.attr_bot_version,
            bot_alias_locale_settings=[
                lex.CfnBotAlias.BotAliasLocaleSettingsItemProperty(
                    locale_id=LOCALE,
                    bot_alias_locale_setting=lex.CfnBotAlias.BotAliasLocaleSettingsProperty(
                        enabled=True,
                        code_hook_specification=lex.CfnBotAlias.CodeHookSpecificationProperty(
                            lambda_code_hook=lex.CfnBotAlias.LambdaCodeHookProperty(
                                code_hook_interface_version="1.0", lambda_arn=self.function.function_arn
                            )
                        ),
                    ),
                )
            ],
        )

    def _allow_lex_to_invoke(self) -> None:
        """Lex may invoke the function from the live alias and from the test alias (TSTALIASID)."""
        self.function.add_permission(
            "LexLiveAlias", principal=iam.ServicePrincipal("lexv2.amazonaws.com"), source_arn=self.alias.attr_arn
        )
        self.function.add_permission(
            "LexTestAlias",
            principal=iam.ServicePrincipal("lexv2.amazonaws.com"),
            source_arn=self.format_arn(
                service="lex", resource="bot-alias", resource_name=f"{self.bot.attr_id}/TSTALIASID"
            ),
        )

    def _code_hook(self) -> lex.CfnBot.CodeHookSpecificationProperty:
        return lex.CfnBot.CodeHookSpecificationProperty(
            lambda_code_hook=lex.CfnBot.LambdaCodeHookProperty(
                code_hook_interface_version="1.0", lambda_arn=self.function.function_arn
            )
        )


def _intents() -> list[lex.CfnBot.IntentProperty]:
    """Chat (greetings, so Lex builds the locale) and the fallback, both fulfilled by the code hook."""
    return [
        lex.CfnBot.IntentProperty(
            name="Chat",
            description="Greetings and open questions, answered by the gateway",
            sample_utterances=[lex.CfnBot.SampleUtteranceProperty(utterance=text) for text in CHAT_UTTERANCES],
            fulfillment_code_hook=lex.CfnBot.FulfillmentCodeHookSettingProperty(enabled=True),
        ),
        lex.CfnBot.IntentProperty(
            name="FallbackIntent",
            description="Everything else, answered by the gateway",
            parent_intent_signature="AMAZON.FallbackIntent",
            fulfillment_code_hook=lex.CfnBot.FulfillmentCodeHookSettingProperty(enabled=True),
        ),
    ]
