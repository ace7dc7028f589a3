"""Deployment settings: where and how big, as a typed model read from a file and CDK context.

The gateway config says *what* the gateway does (models, guardrails, callbacks); these settings say
*where* it runs and at what size: environment name, account, region, domain, allow-listed CIDRs,
sizes, image digests (and whether the gateway image can run LiteLLM's database), alarm thresholds,
and the source of any config variable infra does not provide itself. Every field is checked before
a construct is created, and an error names the field and how to fix it.

A settings file is YAML (or JSON); CDK context overrides any top-level field, so a pipeline can
pass ``-c gateway_image=...@sha256:... -c gateway_image_database=unavailable`` without editing the
file. Relative paths in a file are relative to that file.

``account`` and ``region`` must be known here; :mod:`bedrockgate.infra.target` fills them from the
AWS credentials when neither the file nor the context gives them, and refuses a disagreement.
``gateway_image`` may be absent: before the first push there is no image, and the app then holds
only the registry stack the image is pushed to.

``guardrail``, ``phoenix`` and ``multi_provider`` say what infra provisions for the config's Bedrock
guardrail, its ``arize_phoenix`` traces and its other providers; :mod:`bedrockgate.infra.wiring`
checks them against the config (each one switched off only explicitly, e.g. ``phoenix: {mode: none}``).
"""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self

import yaml
from bedrockgate.infra.exceptions import LambdaAssetError, SettingsError, SettingsFieldError
from bedrockgate.infra.exposure import Exposure, edge_problem, exposure_of
from bedrockgate.infra.image_contract import DATABASE_LABEL, ImageDatabase
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "DEFAULT_INFERENCE_PROFILE_REGIONS",
    "DEFAULT_LAMBDA_ZIP",
    "Alarms",
    "Chatbot",
    "DeploymentSettings",
    "Domain",
    "EnvSource",
    "GatewayImage",
    "GatewayImageRef",
    "GuardrailSettings",
    "ImageRef",
    "Metrics",
    "PhoenixSettings",
    "Registry",
    "SettingsError",
    "Sizes",
    "chatbot_lambda_zip",
    "load_settings",
    "parse_gateway_image",
    "read_settings_file",
    "workspace_root",
]

DEFAULT_LAMBDA_ZIP: Final = Path("dist") / "lambda" / "lex-fulfillment.zip"
"""Where ``./dev nox -s lambda_zip`` writes the chatbot's Lambda zip, relative to the repository root."""

# Destination Regions of the system-defined cross-Region inference profiles, by the prefix of the
# profile id (``us.amazon.nova-pro-v1:0``). AWS documents them per model ("Supported Regions and
# models for inference profiles", Amazon Bedrock user guide); these are the Regions the profiles of
# the Claude 3.x/4 and Nova families route to. A model whose profile reaches further needs its
# Regions listed in ``inference_profile_regions``. ``global.`` profiles are region-less (see
# bedrock.py).
DEFAULT_INFERENCE_PROFILE_REGIONS: Final[dict[str, tuple[str, ...]]] = {
    "us": ("us-east-1", "us-east-2", "us-west-2"),
    "eu": ("eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3"),
    "apac": (
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
    ),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "au": ("ap-southeast-2", "ap-southeast-4"),
}

