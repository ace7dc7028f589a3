"""Where a deploy goes and what it refuses: account and Region, placeholders, the image's form, the commit.

The properties, each over generated inputs (>= 100 examples), with the ground truth computed from
what was generated:

- the account and the Region come from the explicit value (``-c`` or the settings file) or from the
  credentials; when both are known and differ, the run is refused with both values and the fix;
  the docs' example account is refused outside a synth-only run; a synth-only run never asks AWS;
- outside a synth-only run, a placeholder digest (one hex digit repeated) is refused, naming each
  setting, its value and the ``-c`` that fixes it; with no gateway image nothing image-related is;
- a gateway image is exactly ``REGISTRY/REPOSITORY@sha256:<64 hex>``: no tag, a registry host;
- a source commit is exactly 40 lowercase hex digits.

The credentials' identity comes from STS through boto3, stubbed with botocore's Stubber (AWS is the
one thing emulated here).
"""

from __future__ import annotations

import itertools
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import boto3  # type: ignore[import-untyped]  # boto3 ships no type information
import pytest
import yaml
from bedrockgate.infra import AccountRegionError, PlaceholderError, SettingsError, load_settings
from bedrockgate.infra import target as target_module
from bedrockgate.infra.cli import main
from bedrockgate.infra.settings import parse_gateway_image
from bedrockgate.infra.target import (
    EXAMPLE_ACCOUNT,
    CallerIdentity,
    caller_identity,
    is_placeholder_digest,
    resolve_settings,
)
from botocore.stub import Stubber  # type: ignore[import-untyped]  # botocore ships no type information
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO: Final = Path(__file__).resolve().parents[3]
DEV_SETTINGS: Final = REPO / "packages" / "infra" / "settings" / "dev.yaml"
CONFIG: Final = str((REPO / "examples" / "agents-gateway.yaml").resolve())
REGIONS: Final = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
HEX: Final = "0123456789abcdef"

accounts = st.one_of(st.just(EXAMPLE_ACCOUNT), st.from_regex(r"[0-9]{12}", fullmatch=True))
regions = st.sampled_from(REGIONS)
real_digests = st.text(HEX, min_size=64, max_size=64).filter(lambda digest: len(set(digest)) > 1)
placeholder_digests = st.sampled_from(HEX).map(lambda digit: digit * 64)
digests = st.one_of(real_digests, placeholder_digests)
callers = st.builds(
    lambda account, region, role: CallerIdentity(account, f"arn:aws:iam::{account}:role/{role}", region),
    accounts,
    st.none() | regions,
    st.sampled_from(["deployer", "ci"]),
)
_counter = itertools.count()


def real_digest(seed: int) -> str:
    return f"{seed:064x}".replace("0", "a", 1)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="infra-target-") as directory:
        yield Path(directory)


def settings_file(directory: Path, **fields: Any) -> Path:
    """A settings file with the gateway config and real-looking image digests, plus ``fields``."""
    data: dict[str, Any] = {
        "environment": "dev",
        "gateway_config": CONFIG,
        "phoenix_image": f"docker.io/arizephoenix/phoenix@sha256:{real_digest(1)}",
        "insecure_http": True,  # no domain and no certificate: the explicit choice dev.yaml makes too
        **fields,
    }
    path = directory / f"settings-{next(_counter)}.yaml"
    path.write_text(yaml.safe_dump({key: value for key, value in data.items() if value is not None}), encoding="utf-8")
    return path


def never_asked() -> CallerIdentity | None:
    raise AssertionError("a synth-only run must not ask AWS")


# --- account and Region --------------------------------------------------------------------------


