"""The Bedrock resources a gateway config may call, as IAM resource ARNs.

Pure functions over the validated config: the gateway's task role allows ``bedrock:InvokeModel`` and
``bedrock:InvokeModelWithResponseStream`` on exactly these ARNs, and ``bedrock:ApplyGuardrail`` on
exactly its guardrails. Converse and ConverseStream are authorised by those two actions.

- ``bedrock/anthropic.claude-3-haiku-20240307-v1:0`` → the foundation model in the deployment's Region.
- ``bedrock/us.amazon.nova-pro-v1:0`` (a cross-Region inference profile: ``us.``, ``eu.``, ``apac.``,
  ``jp.``, ``au.``) → the inference profile in the source Region, and the foundation model in
  every Region the profile routes to (AWS requires both).
- ``bedrock/global.anthropic...`` → the profile, the foundation model in the source Region and the
  Region-less foundation-model ARN that global profiles are authorised against.

Anything infra cannot map to exact ARNs (application inference profiles and provisioned
throughput given as ARNs, imported or custom models, agent routes) is refused with a clear error
rather than widened to a wildcard.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from bedrockgate.gateway_config import EnvRef, GatewayConfig
from bedrockgate.infra.exceptions import BedrockModelError

__all__ = [
    "INVOKE_ACTIONS",
    "BedrockAccess",
    "BedrockModelError",
    "ModelGrant",
    "bedrock_access",
    "guardrail_arn",
    "model_arns",
    "parse_model",
]

INVOKE_ACTIONS: Final = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
APPLY_GUARDRAIL: Final = "bedrock:ApplyGuardrail"

_ROUTES: Final = ("converse/", "invoke/", "chat_completions/")
_UNSUPPORTED_ROUTES: Final = (
    "agent/",
    "agentcore/",
    "async_invoke/",
    "mantle/",
    "claude_platform/",
    "converse_like/",
    "openai/",
    "nova/",
    "nova-2/",
    "llama/",
    "deepseek_r1/",
    "qwen2/",
    "qwen3/",
    "moonshot/",
    "twelvelabs/",
)
_GEOGRAPHIES: Final = frozenset({"us", "eu", "apac", "jp", "au", "global", "us-gov", "ca"})
_FOUNDATION_ID: Final = re.compile(r"[a-z0-9][a-z0-9-]*\.[A-Za-z0-9][A-Za-z0-9._:-]*")
_THROUGHPUT_SUFFIX: Final = re.compile(r"(:\d+):\d+k$")
_CONTEXT_SUFFIX: Final = re.compile(r"\[\w+\]$")


@dataclass(frozen=True, slots=True)
class ParsedModel:
    """A Bedrock model id as AWS receives it: ``us.amazon.nova-pro-v1:0`` is geography ``us``."""

    model_id: str
    foundation_id: str
    geography: str | None


@dataclass(frozen=True, slots=True)
class ModelGrant:
    """One deployment of the config and the ARNs that calling it needs."""

    model_group: str
    model: str
    region: str
    arns: frozenset[str]


@dataclass(frozen=True, slots=True)
class BedrockAccess:
    """Everything the gateway may call on Bedrock."""

    models: tuple[ModelGrant, ...]
    guardrail_arns: frozenset[str]

    @property
    def model_arns(self) -> frozenset[str]:
        """Every ARN any deployment needs, each once."""
        return frozenset(arn for grant in self.models for arn in grant.arns)


def parse_model(model: str) -> ParsedModel | None:
    """The Bedrock model id in a LiteLLM ``model`` string, or None for a non-Bedrock provider.

    Raises BedrockModelError for a Bedrock model whose ARNs cannot be derived exactly.
    """
    if not model.startswith("bedrock/"):
        return None
    rest = model[len("bedrock/") :]
    for route in _ROUTES:
        if rest.startswith(route):
            rest = rest[len(route) :]
            break
    if rest.startswith("arn:"):
        raise BedrockModelError(
            f"{model!r}: a model given as an ARN (application inference profile, provisioned throughput, imported "
            "model) is not supported: infra cannot derive the foundation models it needs. Use the model id or a "
            "cross-Region inference profile id, e.g. bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0"
        )
    for route in _UNSUPPORTED_ROUTES:
        if rest.startswith(route):
            raise BedrockModelError(
                f"{model!r}: the {route!r} route is not supported by infra; use bedrock/<model-id>, "
                "bedrock/converse/<model-id> or bedrock/invoke/<model-id>"
            )
    if "/" in rest:
        raise BedrockModelError(
            f"{model!r}: infra cannot derive IAM resources for a path-like model id; write bedrock/<model-id> "
            "and put the Region in litellm_params.aws_region_name"
        )
    model_id = _CONTEXT_SUFFIX.sub("", _THROUGHPUT_SUFFIX.sub(r"\1", rest))
    head, _, tail = model_id.partition(".")
    geography = head if head in _GEOGRAPHIES and tail else None
    foundation_id = tail if geography else model_id
    if not _FOUNDATION_ID.fullmatch(foundation_id):
        raise BedrockModelError(
            f"{model!r}: {foundation_id!r} is not a Bedrock model id of the form provider.model[:version], "
            "e.g. anthropic.claude-3-haiku-20240307-v1:0"
        )
    if geography in {"us-gov", "ca"}:
        raise BedrockModelError(f"{model!r}: {geography}. inference profiles are outside what this app deploys to")
    return ParsedModel(model_id=model_id, foundation_id=foundation_id, geography=geography)


def model_arns(
    parsed: ParsedModel, *, region: str, account: str, profile_regions: Callable[[str], tuple[str, ...] | None]
) -> frozenset[str]:
    """The exact ARNs ``bedrock:InvokeModel*`` needs to call this model from ``region``."""
    foundation = parsed.foundation_id
    if parsed.geography is None:
        return frozenset({f"arn:aws:bedrock:{region}::foundation-model/{foundation}"})
    profile = f"arn:aws:bedrock:{region}:{account}:inference-profile/{parsed.model_id}"
    if parsed.geography == "global":
        return frozenset(
            {
                profile,
                f"arn:aws:bedrock:{region}::foundation-model/{foundation}",
                f"arn:aws:bedrock:::foundation-model/{foundation}",
            }
        )
    destinations = profile_regions(parsed.geography)
    if destinations is None:
        raise BedrockModelError(
            f"{parsed.model_id!r}: the Regions of {parsed.geography}. inference profiles are unknown: list them under "
            f"inference_profile_regions.{parsed.geography} in the deployment settings"
        )
    if region not in destinations:
        raise BedrockModelError(
            f"{parsed.model_id!r} is a {parsed.geography}. inference profile, which is called from one of "
            f"{', '.join(destinations)}; this deployment calls it from {region}. Use the profile of this Region's "
            "geography, or list the Region under inference_profile_regions in the deployment settings"
        )
    return frozenset(
        {profile, *(f"arn:aws:bedrock:{destination}::foundation-model/{foundation}" for destination in destinations)}
    )


def resolve_region(value: object, *, default: str, known: Mapping[str, str], where: str) -> str:
    """The Region a ``aws_region_name`` value means at run time: a literal, or a variable infra sets."""
    if value is None:
        return default
    if isinstance(value, EnvRef):
        resolved = known.get(value.name)
        if resolved is None:
            raise BedrockModelError(
                f"{where}: aws_region_name reads {value.name}, whose value is not known at synth time; infra needs "
                "the Region to name the model's ARN. Use os.environ/AWS_REGION, a literal Region, or give "
                f"{value.name} a plain value under env_sources"
            )
        value = resolved
    if not isinstance(value, str) or not re.fullmatch(r"[a-z]{2}-[a-z]+-\d", value):
        raise BedrockModelError(f"{where}: aws_region_name {value!r} is not an AWS Region code such as us-east-1")
    return value


def guardrail_arn(identifier: str, *, region: str, account: str) -> str:
    """The ARN of a guardrail given by id or ARN in the config."""
    if identifier.startswith("arn:"):
        if not re.fullmatch(r"arn:aws:bedrock:[a-z0-9-]+:\d{12}:guardrail/[a-z0-9]+", identifier):
            raise BedrockModelError(f"{identifier!r} is not a Bedrock guardrail ARN")
        return identifier
    if not re.fullmatch(r"[a-z0-9]{1,64}", identifier):
        raise BedrockModelError(f"{identifier!r} is not a Bedrock guardrail id")
    return f"arn:aws:bedrock:{region}:{account}:guardrail/{identifier}"


def bedrock_access(
    config: GatewayConfig,
    *,
    region: str,
    account: str,
    known_values: Mapping[str, str],
    profile_regions: Callable[[str], tuple[str, ...] | None],
    created_guardrail_arn: str | None,
) -> BedrockAccess:
    """What the gateway may call: every Bedrock deployment's ARNs and every Bedrock guardrail's ARN.

    ``known_values`` are the plain environment values infra sets (``AWS_REGION`` → the deployment's
    Region); ``created_guardrail_arn`` is the guardrail a config reaches through an ``os.environ/VAR``
    identifier: the one infra creates, or the existing one the settings name (None: no such guardrail,
    and an identifier read through a variable is an error).
    """
    problems: list[str] = []
    grants: list[ModelGrant] = []
    for index, deployment in enumerate(config.model_list):
        params = deployment.litellm_params
        where = f"model_list.{index} ({deployment.model_name})"
        try:
            parsed = parse_model(params.model)
            if parsed is None:
                continue
            model_region = resolve_region(params.aws_region_name, default=region, known=known_values, where=where)
            arns = model_arns(parsed, region=model_region, account=account, profile_regions=profile_regions)
        except BedrockModelError as error:
            problems.append(f"{where}: {error}")
            continue
        grants.append(ModelGrant(deployment.model_name, params.model, model_region, arns))
    guardrails: set[str] = set()
    for index, guardrail in enumerate(config.guardrails or ()):
        guard = guardrail.litellm_params
        if guard.guardrail != "bedrock" or guard.guardrailIdentifier is None:
            continue
        where = f"guardrails.{index} ({guardrail.guardrail_name})"
        identifier = guard.guardrailIdentifier
        if isinstance(identifier, EnvRef):
            if created_guardrail_arn is None:
                problems.append(
                    f"{where}: guardrailIdentifier reads {identifier.name}, but the deployment has no guardrail to "
                    "give it: set guardrail.mode create or existing in the deployment settings"
                )
            else:
                guardrails.add(created_guardrail_arn)
            continue
        try:
            guardrail_region = resolve_region(guard.aws_region_name, default=region, known=known_values, where=where)
            guardrails.add(guardrail_arn(identifier, region=guardrail_region, account=account))
        except BedrockModelError as error:
            problems.append(f"{where}: {error}")
    if problems:
        raise BedrockModelError(
            "the gateway config names Bedrock resources infra cannot grant:\n  " + "\n  ".join(problems)
        )
    return BedrockAccess(models=tuple(grants), guardrail_arns=frozenset(guardrails))
