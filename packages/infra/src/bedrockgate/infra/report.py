"""Synthesize the app offline and report on it: time, resources, cdk-nag, cfn-lint, monthly cost.

``nox -s synth`` runs :func:`synth_report` and prints :meth:`SynthReport.text`. The same functions
back the tests, so what the session prints is what the tests assert.
"""

from __future__ import annotations

import importlib
import json
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from bedrockgate.infra.app import Deployment, build_app
from bedrockgate.infra.cost import CostLine, Pricing, estimate, load_pricing
from bedrockgate.infra.nag import PACKS, Acknowledged, acknowledged
from bedrockgate.infra.settings import DeploymentSettings

__all__ = [
    "Finding",
    "LintMatch",
    "SynthReport",
    "Synthesized",
    "lint_templates",
    "nag_findings",
    "synth_report",
    "synthesize",
]


@dataclass(frozen=True, slots=True)
class Synthesized:
    """A built deployment, the directory of its cloud assembly and every stack's template."""

    deployment: Deployment
    outdir: Path
    templates: dict[str, dict[str, Any]]

    def template(self, stack: cdk.Stack) -> dict[str, Any]:
        """One stack's template."""
        return self.templates[stack.stack_name]

    def resources(self, stack: cdk.Stack, resource_type: str) -> dict[str, dict[str, Any]]:
        """A stack's resources of one type, by logical id."""
        return {
            name: resource
            for name, resource in self.template(stack)["Resources"].items()
            if resource["Type"] == resource_type
        }


def synthesize(settings: DeploymentSettings, outdir: Path, **context: Any) -> Synthesized:
    """Build every stack in a new app writing to ``outdir`` and synthesize it (raises on a finding)."""
    shutil.rmtree(outdir, ignore_errors=True)
    deployment = build_app(settings, app=cdk.App(outdir=str(outdir), context=context or None))
    assembly = deployment.app.synth()
    return Synthesized(deployment, outdir, {stack.stack_name: stack.template for stack in assembly.stacks})


@dataclass(frozen=True, slots=True)
class Finding:
    """An unacknowledged cdk-nag (or CloudFormation validation) finding."""

    plugin: str
    rule: str
    path: str


@dataclass(frozen=True, slots=True)
class LintMatch:
    """One cfn-lint match: its rule id (E... error, W... warning, I... info), file, line, message."""

    rule: str
    template: str
    line: int
    message: str

    @property
    def is_error(self) -> bool:
        """cfn-lint's errors are the rules whose id starts with E."""
        return self.rule.startswith("E")


@dataclass(frozen=True, slots=True)
class SynthReport:
    """What one offline synth produced."""

    outdir: Path
    seconds: float
    resources: Mapping[str, int]
    findings: tuple[Finding, ...]
    acknowledgments: tuple[Acknowledged, ...]
    lint: tuple[LintMatch, ...]
    costs: tuple[CostLine, ...]
    pricing: Pricing
    warnings: tuple[str, ...] = field(default=())
    gateway: tuple[str, ...] = field(default=())
    """The gateway's workers, memory and database migration (``Deployment.gateway_summary``)."""

    @property
    def lint_errors(self) -> list[LintMatch]:
        """cfn-lint's errors (warnings are reported, not counted)."""
        return [match for match in self.lint if match.is_error]

    @property
    def monthly_total(self) -> float:
        """The estimate's total per month."""
        return round(sum(line.monthly for line in self.costs), 2)

    def text(self) -> str:
        """The report as printed by ``nox -s synth``."""
        lines = [f"synth: {len(self.resources)} stacks in {self.seconds:.1f} s, written to {self.outdir}"]
        lines.append("resources per stack:")
        width = max(len(name) for name in self.resources)
        lines.extend(f"  {name:<{width}}  {count:>4}" for name, count in self.resources.items())
        lines.append(f"  {'total':<{width}}  {sum(self.resources.values()):>4}")
        lines.extend(self.gateway)
        lines.append(f"cdk-nag {', '.join(PACKS)}: {len(self.findings)} unacknowledged findings")
        lines.extend(f"  {finding.rule} at {finding.path}" for finding in self.findings)
        lines.append(f"cdk-nag acknowledgments: {len(self.acknowledgments)}")
        for item in self.acknowledgments:
            lines.append(f"  {item.rule} on {item.path}")
            lines.append(f"      {item.reason}")
        warnings = len(self.lint) - len(self.lint_errors)
        lines.append(f"cfn-lint: {len(self.lint_errors)} errors, {warnings} warnings/informational")
        lines.extend(
            f"  {match.rule} {match.template}:{match.line} {match.message}"
            for match in sorted(self.lint, key=lambda match: (not match.is_error, match.template, match.line))
        )
        for warning in self.warnings:
            lines.append(f"warning: {warning}")
        pricing = self.pricing
        lines.append(
            f"monthly cost estimate, dev sizing ({pricing.currency}, {pricing.region} list prices of {pricing.date}; "
            f"{pricing.source}):"
        )
        width = max(len(line.service) for line in self.costs)
        for line in sorted(self.costs, key=lambda line: -line.monthly):
            lines.append(f"  {line.service:<{width}}  {line.monthly:>8.2f}  {line.basis}")
        lines.append(f"  {'total':<{width}}  {self.monthly_total:>8.2f}  (Bedrock model usage not included)")
        return "\n".join(lines)