_REGION: Final = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")
_IMAGE: Final = re.compile(r"[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}")
# Docker's reference grammar, without a tag: a registry host (a dot or a port in it, or localhost,
# so it cannot be read as a Docker Hub path), a repository path, and the digest.
_PATH_COMPONENT: Final = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_GATEWAY_IMAGE: Final = re.compile(
    r"(?P<registry>(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d{1,5})?)"
    rf"/(?P<repository>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"@sha256:(?P<digest>[0-9a-f]{64})"
)
_REPOSITORY_NAME: Final = re.compile(rf"(?:{_PATH_COMPONENT}/)*{_PATH_COMPONENT}")
_COMMIT: Final = re.compile(r"[0-9a-f]{40}")
_SECRET_ARN: Final = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+")
_LOG_RETENTION = Literal[
    "ONE_DAY",
    "THREE_DAYS",
    "FIVE_DAYS",
    "ONE_WEEK",
    "TWO_WEEKS",
    "ONE_MONTH",
    "TWO_MONTHS",
    "THREE_MONTHS",
    "SIX_MONTHS",
    "ONE_YEAR",
    "THIRTEEN_MONTHS",
    "EIGHTEEN_MONTHS",
    "TWO_YEARS",
    "FIVE_YEARS",
    "TEN_YEARS",
    "INFINITE",
]


def _image(value: str) -> str:
    if not _IMAGE.fullmatch(value):
        raise SettingsFieldError(
            f"{value!r} is not an image pinned by digest: write REGISTRY/REPOSITORY@sha256:<64 hex digits> "
            "(a tag may stand before the digest), e.g. ghcr.io/berriai/litellm@sha256:..."
        )
    return value


class GatewayImage(BaseModel):
    """A gateway image reference taken apart: ``REGISTRY/REPOSITORY@sha256:DIGEST``."""

    model_config = ConfigDict(frozen=True)

    registry: str
    repository: str
    digest: str
    """The 64 hex digits after ``sha256:``."""


def parse_gateway_image(value: str) -> GatewayImage:
    """Take a gateway image reference apart, or raise SettingsFieldError (a ValueError) saying what the form must be.

    Only ``REGISTRY/REPOSITORY@sha256:<64 hex>``: a tag is refused (a tag can be moved; the digest is
    what the pipeline pushed and what ECS pulls), and so is a reference without a registry host (it
    would silently mean Docker Hub).
    """
    match = _GATEWAY_IMAGE.fullmatch(value)
    registry = match["registry"] if match else ""
    if match is None or not ("." in registry or ":" in registry or registry == "localhost"):
        raise SettingsFieldError(
            f"{value!r} is not an image pinned by digest in the form REGISTRY/REPOSITORY@sha256:<64 hex digits> "
            "(no tag; the registry host first, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/"
            "bedrockgate-gateway@sha256:...): pass the digest the pipeline pushed, "
            "-c gateway_image=<registry>/<repository>@sha256:<digest>"
        )
    return GatewayImage(registry=registry, repository=match["repository"], digest=match["digest"])


def _gateway_image(value: str) -> str:
    parse_gateway_image(value)
    return value


def _repository_name(value: str) -> str:
    if not (2 <= len(value) <= 256 and _REPOSITORY_NAME.fullmatch(value)):
        raise SettingsFieldError(
            f"{value!r} is not an ECR repository name: lowercase letters, digits and . _ - / between them, 2-256 chars"
        )
    return value


