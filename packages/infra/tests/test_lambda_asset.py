"""The chatbot's Lambda code: the zip ``./dev nox -s lambda_zip`` writes, found from the settings file.

The default is ``dist/lambda/lex-fulfillment.zip`` at the root of the uv workspace that holds the
settings file (property: for a settings file at any depth below any root), never a path counted
from where this package is installed. A missing zip, a directory or a file that is not a zip is an
error naming the session that builds it, before any stack is created.
"""

from __future__ import annotations

import runpy
import tempfile
from pathlib import Path
from typing import Final

import aws_cdk as cdk
import pytest
from bedrockgate.infra import LambdaAssetError, load_settings
from bedrockgate.infra.app import build_app
from bedrockgate.infra.cli import main
from bedrockgate.infra.settings import DEFAULT_LAMBDA_ZIP, DeploymentSettings, chatbot_lambda_zip, workspace_root
from hypothesis import given, settings
from hypothesis import strategies as st

REPO: Final = Path(__file__).resolve().parents[3]
DEV_SETTINGS: Final = REPO / "packages" / "infra" / "settings" / "dev.yaml"
CONFIG: Final = (REPO / "examples" / "agents-gateway.yaml").resolve()
WORKSPACE: Final = '[project]\nname = "w"\n\n[tool.uv.workspace]\nmembers = ["packages/*"]\n'
SESSION: Final = "./dev nox -s lambda_zip"

names = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)


def write_settings(path: Path, *extra: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "environment: dev",
        "account: '123456789012'",
        "region: us-east-1",
        f"gateway_config: {CONFIG}",
        f"phoenix_image: docker.io/arizephoenix/phoenix@sha256:{'ab' * 32}",
        "insecure_http: true",
        *extra,
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@settings(max_examples=100, deadline=None)
@given(root=st.lists(names, max_size=2), below=st.lists(names, max_size=4), member=st.booleans())
def test_the_default_zip_is_under_the_workspace_root_that_holds_the_settings_file(
    root: list[str], below: list[str], member: bool
) -> None:
    with tempfile.TemporaryDirectory(prefix="infra-ws-") as scratch:
        workspace = Path(scratch).joinpath(*root)
        workspace.mkdir(parents=True, exist_ok=True)
        (workspace / "pyproject.toml").write_text(WORKSPACE, encoding="utf-8")
        folder = workspace.joinpath(*below)
        if member and below:
            # A member's own pyproject.toml (no workspace table) is passed over on the way up.
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "pyproject.toml").write_text('[project]\nname = "member"\n', encoding="utf-8")
        settings_file = write_settings(folder / "settings.yaml")
        loaded = load_settings(settings_file)
        assert loaded.chatbot.lambda_asset == workspace.resolve() / DEFAULT_LAMBDA_ZIP
        assert workspace_root(settings_file.parent.resolve()) == workspace.resolve()


def test_the_dev_settings_default_to_this_repositorys_zip() -> None:
    """Not lex-fulfillment's src (which holds bundle.py), and not a path counted from this module's file."""
    loaded = load_settings(DEV_SETTINGS, {"account": "123456789012"})
    assert loaded.chatbot.lambda_asset == REPO.resolve() / "dist" / "lambda" / "lex-fulfillment.zip"


def test_a_relative_lambda_asset_is_relative_to_the_settings_file(tmp_path: Path) -> None:
    settings_file = write_settings(tmp_path / "settings" / "x.yaml", "chatbot:", "  lambda_asset: ../build/lex.zip")
    assert load_settings(settings_file).chatbot.lambda_asset == (tmp_path / "build" / "lex.zip").resolve()


def _with_asset(dev_settings: DeploymentSettings, asset: Path | None) -> DeploymentSettings:
    return dev_settings.model_copy(update={"chatbot": dev_settings.chatbot.model_copy(update={"lambda_asset": asset})})


def test_a_missing_zip_names_the_session_that_builds_it(dev_settings: DeploymentSettings, tmp_path: Path) -> None:
    missing = tmp_path / "dist" / "lambda" / "lex-fulfillment.zip"
    with pytest.raises(LambdaAssetError) as raised:
        chatbot_lambda_zip(_with_asset(dev_settings, missing))
    message = str(raised.value)
    assert f"the chatbot's Lambda zip {missing} does not exist" in message
    assert f"`{SESSION}`" in message
    assert "chatbot.enabled: false" in message


def test_a_source_tree_or_another_file_is_refused(dev_settings: DeploymentSettings, tmp_path: Path) -> None:
    source = REPO / "packages" / "lex-fulfillment" / "src"
    with pytest.raises(LambdaAssetError, match=r"is a directory: the Lambda deploys the zip .*bundle\.py"):
        chatbot_lambda_zip(_with_asset(dev_settings, source))
    other = tmp_path / "handler.tar"
    other.write_bytes(b"not a zip")
    with pytest.raises(LambdaAssetError, match=rf"is not a \.zip: point it at the zip `{SESSION}` builds"):
        chatbot_lambda_zip(_with_asset(dev_settings, other))
    with pytest.raises(LambdaAssetError, match=r"not set and the settings file is not inside a uv workspace"):
        chatbot_lambda_zip(_with_asset(dev_settings, None))


def test_outside_a_workspace_there_is_no_default(tmp_path: Path) -> None:
    loaded = load_settings(write_settings(tmp_path / "elsewhere" / "settings.yaml"))
    assert loaded.chatbot.lambda_asset is None
    with pytest.raises(LambdaAssetError, match=rf"build the zip with `{SESSION}` in the bedrockgate repository"):
        chatbot_lambda_zip(loaded)


def test_the_app_refuses_a_missing_zip_before_creating_any_stack(
    dev_settings: DeploymentSettings, tmp_path: Path
) -> None:
    app = cdk.App(outdir=str(tmp_path / "out"))
    with pytest.raises(LambdaAssetError, match=SESSION):
        build_app(_with_asset(dev_settings, tmp_path / "missing.zip"), app=app, checks=False)
    assert not [child for child in app.node.children if isinstance(child, cdk.Stack)]


def test_the_cli_prints_the_missing_zip_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["synth", "--settings", str(DEV_SETTINGS), "--out", str(tmp_path / "out"), "-c", "synth_only=true",
         "-c", f'chatbot={{"lambda_asset": "{tmp_path / "missing.zip"}"}}']
    )  # fmt: skip
    error = capsys.readouterr().err
    assert code == 1
    assert error.startswith(f"bedrockgate-infra: the chatbot's Lambda zip {tmp_path / 'missing.zip'} does not exist")
    assert "Traceback" not in error


def test_the_zip_is_the_same_bytes_every_build(lambda_zip: Path, tmp_path: Path) -> None:
    """So the asset hash, and the snapshot, do not change from run to run."""
    bundle = REPO / "packages" / "lex-fulfillment" / "src" / "bedrockgate" / "lex_fulfillment" / "bundle.py"
    rebuilt = runpy.run_path(str(bundle), run_name="lex_bundle")["build_zip"](tmp_path)
    assert isinstance(rebuilt, Path)
    assert rebuilt.read_bytes() == lambda_zip.read_bytes()