def nag_findings(outdir: Path, *, plugins: tuple[str, ...] | None = PACKS) -> list[Finding]:
    """The unacknowledged findings in a synth's ``validation-report.json`` (none when it is absent).

    ``plugins`` picks the plugins' reports: the cdk-nag packs by default, ``AwsSolutions`` and this
    package's ``Bedrockgate`` (CDK's own ``CloudFormation Validate`` plugin reports warnings there
    too, which do not fail a synth); None: every plugin.
    """
    path = outdir / "validation-report.json"
    if not path.is_file():
        return []
    report = json.loads(path.read_text(encoding="utf-8"))
    return [
        Finding(plugin=plugin_report["pluginName"], rule=violation["ruleName"], path=construct["constructPath"])
        for plugin_report in report.get("pluginReports", [])
        if plugins is None or plugin_report["pluginName"] in plugins
        for violation in plugin_report.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]


def lint_templates(templates: Sequence[Path], *, region: str) -> list[LintMatch]:
    """cfn-lint over each template (cfn-lint comes with the package's ``synth`` dependency group)."""
    try:
        api: Any = importlib.import_module("cfnlint.api")
    except ImportError as error:  # pragma: no cover - the synth and test groups install it
        raise RuntimeError(
            "cfn-lint is not installed: install the package's synth group (uv sync --group synth)"
        ) from error
    matches: list[LintMatch] = []
    for template in templates:
        for match in api.lint_file(template, config={"regions": [region]}):
            matches.append(LintMatch(str(match.rule.id), template.name, int(match.linenumber), str(match.message)))
    return matches


def synth_report(settings: DeploymentSettings, outdir: Path, *, lint: bool = True) -> tuple[SynthReport, Deployment]:
    """Build and synthesize every stack into ``outdir``, offline, then check and price the result."""
    started = time.perf_counter()
    deployment = build_app(settings, app=cdk.App(outdir=str(outdir)))
    try:
        assembly = deployment.app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        seconds = time.perf_counter() - started
        templates: dict[str, dict[str, Any]] = {}
    else:
        seconds = time.perf_counter() - started
        templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    findings = nag_findings(outdir)
    paths = sorted(outdir.glob("*.template.json"))
    matches = lint_templates(paths, region=settings.region) if lint and templates else []
    pricing = load_pricing()
    report = SynthReport(
        outdir=outdir,
        seconds=seconds,
        resources={
            stack.stack_name: len(templates.get(stack.stack_name, {}).get("Resources", {}))
            for stack in deployment.stacks
        },
        findings=tuple(findings),
        acknowledgments=tuple(acknowledged(deployment.app)),
        lint=tuple(matches),
        costs=tuple(estimate(settings, templates, model_groups=len(deployment.config.model_groups()), pricing=pricing)),
        pricing=pricing,
        warnings=deployment.warnings,
        gateway=deployment.gateway_summary,
    )
    return report, deployment