def _region(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise SettingsFieldError(f"{value!r} is not an AWS Region code such as us-east-1")
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise SettingsFieldError(f"{value!r} is not a CIDR block such as 203.0.113.0/24: {error}") from None
    if network.prefixlen == 0:
        raise SettingsFieldError(f"{value!r} allows every address: leave allowed_cidrs empty instead")
    return str(network)


ImageRef = Annotated[str, AfterValidator(_image)]
GatewayImageRef = Annotated[str, AfterValidator(_gateway_image)]
RepositoryName = Annotated[str, AfterValidator(_repository_name)]
Region = Annotated[str, AfterValidator(_region)]
Cidr = Annotated[str, AfterValidator(_cidr)]
EnvName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,14}[a-z0-9]$")]
VariableName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Domain(_Model):
    """A public name for the gateway: CloudFront, ACM certificates and Route53 records are created."""

    name: str = Field(
        pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$", description="e.g. gateway.example.com"
    )
    hosted_zone_id: str = Field(pattern=r"^Z[A-Z0-9]{4,32}$", description="The Route53 zone that holds name.")
    hosted_zone_name: str = Field(description="That zone's name, e.g. example.com.")
    origin_name: str | None = Field(
        default=None, description="The ALB's own name, which CloudFront calls over HTTPS; default origin.<name>."
    )
    cloudfront_certificate_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]+$",
        description="An ACM certificate for name in us-east-1; created (in a us-east-1 stack) when absent.",
    )
    cloudfront_prefix_list_id: str | None = Field(
        default=None,
        pattern=r"^pl-[0-9a-f]{8,17}$",
        description=(
            "The Region's com.amazonaws.global.cloudfront.origin-facing prefix list, for a Region that "
            "bedrockgate.infra.exposure.CLOUDFRONT_ORIGIN_FACING does not list (it wins over the table). Only "
            "CloudFront reaches the ALB, always. Look it up once with `aws ec2 describe-managed-prefix-lists`."
        ),
    )

    @property
    def origin(self) -> str:
        """The ALB's DNS name, covered by the regional certificate."""
        return self.origin_name or f"origin.{self.name}"

    @model_validator(mode="after")
    def _zone_holds_names(self) -> Self:
        zone = self.hosted_zone_name.rstrip(".")
        for name in (self.name, self.origin):
            if name != zone and not name.endswith("." + zone):
                raise SettingsFieldError(f"{name!r} is not inside the hosted zone {zone!r}")
        return self


