"""``gateway-config``: validate, render, export the schema, list the environment a config needs.

Exit codes: 0 valid, 1 a config has errors (or, with ``validate --strict``, warnings), 2 the
command line itself is wrong. Problems go to stdout as ``<file>:<line>: <dotted.path>: <message>``,
warnings as ``<file>:<line>: <dotted.path>: warning: <message>``: the formats editors and CI annotate.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any, TextIO

from bedrockgate.gateway_config.exceptions import Problem
from bedrockgate.gateway_config.lifecycle import Clock
from bedrockgate.gateway_config.loader import CheckReport, check_path, render
from bedrockgate.gateway_config.policies import ALL_POLICIES, Policy
from bedrockgate.gateway_config.required_env import required_env
from bedrockgate.gateway_config.schema import json_schema

__all__ = ["main"]

EXIT_OK = 0
EXIT_INVALID = 1


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, clock: Clock = date.today) -> int:
    """Run the CLI; returns the exit code (argparse exits with 2 on a bad command line).

    ``clock`` gives today's date for the models' deprecation dates (tests pass a fixed one).
    """
    out = stdout or sys.stdout
    args = _parser().parse_args(argv)
    command: str = args.command
    if command == "schema":
        out.write(json.dumps(json_schema(), indent=2) + "\n")
        return EXIT_OK
    policies = _chosen_policies(args)
    reports = [check_path(path, policies=policies, clock=clock) for path in args.configs]
    if command == "validate":
        return _validate(reports, args.format, out, strict=args.strict)
    if command == "render":
        return _render(reports, out)
    return _env(reports, args.format, out)


def _validate(reports: list[CheckReport], output_format: str, out: TextIO, *, strict: bool = False) -> int:
    if output_format == "json":
        out.write(json.dumps([_report_json(report, strict=strict) for report in reports], indent=2) + "\n")
    else:
        for report in reports:
            if report.config is not None:
                config = report.config
                count = len(report.warnings)
                warned = f"; {count} warning{'s' if count != 1 else ''}" if count else ""
                verdict = "FAILED under --strict" if strict and count else "OK"
                out.write(
                    f"{report.source}: {verdict} ({len(config.model_list)} deployments in "
                    f"{len(config.model_groups())} model groups{warned})\n"
                )
            for problem in sorted((*report.problems, *report.warnings), key=lambda found: found.line or 0):
                out.write(f"{problem}\n")
    return EXIT_OK if all(report.passes(strict=strict) for report in reports) else EXIT_INVALID


def _render(reports: list[CheckReport], out: TextIO) -> int:
    if not all(report.ok for report in reports):
        return _validate(reports, "text", out)
    for index, report in enumerate(reports):
        if index:
            out.write("---\n")
        out.write(render(report.raise_for_problems()))
    return EXIT_OK


def _env(reports: list[CheckReport], output_format: str, out: TextIO) -> int:
    if not all(report.ok for report in reports):
        return _validate(reports, "text", out)
    variables: dict[str, dict[str, Any]] = {}
    for report in reports:
        for variable in required_env(report.raise_for_problems()):
            entry = variables.setdefault(variable.name, {"name": variable.name, "secret": False, "paths": []})
            entry["secret"] = entry["secret"] or variable.secret
            entry["paths"].extend(f"{report.source}:{path}" for path in variable.dotted_paths)
    if output_format == "json":
        out.write(json.dumps(sorted(variables.values(), key=lambda entry: entry["name"]), indent=2) + "\n")
    else:
        for name in sorted(variables):
            entry = variables[name]
            kind = "secret" if entry["secret"] else "plain"
            out.write(f"{name}\t{kind}\t{', '.join(entry['paths'])}\n")
    return EXIT_OK


def _report_json(report: CheckReport, *, strict: bool) -> dict[str, Any]:
    return {
        "file": report.source,
        "valid": report.passes(strict=strict),
        "problems": [_problem_json(problem) for problem in report.problems],
        "warnings": [_problem_json(problem) for problem in report.warnings],
    }


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {"line": problem.line, "path": problem.dotted_path, "message": problem.message}


def _chosen_policies(args: argparse.Namespace) -> frozenset[Policy]:
    chosen = ALL_POLICIES if args.policy is None else frozenset(Policy(name) for name in args.policy if name != "none")
    return chosen - frozenset(Policy(name) for name in args.no_policy or [])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bedrockgate-gateway-config",
        description="Strict checks for LiteLLM proxy configs before they reach LiteLLM.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    names = [policy.value for policy in Policy]
    for name, help_text in (
        ("validate", "check configs; exit 0 when all are valid (warnings print), 1 when not"),
        ("render", "print each valid config as normalised LiteLLM YAML"),
        ("env", "list the environment variables the configs need"),
    ):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("configs", nargs="+", metavar="CONFIG", help="path to a config.yaml")
        command.add_argument(
            "--policy",
            action="append",
            choices=[*names, "none"],
            help="run only these policies (repeat; 'none' for none). Default: all of them",
        )
        command.add_argument("--no-policy", action="append", choices=names, help="turn one policy off (repeat)")
        if name != "render":
            command.add_argument("--format", choices=["text", "json"], default="text", help="output format")
        if name == "validate":
            command.add_argument(
                "--strict",
                action="store_true",
                help="fail (exit 1) on warnings too: an unknown model id, or one deprecated within 90 days",
            )
    commands.add_parser("schema", help="print the config's JSON Schema", description="print the JSON Schema")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
