"""Where a deploy goes, and what must never be deployed.

The account and Region come from explicit values (``-c account=...``/``-c region=...``, or the
settings file) or from the AWS credentials: the account from STS ``GetCallerIdentity``, the Region
as the CDK CLI reads it (``AWS_REGION``, else ``AWS_DEFAULT_REGION`` or the profile's, through
boto3). When both are known they must agree: deploying the explicit account with credentials of
another one, or into a Region the session does not point at, is refused with both values and the
fix. With no credentials, explicit values are taken as given (a synth for CI with
``-c account=...``); a deploy then cannot start anyway, and the CDK CLI checks the account again.

A **synth-only** run (context ``synth_only=true``) deploys nothing, so it never asks AWS: tests and
CI synthesize with no credentials. It alone accepts placeholders: the docs' example account
(``111111111111``, the default when no account is given) and placeholder digests (one hex digit
repeated, such as the all-zero digest; with no gateway image given it uses a placeholder one in
the registry stack's repository). Any other run refuses them, naming the setting, its value and
the fix. ``bedrockgate-infra cdk deploy`` refuses ``synth_only`` outright.

With no gateway image given (before the first push) and not synth-only, the app holds only the
registry stack: the repository must exist before an image can be pushed to it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bedrockgate.infra.exceptions import AccountRegionError, PlaceholderError, SettingsError
from bedrockgate.infra.settings import DeploymentSettings, load_settings, parse_gateway_image, read_settings_file

__all__ = [
    "EXAMPLE_ACCOUNT",
    "SYNTH_ONLY",
    "CallerIdentity",
    "IdentityLookup",
    "Target",
    "boto3_session",
    "caller_identity",
    "is_placeholder_digest",
    "is_true",
    "placeholder_problems",
    "resolve_settings",
]

SYNTH_ONLY: Final = "synth_only"
"""The context key of a synth that deploys nothing: no AWS calls, placeholders accepted."""
EXAMPLE_ACCOUNT: Final = "111111111111"
"""The account id the docs and examples use; a synth-only run's default, refused in any other run."""
_TRUE: Final = frozenset({"true", "1", "yes"})
_ZERO_DIGEST: Final = "0" * 64


def is_true(value: object) -> bool:
    """A context value meant as true: ``True``, or the strings true, 1, yes (any case)."""
    return value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)


def is_placeholder_digest(digest: str) -> bool:
    """A sha256 digest (64 hex digits) that no real image has: one hex digit repeated (all zeros, ...)."""
    return len(set(digest.lower())) == 1


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    """Whom the AWS credentials belong to, and the session's Region (None when none is configured)."""

    account: str
    arn: str
    region: str | None


IdentityLookup = Callable[[], CallerIdentity | None]
"""Returns the credentials' identity, None when there are no credentials; raises AccountRegionError."""


def boto3_session() -> Any:
    """A boto3 session (boto3 ships no type information, hence Any); imported only when AWS is asked."""
    return importlib.import_module("boto3").Session()


def aws_client(service: str, region: str | None = None) -> Any:
    """A boto3 client with short timeouts and few retries: a preflight should fail fast, not hang."""
    config = importlib.import_module("botocore.config").Config(
        connect_timeout=5, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}
    )
    return boto3_session().client(service, region_name=region, config=config)


def caller_identity() -> CallerIdentity | None:
    """STS ``GetCallerIdentity`` with the default credential chain; None when no credentials are found."""
    errors = importlib.import_module("botocore.exceptions")
    try:
        session = boto3_session()
        if session.get_credentials() is None:
            return None
        identity = aws_client("sts").get_caller_identity()
    except (errors.BotoCoreError, errors.ClientError) as error:
        raise AccountRegionError(
            f"cannot read the AWS credentials' identity (sts:GetCallerIdentity): {error}. Fix the credentials "
            "(AWS_PROFILE, the role, an expired session), or pass -c synth_only=true for a synth that deploys nothing"
        ) from None
    # AWS_REGION first, as the CDK CLI and the other AWS SDKs read it (boto3 itself reads only AWS_DEFAULT_REGION).
    region = os.environ.get("AWS_REGION") or session.region_name
    return CallerIdentity(account=str(identity["Account"]), arn=str(identity["Arn"]), region=region)


@dataclass(frozen=True, slots=True)
class Target:
    """The settings with their account and Region resolved, and how they were resolved."""

    settings: DeploymentSettings
    synth_only: bool
    caller: CallerIdentity | None
    """The credentials' identity, when they were asked (never in a synth-only run)."""

    @property
    def registry_only(self) -> bool:
        """No gateway image yet: the app holds only the registry stack (push the image to it, then deploy)."""
        return self.settings.gateway_image is None