class Sizes(_Model):
    """How big everything is. The defaults are the dev sizing the cost estimate prices."""

    gateway_cpu: Literal[256, 512, 1024, 2048, 4096] = 1024
    gateway_memory_mib: int = Field(default=2048, ge=512, le=30720)
    gateway_workers: int | None = Field(
        default=None,
        ge=1,
        le=16,
        description=(
            "LiteLLM worker processes per gateway task (NUM_WORKERS); default one per vCPU of gateway_cpu (256 and "
            "512: one). More than one needs Redis in the config's router_settings, and the task's memory must hold "
            "them (bedrockgate.infra.workers)."
        ),
    )
    gateway_min_tasks: int = Field(default=1, ge=1, le=100)
    gateway_max_tasks: int = Field(default=4, ge=1, le=100)
    gateway_cpu_target_percent: int = Field(default=60, ge=10, le=90)
    phoenix_cpu: Literal[256, 512, 1024, 2048, 4096] = 512
    phoenix_memory_mib: int = Field(default=1024, ge=512, le=30720)
    database_min_acu: float = Field(default=0.5, ge=0.5, le=256)
    database_max_acu: float = Field(default=4, ge=1, le=256)
    database_readers: int = Field(default=0, ge=0, le=15)
    phoenix_database_min_acu: float = Field(default=0.5, ge=0.5, le=256)
    phoenix_database_max_acu: float = Field(default=2, ge=1, le=256)
    cache_node_type: str = Field(default="cache.t4g.micro", pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
    cache_nodes: int = Field(
        default=2, ge=1, le=6, description="2 or more: a replica in the other AZ, automatic failover."
    )
    nat_gateways: int = Field(default=1, ge=1, le=2)
    chatbot_lambda_memory_mib: int = Field(default=256, ge=128, le=10240)

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        if self.gateway_max_tasks < self.gateway_min_tasks:
            raise SettingsFieldError("gateway_max_tasks must be at least gateway_min_tasks")
        if (
            self.database_max_acu < self.database_min_acu
            or self.phoenix_database_max_acu < self.phoenix_database_min_acu
        ):
            raise SettingsFieldError("a database's max ACU must be at least its min ACU")
        return self


class Metrics(_Model):
    """The metrics-callback's EMF contract: the namespace and dimension names the dashboard reads.

    infra passes ``namespace`` and ``service`` to the callback (``BEDROCKGATE_METRICS_*``) so both
    always agree; the dimension names must match what the callback writes.
    """

    namespace: str = Field(default="LiteLLMGateway", pattern=r"^[A-Za-z0-9.\-_/#][A-Za-z0-9.\-_/#:]{0,254}$")
    service: str | None = Field(
        default=None, description="The Service dimension's value; default bedrockgate-<environment>."
    )
    service_dimension: str = "Service"
    model_group_dimension: str = "ModelGroup"
    key_alias_dimension: str = "KeyAlias"
    team_dimension: str = "Team"
    key_dimensions: bool = Field(default=True, description="Per key alias and per team metrics (each a custom metric).")


class Alarms(_Model):
    """Alarm thresholds and who hears about them."""

    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    error_rate_percent: float = Field(default=5.0, gt=0, le=100)
    p95_latency_ms: float = Field(default=20_000.0, gt=0, description="Per model group, for 15 minutes.")
    p99_latency_ms: float = Field(default=30_000.0, gt=0)
    application_errors: int = Field(
        default=10, ge=1, description="ERROR lines in the gateway's JSON logs per 5 minutes, for 15 minutes."
    )
    hourly_cost_usd: float = Field(default=10.0, gt=0)


class Chatbot(_Model):
    """The Lex V2 bot and its fulfillment Lambda."""

    enabled: bool = Field(
        default=True, description="Deploy the chatbot stack (Lex V2 is offered in some Regions only)."
    )
    model: str | None = Field(default=None, description="The model group the bot asks; default the config's first.")
    lambda_asset: Path | None = Field(
        default=None,
        description=(
            "The lex-fulfillment zip that `./dev nox -s lambda_zip` builds; default "
            "dist/lambda/lex-fulfillment.zip at the root of the uv workspace that holds the settings file."
        ),
    )
    system_prompt: str | None = Field(default=None, max_length=4000)
    reserved_concurrency: int | None = Field(default=10, ge=1, le=1000)


class Registry(_Model):
    """The ECR repository the gateway image is pushed to (the registry stack creates it).

    Its lifecycle rules keep the repository small without touching what runs: the newest
    ``keep_images`` images stay, and an image without a tag expires after ``untagged_days``. The
    pipeline pushes the gateway image with a tag (so the image a task runs is never untagged); an
    image pushed by digest alone would expire.
    """

    repository_name: RepositoryName = Field(
        default="bedrockgate-gateway",
        description="One per account and Region: environments sharing an account need distinct names.",
    )
    keep_images: int = Field(default=30, ge=1, le=1000, description="The newest images kept, tagged or not.")
    untagged_days: int = Field(default=14, ge=1, le=3650, description="Days an untagged image is kept.")


class EnvSource(_Model):
    """Where a config variable that infra does not provide comes from: a plain value or a secret."""

    value: str | None = Field(
        default=None, description="A plain value; refused for a variable the config treats as secret."
    )
    secret_arn: str | None = Field(default=None, description="A Secrets Manager secret's complete ARN.")
    secret_field: str | None = Field(
        default=None, description="A JSON field of that secret; the whole string when absent."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.value is None) == (self.secret_arn is None):
            raise SettingsFieldError("give exactly one of value or secret_arn")
        if self.secret_arn is not None and not _SECRET_ARN.fullmatch(self.secret_arn):
            raise SettingsFieldError(f"{self.secret_arn!r} is not a complete Secrets Manager secret ARN")
        if self.secret_field is not None and self.secret_arn is None:
            raise SettingsFieldError("secret_field goes with secret_arn")
        return self


# --- wiring (issue 15): the guardrail, Phoenix and other providers, checked against the config ---

GuardrailMode = Literal["create", "existing", "none"]
PhoenixMode = Literal["self-hosted", "cloud", "none"]


class GuardrailSettings(_Model):
    """Which Bedrock guardrail the config's ``guardrailIdentifier: os.environ/VAR`` entries get.

    - ``create`` (default): the guardrail stack creates one and publishes a version; the task gets
      its id and numeric version, and may apply exactly it.
    - ``existing``: no guardrail stack; ``id`` (and ``version``) name a guardrail that exists in
      the account, which the task gets and may apply.
    - ``none``: no guardrail stack, nothing given: only for a config whose Bedrock guardrails (if
      any) name their guardrail literally.

    Synth refuses a guardrail infra creates or is given that the config does not use, and a config
    that reads a guardrail through a variable when the mode is ``none``.
    """

    mode: GuardrailMode = "create"
    id: str | None = Field(
        default=None,
        pattern=r"^([a-z0-9]{1,64}|arn:aws:bedrock:[a-z0-9-]+:\d{12}:guardrail/[a-z0-9]{1,64})$",
        description="mode existing: the guardrail's id (or ARN).",
    )
    version: str | None = Field(
        default=None,
        pattern=r"^([1-9][0-9]{0,7}|DRAFT)$",
        description="mode existing: the published version (a number; DRAFT only for trials).",
    )

    @model_validator(mode="after")
    def _mode_fields(self) -> Self:
        if self.mode == "existing" and (self.id is None or self.version is None):
            raise SettingsFieldError("guardrail.mode existing needs guardrail.id and guardrail.version")
        if self.mode != "existing" and (self.id is not None or self.version is not None):
            raise SettingsFieldError(f"guardrail.id and guardrail.version go with mode existing, not {self.mode}")
        return self


class PhoenixSettings(_Model):
    """Where the config's ``arize_phoenix`` callback sends traces.

    - ``self-hosted`` (default): the Phoenix stack (Phoenix on Fargate, its Aurora database, the
      ``/phoenix/*`` route); the task gets its collector inside the VPC and its system token.
    - ``cloud``: Phoenix Cloud (or any Phoenix reachable over HTTPS); no Phoenix stack. The task gets
      ``collector_endpoint`` and, as an ECS secret, the API key held in the Secrets Manager secret
      ``api_key_secret_arn``, which the operator creates and fills (infra never holds the key, and a
      task never starts with a placeholder).
    - ``none``: no Phoenix: only for a config without the ``arize_phoenix`` callback.

    Synth refuses Phoenix provisioned or given for a config without the callback, and the callback
    with mode ``none``.
    """

    mode: PhoenixMode = "self-hosted"
    collector_endpoint: str | None = Field(
        default=None,
        pattern=r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s]*)?$",
        description="mode cloud: the OTLP/HTTP traces endpoint, e.g. https://app.phoenix.arize.com/s/<space>/v1/traces.",
    )
    api_key_secret_arn: str | None = Field(
        default=None, description="mode cloud: the complete ARN of the secret holding the Phoenix API key."
    )

    @model_validator(mode="after")
    def _mode_fields(self) -> Self:
        if self.mode == "cloud":
            if self.collector_endpoint is None or self.api_key_secret_arn is None:
                raise SettingsFieldError(
                    "phoenix.mode cloud needs phoenix.collector_endpoint and phoenix.api_key_secret_arn"
                )
            if not _SECRET_ARN.fullmatch(self.api_key_secret_arn):
                raise SettingsFieldError(
                    f"phoenix.api_key_secret_arn {self.api_key_secret_arn!r} is not a complete Secrets Manager "
                    "secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX)"
                )
        elif self.collector_endpoint is not None or self.api_key_secret_arn is not None:
            raise SettingsFieldError(
                f"phoenix.collector_endpoint and phoenix.api_key_secret_arn go with mode cloud, not {self.mode}"
            )
        return self