def _expected(key: str, explicit: str | None, found: str | None) -> tuple[str, str]:
    """(outcome, value): ("ok", value), ("mismatch", "") or ("missing", "")."""
    if explicit is not None and found is not None and explicit != found:
        return "mismatch", ""
    if explicit is not None:
        return "ok", explicit
    if found is not None:
        return "ok", found
    return "missing", ""


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    account=st.none() | accounts,
    region=st.none() | regions,
    where=st.sampled_from(["context", "file"]),
    caller=st.none() | callers,
)
def test_account_and_region_come_from_explicit_values_or_the_credentials_and_must_agree(
    scratch: Path, account: str | None, region: str | None, where: str, caller: CallerIdentity | None
) -> None:
    in_file = {"account": account, "region": region} if where == "file" else {}
    overrides = {key: value for key, value in {"account": account, "region": region}.items() if value is not None}
    path = settings_file(scratch, **in_file)
    source = "-c" if where == "context" else str(path)
    account_outcome, expected_account = _expected("account", account, caller.account if caller else None)
    region_outcome, expected_region = _expected("region", region, caller.region if caller else None)

    def resolve() -> Any:
        return resolve_settings(path, {} if where == "file" else overrides, lookup=lambda: caller)

    if account_outcome == "mismatch":
        assert caller is not None
        assert account is not None
        with pytest.raises(AccountRegionError) as raised:
            resolve()
        message = str(raised.value)
        assert f"gives {account}" in message
        assert f"credentials are for account {caller.account}" in message
        assert caller.arn in message
        assert source in message
        assert f"-c account={caller.account}" in message
        assert f"credentials for {account}" in message
    elif account_outcome == "missing":
        with pytest.raises(AccountRegionError, match=r"account is not given.*-c account=.*-c synth_only=true"):
            resolve()
    elif region_outcome == "mismatch":
        assert caller is not None
        assert region is not None
        with pytest.raises(AccountRegionError) as raised:
            resolve()
        message = str(raised.value)
        assert f"gives {region}" in message
        assert f"Region is {caller.region}" in message
        assert source in message
        assert f"AWS_REGION={region}" in message
        assert f"-c region={caller.region}" in message
    elif region_outcome == "missing":
        with pytest.raises(AccountRegionError, match=r"region is not given.*-c region=.*AWS_REGION"):
            resolve()
    elif expected_account == EXAMPLE_ACCOUNT:
        with pytest.raises(AccountRegionError, match=rf"account {EXAMPLE_ACCOUNT} .*example account.*-c account="):
            resolve()
    else:
        resolved = resolve()
        assert (resolved.settings.account, resolved.settings.region) == (expected_account, expected_region)
        assert resolved.caller == caller
        assert not resolved.synth_only


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(account=st.none() | accounts, region=regions, gateway=st.none() | digests, phoenix=digests)
def test_a_synth_only_run_never_asks_aws_and_accepts_placeholders(
    scratch: Path, account: str | None, region: str, gateway: str | None, phoenix: str
) -> None:
    image = (
        None if gateway is None else f"{account or EXAMPLE_ACCOUNT}.dkr.ecr.{region}.amazonaws.com/gw@sha256:{gateway}"
    )
    path = settings_file(
        scratch,
        account=account,
        region=region,
        gateway_image=image,
        phoenix_image=f"docker.io/arizephoenix/phoenix@sha256:{phoenix}",
    )
    resolved = resolve_settings(path, synth_only=True, lookup=never_asked)
    built = resolved.settings
    assert resolved.synth_only
    assert resolved.caller is None
    assert built.account == (account or EXAMPLE_ACCOUNT)
    assert built.region == region
    # With no image given, the whole app still synthesizes, with a placeholder in the registry's repository.
    assert built.gateway_image == (image or f"{built.repository_uri}@sha256:{'0' * 64}")
    assert not resolved.registry_only


# --- placeholders --------------------------------------------------------------------------------


