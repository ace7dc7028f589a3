"""cdk-nag's packs (AwsSolutions and bedrockgate's own) and cfn-lint over every template of each app shape.

The shapes are the exposures: dev (public ALB, explicit plain HTTP), with_domain (CloudFront),
public_https (public ALB with a certificate) and internal (internal ALB, explicit plain HTTP).
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from bedrockgate.infra.app import build_app
from bedrockgate.infra.nag import APPLY_CONTEXT, MIN_REASON, PACKS, acknowledged
from bedrockgate.infra.report import Synthesized, lint_templates, nag_findings
from bedrockgate.infra.settings import DeploymentSettings

SHAPES = ["dev", "with_domain", "public_https", "internal"]


@pytest.fixture(params=SHAPES)
def synth(request: pytest.FixtureRequest) -> Synthesized:
    built: Synthesized = request.getfixturevalue(request.param)
    return built


def test_the_whole_app_has_no_unacknowledged_nag_finding(synth: Synthesized) -> None:
    # The app synthesized (cdk-nag 3 makes synth raise on a finding); the report lists none either.
    assert nag_findings(synth.outdir) == []
    assert len(synth.templates) == len(synth.deployment.stacks)


def test_every_acknowledgment_says_why(synth: Synthesized) -> None:
    acknowledgments = acknowledged(synth.deployment.app)
    assert acknowledgments
    for item in acknowledgments:
        assert item.rule.split("-", 1)[0] in PACKS
        assert len(item.reason) >= MIN_REASON, item
        # A wildcard is acknowledged per finding: the granular id names the resource ([Resource::...*]).
        assert "*" not in item.rule or (item.rule.endswith("]") and "[Resource::" in item.rule), item


@pytest.mark.parametrize("shape", [f"{shape}_settings".replace("with_domain", "domain") for shape in SHAPES])
def test_every_acknowledgment_answers_a_real_finding(
    shape: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Without applying the acknowledgments, synth fails with exactly the findings they answer."""
    settings: DeploymentSettings = request.getfixturevalue(shape)
    deployment = build_app(settings, app=cdk.App(outdir=str(tmp_path), context={APPLY_CONTEXT: False}))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        deployment.app.synth()
    findings = {(finding.rule, finding.path) for finding in nag_findings(tmp_path)}
    acknowledgments = acknowledged(deployment.app)
    answered = set()
    for item in acknowledgments:
        matched = {
            (rule, path)
            for rule, path in findings
            if rule == item.rule and (path == item.path or path.startswith(item.path + "/"))
        }
        assert matched, f"{item.rule} on {item.path} answers no finding: remove it"
        answered |= matched
    assert answered == findings


def test_cfn_lint_finds_no_error_in_any_template(synth: Synthesized) -> None:
    templates = sorted(synth.outdir.glob("*.template.json"))
    assert len(templates) == len(synth.deployment.stacks)
    matches = lint_templates(templates, region=synth.deployment.settings.region)
    errors = [match for match in matches if match.is_error]
    assert errors == []
    # The warnings left are understood: hard-coded AZs (no lookup at synth) and CDK's own DependsOn.
    assert {match.rule for match in matches} <= {"W3010", "W3005"}


def test_synth_asks_aws_for_nothing(synth: Synthesized) -> None:
    """No context is missing, so the CDK CLI would perform no lookup (which needs credentials)."""
    manifest = json.loads((synth.outdir / "manifest.json").read_text(encoding="utf-8"))
    assert "missing" not in manifest