# --- end of the wiring block ---


class DeploymentSettings(_Model):
    """Everything about one deployment that is not in the gateway config."""

    environment: EnvName = Field(description="Names the stacks and resources: bedrockgate-<environment>-...")
    account: str = Field(pattern=r"^\d{12}$")
    region: Region
    availability_zones: tuple[str, str] | None = Field(
        default=None, description="The two AZs to use; default <region>a and <region>b (never looked up at synth)."
    )
    gateway_config: Path = Field(description="The LiteLLM config.yaml the gateway runs (validated by gateway-config).")
    gateway_image: GatewayImageRef | None = Field(
        default=None,
        description=(
            "The gateway image the pipeline builds and pushes (LiteLLM, the metrics callback and the rendered "
            "config), as REGISTRY/REPOSITORY@sha256:<digest>. Absent before the first push: the app then holds "
            "only the registry stack."
        ),
    )
    gateway_image_database: ImageDatabase = Field(
        default="available",
        description=(
            f"The gateway image's {DATABASE_LABEL} label: unavailable when it was built without LiteLLM's Prisma "
            "engines (its entrypoint then refuses DATABASE_URL, and synth refuses a config with "
            "general_settings.database_url)."
        ),
    )
    gateway_config_path_in_image: str = Field(default="/app/config.yaml", pattern=r"^/[^\s]+$")
    phoenix_image: ImageRef | None = Field(
        default=None, description="Arize Phoenix's image by digest: needed (only) with phoenix.mode self-hosted."
    )
    registry: Registry = Registry()
    source_commit: str | None = Field(
        default=None,
        description=(
            "The git commit (40 hex digits) deployed, given by the pipeline as context: recorded as a tag on every "
            "stack and the gateway stack's SourceCommit output. Absent: nothing is recorded."
        ),
    )
    domain: Domain | None = None
    allowed_cidrs: tuple[Cidr, ...] = Field(default=(), description="When given, WAF and the ALB admit only these.")
    # --- edge (issue 15): how clients reach the gateway; the rules are in bedrockgate.infra.exposure ---
    exposure: Exposure | None = Field(
        default=None,
        description=(
            "cloudfront (implied by a domain; the ALB admits only CloudFront), public_alb (the default without a "
            "domain: the ALB is the public endpoint) or internal (an internal ALB in the private subnets, for "
            "agents inside the VPC)."
        ),
    )
    alb_certificate_arn: str | None = Field(
        default=None,
        description=(
            "public_alb and internal: the ACM certificate (in the deployment's Region) of the ALB's HTTPS "
            "listener, for the name clients use (a DNS record of yours pointing at the ALB)."
        ),
    )
    insecure_http: bool = Field(
        default=False,
        description=(
            "public_alb and internal without a certificate: plain HTTP on port 80, API keys in clear text. "
            "Only for a throwaway environment; synth warns and cdk-nag's finding is acknowledged with this reason."
        ),
    )
    # --- end of the edge fields ---
    sizes: Sizes = Sizes()
    metrics: Metrics = Metrics()
    alarms: Alarms = Alarms()
    chatbot: Chatbot = Chatbot()
    env_sources: dict[VariableName, EnvSource] = Field(default_factory=dict)
    inference_profile_regions: dict[str, tuple[Region, ...]] = Field(
        default_factory=dict, description="Extra or replacement destination Regions per profile prefix (us, eu, ...)."
    )
    log_retention: _LOG_RETENTION = "ONE_MONTH"
    waf_rate_limit: int = Field(default=2000, ge=10, le=2_000_000_000, description="Requests per IP per 5 minutes.")
    deletion_protection: bool = Field(
        default=True, description="Databases refuse deletion; stateful resources are retained."
    )
    edge_read_timeout_seconds: int | None = Field(
        default=None,
        ge=1,
        le=180,
        description="CloudFront's origin response timeout; default the gateway's request timeout + 5 s.",
    )
    tags: dict[str, str] = Field(default_factory=dict)
    # --- wiring (issue 15) ---
    guardrail: GuardrailSettings = GuardrailSettings()
    phoenix: PhoenixSettings = PhoenixSettings()
    multi_provider: bool = Field(
        default=False,
        description=(
            "Lift gateway-config's bedrock-only policy: deployments may call other providers (openai/..., "
            "anthropic/...), each reading its API key as api_key: os.environ/VAR; infra creates one Secrets Manager "
            "secret per provider (<prefix>/providers/<provider>/api-key) for the operator to fill and injects it. "
            "Off: a config with another provider is refused."
        ),
    )
    settings_file: Path | None = Field(
        default=None,
        description="Set by load_settings: the file these settings were read from, named in mismatch errors.",
    )
    # --- end of the wiring fields ---

    @property
    def prefix(self) -> str:
        """The name every stack and resource starts with."""
        return f"bedrockgate-{self.environment}"

    @property
    def zones(self) -> tuple[str, str]:
        """The two Availability Zones the VPC spans."""
        return self.availability_zones or (f"{self.region}a", f"{self.region}b")

    @property
    def metrics_service(self) -> str:
        """The value of the callback's Service dimension."""
        return self.metrics.service or self.prefix

    def profile_regions(self, geography: str) -> tuple[str, ...] | None:
        """The destination Regions of a cross-Region inference profile prefix (``us``), if known."""
        return self.inference_profile_regions.get(geography, DEFAULT_INFERENCE_PROFILE_REGIONS.get(geography))

    @property
    def cloudfront_stack(self) -> bool:
        """Whether the app has a us-east-1 stack for CloudFront: its web ACL, and its certificate unless given."""
        return self.domain is not None

    @property
    def edge_exposure(self) -> Exposure:
        """How clients reach the gateway (``exposure``, else what the domain implies)."""
        return exposure_of(self)

    @model_validator(mode="after")
    def _edge(self) -> Self:
        problem = edge_problem(self)
        if problem is not None:
            raise SettingsFieldError(problem)
        return self

    @property
    def repository_uri(self) -> str:
        """The URI of the registry stack's repository in this account and Region."""
        return f"{self.account}.dkr.ecr.{self.region}.amazonaws.com/{self.registry.repository_name}"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.source_commit is not None and not _COMMIT.fullmatch(self.source_commit):
            raise SettingsFieldError(
                f"source_commit {self.source_commit!r} is not a git commit: give the 40 lowercase hex digits of "
                "`git rev-parse HEAD`, e.g. -c source_commit=$(git rev-parse HEAD)"
            )
        if self.availability_zones is not None and any(
            not zone.startswith(self.region) or len(zone) != len(self.region) + 1 for zone in self.availability_zones
        ):
            raise SettingsFieldError(f"availability_zones must be two zones of {self.region}, e.g. {self.region}a")
        if self.domain is None and self.edge_read_timeout_seconds is not None:
            raise SettingsFieldError(
                "edge_read_timeout_seconds applies to CloudFront, which is created only with a domain"
            )
        if self.phoenix.mode == "self-hosted" and self.phoenix_image is None:
            raise SettingsFieldError(
                "phoenix.mode self-hosted (the default) runs Phoenix: give phoenix_image=<registry>/<repository>"
                "@sha256:<digest>, or choose phoenix: {mode: cloud, ...} or {mode: none}"
            )
        return self