@given(st.text(HEX, min_size=64, max_size=64))
@settings(max_examples=200)
def test_a_placeholder_digest_is_one_hex_digit_repeated(digest: str) -> None:
    assert is_placeholder_digest(digest) == (len(set(digest)) == 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    account=accounts.filter(lambda account: account != EXAMPLE_ACCOUNT), gateway=st.none() | digests, phoenix=digests
)
def test_a_deploy_refuses_every_placeholder_naming_the_setting_its_value_and_the_fix(
    scratch: Path, account: str, gateway: str | None, phoenix: str
) -> None:
    image = (
        None if gateway is None else f"{account}.dkr.ecr.us-east-1.amazonaws.com/bedrockgate-gateway@sha256:{gateway}"
    )
    phoenix_image = f"docker.io/arizephoenix/phoenix@sha256:{phoenix}"
    path = settings_file(scratch, region="us-east-1", gateway_image=image, phoenix_image=phoenix_image)
    bad_gateway = gateway is not None and len(set(gateway)) == 1
    # With no gateway image the app is the registry stack alone, which uses neither image.
    bad_phoenix = gateway is not None and len(set(phoenix)) == 1
    if not (bad_gateway or bad_phoenix):
        resolved = resolve_settings(path, {"account": account}, lookup=lambda: None)
        assert resolved.registry_only == (gateway is None)
        return
    with pytest.raises(PlaceholderError) as raised:
        resolve_settings(path, {"account": account}, lookup=lambda: None)
    message = str(raised.value)
    assert "-c synth_only=true" in message
    assert (f"gateway_image {image}" in message) == bad_gateway
    assert ("-c gateway_image=<registry>/<repository>@sha256:<pushed digest>" in message) == bad_gateway
    assert (f"phoenix_image {phoenix_image}" in message) == bad_phoenix
    assert ("-c phoenix_image=" in message) == bad_phoenix
    assert f"phoenix_image: in {path}" in message or not bad_phoenix


def test_a_gateway_image_in_the_example_accounts_registry_is_refused(scratch: Path) -> None:
    image = f"{EXAMPLE_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/bedrockgate-gateway@sha256:{real_digest(7)}"
    path = settings_file(scratch, region="us-east-1", gateway_image=image)
    with pytest.raises(PlaceholderError, match=r"registry is the docs' example account 111111111111: push to "):
        resolve_settings(path, {"account": "123456789012"}, lookup=lambda: None)


def test_the_dev_settings_deploy_nothing_without_real_values() -> None:
    """dev.yaml has no account and no gateway image, and a placeholder Phoenix digest."""
    data = yaml.safe_load(DEV_SETTINGS.read_text(encoding="utf-8"))
    assert "account" not in data
    assert "gateway_image" not in data
    with pytest.raises(AccountRegionError, match="no AWS credentials were found"):
        resolve_settings(DEV_SETTINGS, lookup=lambda: None)
    # Before the first push: the registry stack alone, which needs no image.
    first = resolve_settings(DEV_SETTINGS, {"account": "123456789012"}, lookup=lambda: None)
    assert first.registry_only
    pushed = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/bedrockgate-gateway@sha256:{real_digest(3)}"
    with pytest.raises(PlaceholderError, match=r"phoenix_image docker.io/arizephoenix/phoenix@sha256:0{64}"):
        resolve_settings(DEV_SETTINGS, {"account": "123456789012", "gateway_image": pushed}, lookup=lambda: None)


def test_the_cli_prints_the_refusal_without_a_traceback(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(
        ["synth", "--settings", str(DEV_SETTINGS), "--out", str(tmp_path / "out"), "-c", "account=111111111111"]
    )
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith("bedrockgate-infra: account 111111111111 (from -c account) is the docs' example account")
    assert "Traceback" not in error
    assert not (tmp_path / "out").exists()


# --- the gateway image's form --------------------------------------------------------------------

registries = st.one_of(
    st.builds(lambda account, region: f"{account}.dkr.ecr.{region}.amazonaws.com", accounts, regions),
    st.sampled_from(["localhost:5000", "127.0.0.1:5000", "ghcr.io", "registry.example.com:443", "localhost"]),
)
components = st.from_regex(r"[a-z0-9]+([._-][a-z0-9]+){0,2}", fullmatch=True)
repositories = st.lists(components, min_size=1, max_size=3).map("/".join)


@settings(max_examples=200)
@given(
    registry=registries,
    repository=repositories,
    digest=digests,
    tag=st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True),
)
def test_a_gateway_image_is_a_registry_a_repository_and_a_digest_and_nothing_else(
    registry: str, repository: str, digest: str, tag: str
) -> None:
    reference = f"{registry}/{repository}@sha256:{digest}"
    parsed = parse_gateway_image(reference)
    assert (parsed.registry, parsed.repository, parsed.digest) == (registry, repository, digest)
    wrong = [
        f"{registry}/{repository}:{tag}@sha256:{digest}",  # a tag can move
        f"{repository.rsplit('/', maxsplit=1)[-1]}@sha256:{digest}",  # no registry: Docker Hub by accident
        f"{registry}/{repository}:{tag}",  # no digest at all
        f"{registry}/{repository}@sha256:{digest[:-1]}",  # not 64 hex digits
        f"{registry}/{repository}@sha256:{digest.upper()}" if digest.upper() != digest else f"{reference} ",
    ]
    for bad in wrong:
        with pytest.raises(ValueError, match=re.escape("REGISTRY/REPOSITORY@sha256:<64 hex digits> (no tag")):
            parse_gateway_image(bad)