def resolve_settings(
    path: str | Path | None,
    overrides: Mapping[str, Any] | None = None,
    *,
    synth_only: bool = False,
    check_images: bool = True,
    lookup: IdentityLookup | None = None,
) -> Target:
    """Load the settings with the account and Region from explicit values or the credentials.

    Raises AccountRegionError when neither says, or when they disagree (or the account is the
    example one outside a synth-only run), PlaceholderError when ``check_images`` and a digest is a
    placeholder outside a synth-only run, and SettingsError for anything else wrong in the settings.
    ``lookup`` asks the credentials (default :func:`caller_identity`); a synth-only run never calls it.
    """
    overrides = dict(overrides or {})
    data, _ = read_settings_file(path)
    explicit: dict[str, tuple[str, str]] = {}
    for key in ("account", "region"):
        if overrides.get(key) not in (None, ""):
            explicit[key] = (str(overrides[key]), f"-c {key}")
        elif data.get(key) not in (None, ""):
            explicit[key] = (str(data[key]), str(path))
    if "account" in explicit and not (len(explicit["account"][0]) == 12 and explicit["account"][0].isdigit()):
        value, source = explicit["account"]
        raise SettingsError(f"account {value!r} (from {source}) is not an AWS account id: give its 12 digits")
    caller: CallerIdentity | None = None
    if synth_only:
        if "region" not in explicit:
            raise AccountRegionError(
                f"region is not given, and a synth-only run never asks AWS for it: set region: in {path} "
                "or pass -c region=<region>, e.g. -c region=us-east-1"
            )
        resolved = {"account": explicit.get("account", (EXAMPLE_ACCOUNT, ""))[0], "region": explicit["region"][0]}
    else:
        caller = (lookup or caller_identity)()
        resolved = {
            "account": _agree("account", explicit.get("account"), caller.account if caller else None, caller),
            "region": _agree("region", explicit.get("region"), caller.region if caller else None, caller),
        }
        if resolved["account"] == EXAMPLE_ACCOUNT:
            source = explicit["account"][1] if "account" in explicit else "the credentials"
            raise AccountRegionError(
                f"account {EXAMPLE_ACCOUNT} (from {source}) is the docs' example account, not one to deploy to: "
                "pass -c account=<your 12-digit account id> or drop it and deploy with that account's credentials "
                "(the account is then read from them); a synth that deploys nothing takes -c synth_only=true"
            )
    settings = load_settings(path, {**overrides, **resolved})
    if synth_only and settings.gateway_image is None:
        settings = settings.model_copy(update={"gateway_image": f"{settings.repository_uri}@sha256:{_ZERO_DIGEST}"})
    if not synth_only and check_images:
        problems = placeholder_problems(settings, path=path)
        if problems:
            raise PlaceholderError(
                "refusing to deploy placeholders (a synth that deploys nothing takes -c synth_only=true):\n"
                + "\n".join(f"  {problem}" for problem in problems)
            )
    return Target(settings=settings, synth_only=synth_only, caller=caller)


def placeholder_problems(settings: DeploymentSettings, *, path: str | Path | None = None) -> list[str]:
    """Every placeholder a deploy of these settings would use: the setting, its value and the fix.

    With no gateway image (the registry-only app) neither image is deployed, so none is checked.
    """
    problems: list[str] = []
    where = f"phoenix_image: in {path} or " if path is not None else ""
    if settings.gateway_image is None:
        return problems
    image = parse_gateway_image(settings.gateway_image)
    if is_placeholder_digest(image.digest):
        problems.append(
            f"gateway_image {settings.gateway_image}: sha256:{image.digest[:12]}... is a placeholder, not a pushed "
            "image: pass the digest the pipeline pushed, "
            "-c gateway_image=<registry>/<repository>@sha256:<pushed digest>"
        )
    if image.registry.startswith(f"{EXAMPLE_ACCOUNT}."):
        problems.append(
            f"gateway_image {settings.gateway_image}: the registry is the docs' example account {EXAMPLE_ACCOUNT}: "
            f"push to your registry stack's repository ({settings.repository_uri}) and pass that digest"
        )
    if settings.phoenix_image is None or settings.phoenix.mode != "self-hosted":
        return problems  # no Phoenix runs here (Phoenix Cloud or none): its image is not deployed
    _, _, phoenix_digest = settings.phoenix_image.partition("@sha256:")
    if is_placeholder_digest(phoenix_digest):
        problems.append(
            f"phoenix_image {settings.phoenix_image}: sha256:{phoenix_digest[:12]}... is a placeholder: pin the digest "
            f"of the Phoenix release you deploy with {where}-c phoenix_image=<registry>/<repository>@sha256:<digest>"
        )
    return problems


def _agree(key: str, explicit: tuple[str, str] | None, found: str | None, caller: CallerIdentity | None) -> str:
    if explicit is not None and found is not None and explicit[0] != found:
        value, source = explicit
        if key == "account":
            who = f" ({caller.arn})" if caller is not None else ""
            raise AccountRegionError(
                f"account: {source} gives {value}, but the AWS credentials are for account {found}{who}. Deploy with "
                f"credentials for {value} (another AWS_PROFILE, or that account's pipeline role), or pass "
                f"-c account={found} to deploy to the credentials' account"
            )
        raise AccountRegionError(
            f"region: {source} gives {value}, but the AWS session's Region is {found} (from AWS_REGION, "
            f"AWS_DEFAULT_REGION or the profile's region). Set AWS_REGION={value} to deploy to {value}, or pass "
            f"-c region={found} to deploy there"
        )
    if explicit is not None:
        return explicit[0]
    if found is not None:
        return found
    if key == "account":
        raise AccountRegionError(
            "account is not given and no AWS credentials were found: pass -c account=<12-digit account id>, run with "
            "credentials for the account (it is then read through STS), or pass -c synth_only=true for a synth that "
            "deploys nothing"
        )
    raise AccountRegionError(
        "region is not given and the AWS session has none: set region: in the settings file, pass -c region=<region>, "
        "or set AWS_REGION"
    )