def read_settings_file(path: str | Path | None) -> tuple[dict[str, Any], Path]:
    """A settings file's fields, unvalidated, and the directory its relative paths start from.

    No file: no fields, and paths relative to the working directory.
    """
    if path is None:
        return {}, Path.cwd()
    file = Path(path)
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SettingsError(f"{file}: cannot read the deployment settings: {error}") from None
    if not isinstance(loaded, dict):
        raise SettingsError(f"{file}: deployment settings are a mapping of field: value")
    return dict(loaded), file.resolve().parent


def load_settings(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> DeploymentSettings:
    """Read a settings file, apply overrides (CDK context values), and validate the result.

    Context values given on the command line arrive as strings: one that starts with ``[`` or ``{``
    is read as JSON (``-c allowed_cidrs='["203.0.113.0/24"]'``); numbers and true/false in a string
    are converted by the field's type, and an account id stays a string. ``account`` and ``region``
    must be given here; :func:`bedrockgate.infra.target.resolve_settings` asks the credentials.
    """
    data, base = read_settings_file(path)
    for key, value in (overrides or {}).items():
        data[key] = _decoded(value)
    try:
        settings = DeploymentSettings.model_validate(data)
    except ValidationError as error:
        where = f"{path}: " if path is not None else ""
        problems = "\n".join(
            f"  {'.'.join(str(part) for part in item['loc']) or '(top level)'}: {item['msg']}"
            for item in error.errors()
        )
        raise SettingsError(f"{where}deployment settings are invalid:\n{problems}") from None
    if path is not None:
        settings = settings.model_copy(update={"settings_file": Path(path).resolve()})
    return _resolve_paths(settings, base)


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def workspace_root(start: Path) -> Path | None:
    """The nearest directory from ``start`` up that holds a uv workspace's ``pyproject.toml``.

    That is the repository root, where ``./dev nox -s lambda_zip`` writes ``dist/lambda``: found from
    the settings file, not from where this package is installed (a wheel lives in site-packages).
    """
    for directory in (start, *start.parents):
        project = directory / "pyproject.toml"
        if not project.is_file():
            continue
        try:
            table = tomllib.loads(project.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if "workspace" in table.get("tool", {}).get("uv", {}):
            return directory
    return None


def chatbot_lambda_zip(settings: DeploymentSettings) -> Path:
    """The chatbot's Lambda zip, or LambdaAssetError saying which file is missing and how to build it.

    Only a zip: the source tree also holds build-only modules (``bundle.py``) and caches, and the zip
    (reproducible, runtime modules only) is what the lex-fulfillment package tests and ships.
    """
    asset = settings.chatbot.lambda_asset
    build = "./dev nox -s lambda_zip"
    if asset is None:
        raise LambdaAssetError(
            "chatbot.lambda_asset is not set and the settings file is not inside a uv workspace (where it would "
            f"default to {DEFAULT_LAMBDA_ZIP} at the workspace root): build the zip with `{build}` in the bedrockgate "
            "repository and set chatbot.lambda_asset to it, or set chatbot.enabled: false"
        )
    if asset.is_dir():
        raise LambdaAssetError(
            f"chatbot.lambda_asset {asset} is a directory: the Lambda deploys the zip `{build}` builds "
            f"({DEFAULT_LAMBDA_ZIP}; a source tree would also ship build-only modules such as bundle.py)"
        )
    if not asset.is_file():
        raise LambdaAssetError(
            f"the chatbot's Lambda zip {asset} does not exist: build it with `{build}` (it writes "
            f"{DEFAULT_LAMBDA_ZIP} at the repository root), set chatbot.lambda_asset to a zip it built, or set "
            "chatbot.enabled: false"
        )
    if asset.suffix != ".zip":
        raise LambdaAssetError(
            f"chatbot.lambda_asset {asset} is not a .zip: point it at the zip `{build}` builds ({DEFAULT_LAMBDA_ZIP})"
        )
    return asset


def _resolve_paths(settings: DeploymentSettings, base: Path) -> DeploymentSettings:
    updates: dict[str, Any] = {}
    if not settings.gateway_config.is_absolute():
        updates["gateway_config"] = (base / settings.gateway_config).resolve()
    asset = settings.chatbot.lambda_asset
    if asset is None:
        root = workspace_root(base.resolve())
        asset = root / DEFAULT_LAMBDA_ZIP if root is not None else None
    elif not asset.is_absolute():
        asset = (base / asset).resolve()
    if asset != settings.chatbot.lambda_asset:
        updates["chatbot"] = settings.chatbot.model_copy(update={"lambda_asset": asset})
    return settings.model_copy(update=updates) if updates else settings