def test_settings_refuse_a_tagged_gateway_image_naming_the_field() -> None:
    tagged = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/bedrockgate-gateway:v1@sha256:{real_digest(2)}"
    with pytest.raises(SettingsError, match=r"gateway_image: Value error, '.*:v1@sha256:.*' is not an image pinned"):
        load_settings(DEV_SETTINGS, {"account": "123456789012", "gateway_image": tagged})


# --- the source commit ---------------------------------------------------------------------------


@settings(max_examples=150)
@given(st.one_of(st.from_regex(r"[0-9a-f]{40}", fullmatch=True), st.text(max_size=45)))
def test_a_source_commit_is_exactly_forty_lowercase_hex_digits(commit: str) -> None:
    overrides = {"account": "123456789012", "source_commit": commit}
    if re.fullmatch(r"[0-9a-f]{40}", commit):
        assert load_settings(DEV_SETTINGS, overrides).source_commit == commit
    else:
        with pytest.raises(SettingsError, match=r"source_commit.*git rev-parse HEAD"):
            load_settings(DEV_SETTINGS, overrides)


def test_no_source_commit_records_nothing() -> None:
    assert load_settings(DEV_SETTINGS, {"account": "123456789012"}).source_commit is None


# --- the credentials' identity, through STS (stubbed) -------------------------------------------


@pytest.fixture
def sts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """STS as boto3 builds it, answered by a Stubber; the code under test gets this client."""
    client = boto3.Session(
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="stub",  # noqa: S106  # not a secret: the Stubber answers, nothing is sent
    ).client("sts")
    stubber = Stubber(client)
    monkeypatch.setattr(target_module, "aws_client", lambda service, region=None: client)
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def test_without_credentials_sts_is_not_asked(sts: Stubber) -> None:
    assert caller_identity() is None


def test_the_identity_is_the_credentials_account_and_the_sessions_region(
    sts: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stub")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    arn = "arn:aws:sts::210987654321:assumed-role/deployer/ci"
    sts.add_response("get_caller_identity", {"UserId": "AROAEXAMPLE:ci", "Account": "210987654321", "Arn": arn}, {})
    assert caller_identity() == CallerIdentity("210987654321", arn, "eu-west-1")
    sts.add_response("get_caller_identity", {"UserId": "AROAEXAMPLE:ci", "Account": "210987654321", "Arn": arn}, {})
    with pytest.raises(
        AccountRegionError,
        match=r"account: -c account gives 123456789012, but the AWS credentials are for account 210987654321",
    ):
        # The settings say us-east-1 and the session eu-west-1: the account is compared first.
        resolve_settings(DEV_SETTINGS, {"account": "123456789012"})


def test_credentials_sts_refuses_are_an_error_that_says_how_to_go_on(
    sts: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stub")
    sts.add_client_error("get_caller_identity", "ExpiredToken", "The security token included in the request is expired")
    with pytest.raises(AccountRegionError, match=r"ExpiredToken.*Fix the credentials.*-c synth_only=true"):
        caller_identity()


def test_context_values_from_the_cdk_cli_reach_the_resolution(scratch: Path) -> None:
    """The CDK app passes context as JSON-decoded values; JSON strings in them still decode."""
    path = settings_file(scratch, region="us-east-1")
    allowed = json.dumps(["198.51.100.0/24"])
    resolved = resolve_settings(path, {"account": "123456789012", "allowed_cidrs": allowed}, lookup=lambda: None)
    assert resolved.settings.allowed_cidrs == ("198.51.100.0/24",)
